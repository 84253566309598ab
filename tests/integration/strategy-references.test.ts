import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBacktest, type BacktestResult } from '../../src/app/backtest/run-backtest.js';
import { natsUrl, transports } from '../helpers/buses.js';
import { sharedFile } from '../helpers/test-data.js';
import { emaStopOracle } from '../helpers/ema-stop-oracle.js';

interface Reference {
  final_value: number;
  fills: { date: string; side: 'buy' | 'sell'; size: number; price: number; kind?: string }[];
}

function expectSameFills(actual: BacktestResult['fills'], expected: Reference['fills']) {
  const got = actual.map((f) => ({ date: f.date, side: f.side, size: f.size, kind: f.kind }));
  const want = expected.map((e) => ({ date: e.date, side: e.side, size: e.size, kind: e.kind ?? 'market' }));
  expect(got).toEqual(want);
  actual.forEach((f, i) => expect({ i, off: Math.abs(f.price - expected[i]!.price) < 1e-6 }).toEqual({ i, off: true }));
}

/** A copy of a built-in, importing the SDK as a user's file does: loaded by path. */
function copyOfBuiltin(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-strategy-'));
  const source = readFileSync(join(import.meta.dirname, `../../agents/strategy/builtins/${name}.ts`), 'utf8');
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, source.replace("'../sdk/index.js'", "'sextant/strategy'"));
  return file;
}

const cases = [
  { strategy: 'sma-cross', params: { fast: 10, slow: 30, size: 100 }, reference: 'orcl-sma-10-30' },
  { strategy: 'bollinger', params: { period: 20, stddev: 2, size: 100 }, reference: 'orcl-bollinger-20-2' },
  {
    strategy: 'ema-cross',
    params: { fast: 12, slow: 26, size: 100, stopLoss: 0.05 },
    reference: 'orcl-ema-12-26-stop-5pct',
  },
];

for (const { name } of transports) {
  describe(`strategy references on ORCL 1995-2014 [${name}]`, () => {
    // ema-cross rests its stop-loss at execution: over NATS its backtest runs each bar's consequences
    // before the next bar (lockstep, on by default for bracket params), so it matches as in memory
    for (const c of cases) {
      for (const how of ['built-in', 'copy loaded by path'] as const) {
        const claim =
          c.strategy === 'ema-cross'
            ? `follows ${c.reference}'s stated rules: its first 43 fills, then an independent loop of the rules fill for fill and to the cent (the file itself departs from them at fill 44)`
            : `reproduces ${c.reference} fill for fill and the final value to the cent`;
        it(`${c.strategy} ${JSON.stringify(c.params)} (${how}) ${claim}`, async () => {
          const reference = JSON.parse(
            readFileSync(sharedFile(`market/${c.reference}-reference.json`), 'utf8'),
          ) as Reference;
          const ref = how === 'built-in' ? c.strategy : copyOfBuiltin(c.strategy);
          const result = await runBacktest({
            data: sharedFile('market/orcl-1995-2014.csv'),
            symbol: 'ORCL',
            strategy: { id: c.strategy, strategy: ref, params: c.params },
            cash: 100_000,
            transport: name,
            natsUrl,
          });
          expect(result.risk.refusals.total).toBe(0);
          if (c.strategy === 'ema-cross') {
            // The reference follows its stated rules for its first 43 fills. On 2001-06-11 the entry
            // fills and the EMAs cross down on the same bar: the rules cancel the stop, but the
            // reference's generator (backtrader) cannot cancel an order placed on the bar it is
            // cancelled on, so on 2001-06-12 both the stop and the exit sell and it goes short; from
            // there it stops following the rules (stops on short-covering buys, stops left working).
            // The built-in keeps the rules: it matches the reference up to there, and an
            // independent loop of the rules fill for fill and to the cent.
            expectSameFills(result.fills.slice(0, 43), reference.fills.slice(0, 43));
            expect(reference.fills.slice(43, 45).map((f) => `${f.date} ${f.side} ${f.kind}`)).toEqual([
              '2001-06-12 sell stop',
              '2001-06-12 sell market',
            ]);
            const oracle = emaStopOracle(sharedFile('market/orcl-1995-2014.csv'), 'ORCL', 12, 26, 100, 0.05);
            expectSameFills(result.fills, oracle.fills);
            expect(result.finalValue).toBe(oracle.finalValue);
            expect(oracle.finalValue).toBe(98_487.94);
            expect(result.fills.filter((f) => f.kind === 'stop').length).toBeGreaterThan(40);
            return;
          }
          expectSameFills(result.fills, reference.fills);
          expect(Math.round(result.finalValue * 100) / 100).toBe(Math.round(reference.final_value * 100) / 100);
        }, 120_000); // ema-cross over NATS runs lockstep: a bus round trip or two per bar
      }
    }
  });
}

for (const { name } of transports) {
  describe(`two strategies on one symbol [${name}]`, () => {
    it('sma-cross and bollinger on ORCL in one run: each book is its reference run, and they add up to the account', async () => {
      const r = await runBacktest({
        data: sharedFile('market/orcl-1995-2014.csv'),
        symbol: 'ORCL',
        strategy: [
          { id: 'sma', strategy: 'sma-cross', params: { fast: 10, slow: 30, size: 100 } },
          { id: 'bb', strategy: 'bollinger', params: { period: 20, stddev: 2, size: 100 } },
        ],
        cash: 100_000,
        transport: name,
        natsUrl,
      });
      const pnl = Object.fromEntries(r.strategies.map((b) => [b.origin.id, Math.round(b.pnl!.all * 100) / 100]));
      // each instance trades exactly as it does alone (the references), netting at the account
      expect(pnl).toEqual({ sma: 2_646.07, bb: 3_828.04 });
      const sum = r.strategies.reduce((t, b) => t + b.pnl!.all, 0);
      expect(Math.abs(r.portfolio.pnl!.all - sum)).toBeLessThan(1e-6);
      expect(r.fills.length).toBe(195 + 186);
      expect(r.risk.refusals.total).toBe(0);
    });
  });
}
