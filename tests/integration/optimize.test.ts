import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { strategyCommand } from '../../src/cli/strategy-command.js';
import { backtestCommand } from '../../src/cli/backtest-command.js';
import { optimizeCommand } from '../../src/cli/optimize-command.js';
import { ReportCollector, runBacktest } from '../../src/app/backtest/index.js';
import { gridPoints, optimize, paramFields, parseDimension, type TrialSetup } from '../../src/app/research/index.js';
import { strategyDefinition } from '../../agents/strategy/index.js';
import { loadStrategyOf } from '../../src/app/kernel/index.js';
import { sharedFile } from '../helpers/test-data.js';
import { orclItems, smaSetup } from '../helpers/research.js';

const ORCL = () => sharedFile('market/orcl-1995-2014.csv');
const dir = mkdtempSync(join(tmpdir(), 'sextant-optimize-'));
const items = orclItems();
const setup = smaSetup;
const grid = (...specs: string[]) => {
  const fields = paramFields(strategyDefinition('sma-cross').params);
  return gridPoints(specs.map((s) => parseDimension(s, fields, 'sma-cross')));
};

/** Runs a CLI command in this process; returns its exit code and what it printed on stdout. */
async function cli(command: (args: string[]) => Promise<number>, args: string[]) {
  const out: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    const code = await command(args);
    return { code, out: out.join('\n'), err: err.mock.calls.map((c) => c.join(' ')).join('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('sextant optimize', () => {
  it('every trial run in worker threads equals a single backtest of the same parameters (fills, final value, metrics)', async () => {
    const points = grid('fast=10..15:5', 'slow=30..40:10');
    const study = await optimize({ items, setup, points, objective: 'sharpe', threads: 2 });
    expect(study.threads).toBe(2);
    expect(study.ranked).toHaveLength(4);
    for (const trial of study.ranked) {
      const report = new ReportCollector();
      const single = await runBacktest({
        data: ORCL(),
        symbol: 'ORCL',
        strategy: { id: 'sma-cross', strategy: 'sma-cross', params: { size: 100, ...trial.params } },
        cash: 100_000,
        transport: 'memory',
        onEnvelope: report.onEnvelope,
      });
      expect({ params: trial.params, finalValue: trial.finalValue }).toEqual({
        params: trial.params,
        finalValue: single.finalValue,
      });
      expect(trial.fills).toEqual(single.fills);
      const stats = report.data(100_000, { symbol: '', strategy: '', data: '', costs: '', generatedAt: new Date(0) });
      expect(trial.metrics).toEqual(stats.stats);
    }
    // the ORCL reference (tests/fixtures/data/market/orcl-sma-10-30-reference.json) is one of them
    const reference = JSON.parse(readFileSync(sharedFile('market/orcl-sma-10-30-reference.json'), 'utf8')) as {
      final_value: number;
    };
    expect(study.ranked.find((t) => t.params.fast === 10 && t.params.slow === 30)!.finalValue).toBe(
      reference.final_value,
    );
    // ranked best first by Sharpe
    const scores = study.ranked.map((t) => t.score!);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('the command prints the same final value per trial as sextant backtest --json with those parameters', async () => {
    const opt = await cli(optimizeCommand, [
      '--data',
      ORCL(),
      '--symbol',
      'ORCL',
      '--grid',
      'fast=10,20',
      '--grid',
      'slow=40',
      '--workers',
      '2',
      '--json',
    ]);
    expect(opt.code).toBe(0);
    const study = JSON.parse(opt.out) as { trials: { params: { fast: number; slow: number }; finalValue: number }[] };
    expect(study.trials).toHaveLength(2);
    for (const t of study.trials) {
      const single = await cli(backtestCommand, [
        '--data',
        ORCL(),
        '--symbol',
        'ORCL',
        '--fast',
        String(t.params.fast),
        '--slow',
        String(t.params.slow),
        '--json',
      ]);
      expect(single.code).toBe(0);
      expect((JSON.parse(single.out) as { finalValue: number }).finalValue).toBe(t.finalValue);
    }
  });

  it('a strategy file is loaded in each worker thread and gives the same result as in this thread', async () => {
    expect(await strategyCommand(['new', 'sweep-me', '--dir', dir])).toBe(0);
    const file = join(dir, 'sweep-me.ts');
    const loaded = await loadStrategyOf({ id: 'sweep-me', strategy: file, params: {} });
    const fileSetup: TrialSetup = {
      ...setup,
      strategy: { ...(loaded as TrialSetup['strategy']), params: {} },
      strategyFiles: [file],
    };
    const fields = paramFields(strategyDefinition(fileSetup.strategy.strategy).params);
    const name = [...fields.keys()].find((k) => k === 'period')!;
    const points = [{ [name]: 20 }, { [name]: 40 }];
    const threaded = await optimize({ items, setup: fileSetup, points, objective: 'return', threads: 2 });
    const inline = await optimize({ items, setup: fileSetup, points, objective: 'return', threads: 0 });
    expect(threaded.ranked.map((t) => [t.params, t.finalValue, t.fills.length])).toEqual(
      inline.ranked.map((t) => [t.params, t.finalValue, t.fills.length]),
    );
    expect(threaded.ranked[0]!.fills.length).toBeGreaterThan(0);
  });

  it('resumes: finished trials are read back, not run again, and a file of another study is refused', async () => {
    const resume = join(dir, 'study.ndjson');
    const points = grid('fast=10..20:10', 'slow=30');
    let progress: [number, number][] = [];
    const first = await optimize({
      items,
      setup,
      points,
      objective: 'return',
      threads: 0,
      resume,
      onProgress: (d, t) => progress.push([d, t]),
    });
    expect(first.resumed).toBe(0);
    expect(progress.at(-1)).toEqual([2, 2]);
    expect(readFileSync(resume, 'utf8').trim().split('\n')).toHaveLength(3); // header + 2 trials
    progress = [];
    const again = await optimize({
      items,
      setup,
      points: grid('fast=10..20:5', 'slow=30'),
      objective: 'return',
      threads: 0,
      resume,
      onProgress: (d, t) => progress.push([d, t]),
    });
    expect(again.resumed).toBe(2);
    expect(progress[0]).toEqual([2, 3]); // two read back before any runs
    expect(again.ranked.map((t) => t.finalValue).sort()).toEqual(
      [...first.ranked.map((t) => t.finalValue), again.ranked.find((t) => t.params.fast === 15)!.finalValue].sort(),
    );
    await expect(
      optimize({ items, setup: { ...setup, cash: 50_000 }, points, objective: 'return', threads: 0, resume }),
    ).rejects.toThrow(/holds another study/);
  });

  it('parameter sets the strategy refuses are skipped with its reason; too few trades rank last', async () => {
    const study = await optimize({
      items,
      setup,
      points: grid('fast=20..40:10', 'slow=30'),
      objective: 'return',
      minTrades: 80,
      threads: 0,
    });
    expect(study.skipped.map((s) => s.params)).toEqual([
      { fast: 30, slow: 30 },
      { fast: 40, slow: 30 },
    ]);
    expect(study.skipped[0]!.reason).toMatch(/fast must be shorter than slow/);
    expect(study.ranked).toHaveLength(1);
    expect(study.ranked[0]!.metrics.closedTrades).toBeGreaterThan(80);
    const strict = await optimize({
      items,
      setup,
      points: grid('fast=10..20:10', 'slow=30'),
      objective: 'return',
      minTrades: 95,
      threads: 0,
    });
    expect(strict.ranked.map((t) => [t.params.fast, t.excluded !== undefined])).toEqual([
      [10, false],
      [20, true],
    ]);
    expect(strict.ranked[1]!.excluded).toMatch(/92 closed trades, fewer than --min-trades 95/);
  });

  it('the command explains bad input in one line: an unknown parameter, a backwards range, a missing grid', async () => {
    const base = ['--data', ORCL(), '--symbol', 'ORCL'];
    const unknown = await cli(optimizeCommand, [...base, '--grid', 'fsat=5..10']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/sma-cross has no parameter "fsat"; its parameters are fast, slow, size/);
    const backwards = await cli(optimizeCommand, [...base, '--grid', 'fast=20..5']);
    expect(backwards.err).toMatch(/runs backwards/);
    const none = await cli(optimizeCommand, base);
    expect(none.err).toMatch(/--grid is required/);
    const objective = await cli(optimizeCommand, [...base, '--grid', 'fast=5', '--objective', 'luck']);
    expect(objective.err).toMatch(/--objective must be one of return, sharpe, sortino, calmar, profit-factor/);
  });

  it('writes an HTML report with every trial, the heatmap and the robustness view', async () => {
    const report = join(dir, 'sweep.html');
    const r = await cli(optimizeCommand, [
      '--data',
      ORCL(),
      '--symbol',
      'ORCL',
      '--grid',
      'fast=10,20',
      '--grid',
      'slow=30,40',
      '--workers',
      '0',
      '--report',
      report,
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Optimize sma-cross on orcl-1995-2014.csv: 4 trials/);
    expect(existsSync(report)).toBe(true);
    const html = readFileSync(report, 'utf8');
    expect(html).toContain('id="trials"');
    expect(html).toContain('id="heatmap"');
    const trials = html.slice(html.indexOf('id="trials"'), html.indexOf('</table>', html.indexOf('id="trials"')));
    expect(trials.match(/<tr><td>\d+<\/td>/g)).toHaveLength(4);
    expect(html).toContain('Parameter robustness');
  });
});
