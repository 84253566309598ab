import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBacktest } from '../../src/app/backtest/run-backtest.js';
import { replay } from '../../src/app/replay/index.js';
import { createRegistry } from '../../src/core/domain/messages.js';
import { readRecordingBatches } from '../../src/infra/recording/recording.js';
import { strategyCommand } from '../../src/cli/strategy-command.js';
import { loadStrategyFile } from '../../src/infra/strategies/index.js';
import { sharedFile } from '../helpers/test-data.js';

const ORCL = () => sharedFile('market/orcl-1995-2014.csv');
const dir = mkdtempSync(join(tmpdir(), 'sextant-sdk-'));
const fromFile = (file: string) => readRecordingBatches(file, { registry: createRegistry(), lenient: false });

/** A strategy file written as a user would, with `body` as its onBar. */
function strategyFile(name: string, onBar: string, extra = ''): string {
  const file = join(dir, `${name}.ts`);
  writeFileSync(
    file,
    `import { defineStrategy, SMA, z } from 'sextant/strategy';
export default defineStrategy({
  name: '${name}',
  description: 'a test strategy',
  params: z.object({ period: z.number().int().default(5) }),
  init: (p) => ({ sma: SMA.init(p.period), n: 0 }),
  onBar(ctx, s) {
${onBar}
  },${extra}
});
`,
  );
  return file;
}

describe('strategy files', () => {
  it('sextant strategy new writes a strategy that backtests by path, records, and replays with identical decisions', async () => {
    expect(await strategyCommand(['new', 'guide-breakout', '--dir', dir])).toBe(0);
    const file = join(dir, 'guide-breakout.ts');
    expect(readFileSync(file, 'utf8')).toContain("from 'sextant/strategy'");
    const recording = join(dir, 'guide.ndjson');
    const r = await runBacktest({
      data: ORCL(),
      symbol: 'ORCL',
      strategy: { id: 'guide-breakout', strategy: file, params: { period: 30, stopLoss: 0.05 } },
      cash: 100_000,
      transport: 'memory',
      recording,
    });
    expect(r.fills.length).toBeGreaterThan(50);
    expect(r.fills.some((f) => f.kind === 'stop')).toBe(true);
    expect(r.risk.refusals.total).toBe(0);
    const replayed = await replay({ source: fromFile(recording), speed: 'max' });
    expect(replayed.recordedDecisions).toBeGreaterThan(100);
    expect(replayed.divergences).toEqual([]);
  });

  it('a file that does not type-check is refused, naming the file and line', async () => {
    const file = strategyFile('bad-types', '    const x: number = "five";\n    return { ...s, n: x };');
    const err = await loadStrategyFile(file).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/bad-types\.ts:8:\d+: Type 'string' is not assignable to type 'number'/);
  });

  it('parameters outside the schema stop the run before it starts, named', async () => {
    await expect(
      runBacktest({
        data: ORCL(),
        symbol: 'ORCL',
        strategy: { id: 'e', strategy: 'ema-cross', params: { fast: 30, slow: 10 } },
        cash: 100_000,
        transport: 'memory',
      }),
    ).rejects.toThrow(/strategy e \(ema-cross\): invalid parameters: params: fast must be shorter than slow/);
  });

  it('a strategy that reads the clock or throws is dead-lettered bar by bar; the run goes on and nothing trades', async () => {
    const clock = strategyFile('reads-clock', '    const t = Date.now();\n    return { ...s, n: t };');
    const thrower = strategyFile('throws', "    if (ctx.bar.close > 0) throw new Error('boom');\n    return s;");
    for (const [file, code, reason] of [
      [clock, 'strategy_not_deterministic', /Date\.now\(\) is not allowed in a strategy.*reads-clock\.ts:8:/],
      [thrower, 'strategy_error', /threw in onBar: boom \(at .*throws\.ts:8:/],
    ] as const) {
      const letters: { code: string; reason: string }[] = [];
      const r = await runBacktest({
        data: ORCL(),
        symbol: 'ORCL',
        strategy: { id: 'x', strategy: file, params: {} },
        cash: 100_000,
        transport: 'memory',
        onEnvelope: (env) => {
          if (env.type === 'message.deadlettered') letters.push(env.payload as { code: string; reason: string });
        },
      });
      expect(r.bars).toBe(5036);
      expect(r.fills).toEqual([]);
      expect(letters.length).toBe(5036);
      expect(letters[0]!.code).toBe(code);
      expect(letters[0]!.reason).toMatch(reason);
    }
  });

  it('an invalid order is dead-lettered with the reason and the valid ones still go', async () => {
    const file = strategyFile(
      'half-bad',
      `    const n = s.n + 1;
    if (n === 40) { ctx.buy(-5, { reasons: ['negative'] }); ctx.buy(10, { type: 'limit' }); ctx.buy(7); }
    return { ...s, n };`,
    );
    const letters: { code: string; reason: string }[] = [];
    const r = await runBacktest({
      data: ORCL(),
      symbol: 'ORCL',
      strategy: { id: 'hb', strategy: file, params: {} },
      cash: 100_000,
      transport: 'memory',
      onEnvelope: (env) => {
        if (env.type === 'message.deadlettered') letters.push(env.payload as { code: string; reason: string });
      },
    });
    expect(letters.map((l) => l.code)).toEqual(['invalid_intent', 'invalid_intent']);
    expect(letters[0]!.reason).toMatch(/qty: .*>0/);
    expect(letters[1]!.reason).toMatch(/a limit order needs options.limit/);
    expect(r.fills.map((f) => [f.side, f.size])).toEqual([['buy', 7]]);
  });

  it('ema-cross with a stop-loss and a take-profit: both legs fill at times, each cancels the other, never a short', async () => {
    const r = await runBacktest({
      data: ORCL(),
      symbol: 'ORCL',
      strategy: { id: 'e', strategy: 'ema-cross', params: { stopLoss: 0.05, takeProfit: 0.08 } },
      cash: 100_000,
      transport: 'memory',
    });
    const kinds = new Set(r.fills.map((f) => f.kind));
    expect(kinds).toEqual(new Set(['market', 'stop', 'limit']));
    let position = 0;
    for (const f of r.fills) {
      position += f.side === 'buy' ? f.size : -f.size;
      expect(position === 0 || position === 100).toBe(true);
    }
    expect(r.risk.refusals.total).toBe(0);
  });

  it("a strategy instance's capital is a budget risk keeps: beyond it its buys are refused, named; the other instance trades", async () => {
    const r = await runBacktest({
      data: ORCL(),
      symbol: 'ORCL',
      strategy: [
        { id: 'small', strategy: 'sma-cross', params: { size: 100 }, capital: 150 },
        { id: 'free', strategy: 'bollinger', params: {} },
      ],
      cash: 100_000,
      transport: 'memory',
    });
    const refused = r.risk.refusals.byCode.strategy_budget!;
    expect(refused.count).toBeGreaterThan(10);
    expect(refused.firstReason).toMatch(/strategy small has [\d,.]+ of its budget of 150 left/);
    // ORCL traded below 1.50 a share never: not one of small's entries fits, all of free's do
    const pnl = Object.fromEntries(r.strategies.map((b) => [b.origin.id, Math.round(b.pnl!.all * 100) / 100]));
    expect(pnl).toEqual({ free: 3_828.04 });
  });
});
