import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runBacktest, type BacktestResult } from '../../src/app/backtest/run-backtest.js';
import { unboundedLimits } from '../../agents/risk/limits.js';
import { natsUrl, transports } from '../helpers/buses.js';
import { sharedFile } from '../helpers/test-data.js';
import { smaCrossOracle } from '../helpers/sma-cross-oracle.js';

interface Reference {
  final_value: number;
  fills: { date: string; side: 'buy' | 'sell'; size: number; price: number }[];
}

const sma = (fast: number, slow: number, size = 100) => ({
  kind: 'sma-cross' as const,
  id: 'sma-cross',
  fast,
  slow,
  size,
});

function expectSameFills(actual: BacktestResult['fills'], expected: Reference['fills']) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((f, i) => {
    const e = expected[i]!;
    expect({ i, date: f.date, side: f.side, size: f.size }).toEqual({ i, date: e.date, side: e.side, size: e.size });
    expect(Math.abs(f.price - e.price)).toBeLessThan(1e-6);
  });
}

for (const { name } of transports) {
  describe(`backtest reference [${name}]`, () => {
    it('ORCL 1995-2014 SMA(10,30) under the paper limits reproduces the reference fill for fill and the final value to the cent', async () => {
      const reference = JSON.parse(
        readFileSync(sharedFile('market/orcl-sma-10-30-reference.json'), 'utf8'),
      ) as Reference;
      const result = await runBacktest({
        data: sharedFile('market/orcl-1995-2014.csv'),
        symbol: 'ORCL',
        strategy: sma(10, 30),
        cash: 100_000,
        transport: name,
        natsUrl,
      });
      expect(result.bars).toBe(5036);
      expectSameFills(result.fills, reference.fills);
      expect(result.finalValue).toBe(reference.final_value);
      expect(result.risk).toEqual({ mode: 'paper', refusals: { total: 0, byCode: {} }, stateChanges: [] });
    });
  });
}

describe('backtests use the paper limits', () => {
  it('100 BTC with 100,000 cash is refused for buying power, named in the result; --risk off trades and reports where the drawdown moved trading', async () => {
    const data = sharedFile('crypto/btc-usdt-2021-02-19-1m.csv');
    const common = { data, symbol: 'BTCUSDT', strategy: sma(12, 26, 100), cash: 100_000, transport: 'memory' as const };
    const paper = await runBacktest(common);
    expect(paper.fills).toEqual([]);
    const refused = paper.risk.refusals;
    expect(Object.keys(refused.byCode)).toEqual(['insufficient_buying_power']);
    expect(refused.byCode.insufficient_buying_power!.count).toBe(refused.total);
    expect(refused.total).toBeGreaterThan(100);
    expect(refused.byCode.insufficient_buying_power!.firstReason).toMatch(
      /^buy 100 BTCUSDT at [\d,.]+ needs [\d,.]+ .*only 100,000 of buying power is available/,
    );

    const off = await runBacktest({ ...common, limits: unboundedLimits, riskMode: 'off' });
    expect(off.risk.mode).toBe('off');
    expect(off.fills.length).toBeGreaterThan(100);
    expect(off.risk.stateChanges).toEqual([
      expect.objectContaining({ state: 'REDUCING', previous: 'ACTIVE', code: 'max_drawdown' }),
    ]);
    expect(new Date(off.risk.stateChanges[0]!.time).toISOString().slice(0, 10)).toBe('2021-02-22');
  });

  it('sized at 10% of equity the same BTC run trades under the paper limits: no refusal, every entry about a tenth of the equity', async () => {
    const data = sharedFile('crypto/btc-usdt-2021-02-19-1m.csv');
    const r = await runBacktest({
      data,
      symbol: 'BTCUSDT',
      strategy: { ...sma(12, 26, 0), sizeFraction: 0.1 },
      cash: 100_000,
      transport: 'memory',
    });
    expect(r.risk.refusals.total).toBe(0);
    const buys = r.fills.filter((f) => f.side === 'buy');
    expect(buys.length).toBeGreaterThan(100);
    for (const b of buys) {
      expect(b.size).toBeLessThan(1); // fractions of a coin
      expect(b.size * b.price).toBeGreaterThan(8_000);
      expect(b.size * b.price).toBeLessThan(11_000); // a tenth of ~100,000, filled at the next open
    }
    expect(Math.abs(r.finalValue - 100_000)).toBeLessThan(10_000);
  });
});

describe('backtest agrees with the reference rules for other symbols and parameters', () => {
  const cases: [string, string, number, number][] = [
    ['ORCL daily, SMA(5,20)', 'market/orcl-1995-2014.csv', 5, 20],
    ['ORCL daily, SMA(20,50)', 'market/orcl-1995-2014.csv', 20, 50],
    ['BTC/USDT 1-minute bars, SMA(10,30)', 'crypto/btc-usdt-2021-02-19-1m.csv', 10, 30],
    ['index 5-minute bars, SMA(3,12)', 'market/index-2006-min-005.csv', 3, 12],
  ];
  for (const [label, file, fast, slow] of cases) {
    it(`${label} matches the plain-loop oracle fill for fill`, async () => {
      const path = sharedFile(file);
      const symbol = file.includes('btc') ? 'BTC/USDT' : 'X';
      const oracle = smaCrossOracle(path, symbol, fast, slow, 1, 100_000);
      // the oracle knows no limits (on BTC a day's loss passes the paper limit of 5,000)
      const result = await runBacktest({
        data: path,
        symbol,
        strategy: sma(fast, slow, 1),
        cash: 100_000,
        transport: 'memory',
        limits: unboundedLimits,
        riskMode: 'off',
      });
      expect(oracle.fills.length).toBeGreaterThan(10);
      expectSameFills(result.fills, oracle.fills);
      expect(result.finalValue).toBe(oracle.finalValue);
    });
  }

  it('the same backtest over NATS gives the identical result as in memory (BTC/USDT, SMA(5,20))', async () => {
    const path = sharedFile('crypto/btc-usdt-2021-02-19-1m.csv');
    const common = {
      data: path,
      symbol: 'BTC/USDT',
      strategy: sma(5, 20, 1),
      cash: 100_000,
      limits: unboundedLimits,
      riskMode: 'off' as const,
    };
    const memory = await runBacktest({ ...common, transport: 'memory' });
    const nats = await runBacktest({ ...common, transport: 'nats', natsUrl: natsUrl });
    expect(nats.fills).toEqual(memory.fills);
    expect(nats.finalValue).toBe(memory.finalValue);
    // Guaranteed identical over pipelined NATS: fills, cash, positions, PnL, final equity. The
    // mark path between fills (peak, drawdown, day PnL) can differ; see agents/portfolio/agent.ts.
    const final = (p: typeof memory.portfolio) => ({
      cash: p.cash,
      equity: p.equity,
      realizedPnl: p.realizedPnl,
      fees: p.fees,
      positions: p.positions.map(({ symbol, qty, avgPrice, realizedPnl }) => ({ symbol, qty, avgPrice, realizedPnl })),
    });
    expect(final(nats.portfolio)).toEqual(final(memory.portfolio));
  });
});
