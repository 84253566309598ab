import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededPrng, standardNormal } from '../agents/data/feeds/prng.js';
import { formatTable } from './harness.js';
import { ensureBacktrader, runBacktrader, type PeerRun } from './peers/backtrader.js';

/**
 * Backtest throughput: a deterministic 200,000-bar daily series (Yahoo CSV format, generated
 * here), SMA(10,30) through all five agents, on the in-memory bus and over NATS. Each run is a
 * child process of its own (the built CLI), so its peak RSS and JIT warm-up are its own.
 * Goals (2 cores): in-memory >= 110,000 bars/s, NATS >= 22,000 bars/s, RSS <= 250 MB.
 * The peer: backtrader runs the same series and rules in the same run (bench/peers/); it must
 * agree on the fills and the final value, and the ratio of bars/s is reported.
 */

export interface BacktestBenchRow {
  readonly transport: 'memory' | 'nats';
  /** True when every bus message was recorded into an embedded store (`--record`). */
  readonly recorded: boolean;
  readonly bars: number;
  readonly fills: number;
  readonly finalValue: number;
  readonly elapsedMs: number;
  readonly barsPerSecond: number;
  readonly peakRssMB: number;
}

export interface BacktestBenchResult {
  readonly bars: number;
  readonly strategy: string;
  readonly runs: BacktestBenchRow[];
  readonly goals: {
    memoryBarsPerSecond: number;
    natsBarsPerSecond: number;
    rssMB: number;
    recordingSlowdownMax: number;
  };
  /** In-memory elapsed time with recording / without (goal <= 1.3). */
  readonly recordingSlowdown: number;
  readonly natsSkipped?: string;
  /** The same series and strategy through backtrader, in the same run. */
  readonly peer?: PeerRun;
  /** Sextant in-memory bars/s over backtrader's (higher is faster). */
  readonly vsBacktrader?: number;
  readonly peerSkipped?: string;
}

/**
 * Starting cash of both backtesters: enough that no order of the series is ever short of cash
 * (the random walk climbs far above its start, and 100 shares of it cost more than 100,000 at
 * times), so the two run the same trades whatever each does with an order it cannot pay for.
 */
const CASH = 1_000_000_000;

/** Writes the series: a seeded geometric random walk, one bar a day from 1800-01-01. */
export function writeSeries(bars: number): string {
  const next = seededPrng(20_261_121, 'bench');
  const rows = ['Date,Open,High,Low,Close,Adj Close,Volume'];
  const t0 = Date.UTC(1800, 0, 1);
  let close = 50;
  for (let i = 0; i < bars; i++) {
    const open = close;
    close = Math.max(1, open * Math.exp(0.015 * standardNormal(next)));
    const high = Math.max(open, close) * (1 + 0.005 * next());
    const low = Math.min(open, close) * (1 - 0.005 * next());
    const date = new Date(t0 + i * 86_400_000).toISOString().slice(0, 10);
    rows.push(
      `${date},${open.toFixed(4)},${high.toFixed(4)},${low.toFixed(4)},${close.toFixed(4)},${close.toFixed(4)},${1000 + Math.floor(next() * 1e6)}`,
    );
  }
  const file = join(mkdtempSync(join(tmpdir(), 'sextant-bench-')), `series-${bars}.csv`);
  writeFileSync(file, rows.join('\n') + '\n');
  return file;
}

/**
 * One backtest in a child process, through the built CLI exactly as a user runs it
 * (`npm run build` first):
 * `node --max-semi-space-size=64 --no-allocation-site-pretenuring dist/sextant.mjs backtest ... --json`.
 */
function runChild(
  transport: 'memory' | 'nats',
  file: string,
  natsUrl: string | undefined,
  record = false,
): Promise<BacktestBenchRow> {
  const cli = fileURLToPath(new URL('../dist/sextant.mjs', import.meta.url));
  const recordDir = record ? mkdtempSync(join(tmpdir(), 'sextant-bench-record-')) : undefined;
  const args = [
    '--max-semi-space-size=64',
    '--no-allocation-site-pretenuring',
    cli,
    'backtest',
    '--data',
    file,
    '--symbol',
    'BENCH',
    '--strategy',
    'sma-cross',
    '--fast',
    '10',
    '--slow',
    '30',
    '--size',
    '100',
    '--cash',
    String(CASH),
    '--risk',
    'off',
    '--transport',
    transport,
    '--json',
    ...(recordDir ? ['--record', recordDir] : []),
  ];
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, {
      env: { ...process.env, ...(natsUrl ? { NATS_URL: natsUrl } : {}) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => {
      if (code !== 0)
        return reject(new Error(`backtest bench child (${transport}) exited ${code}; run \`npm run build\` first`));
      const r = JSON.parse(out.trim().split('\n').pop()!) as {
        bars: number;
        fills: unknown[];
        finalValue: number;
        elapsedMs: number;
        barsPerSecond: number;
        peakRssMB: number;
      };
      if (recordDir) rmSync(recordDir, { recursive: true, force: true });
      resolve({
        transport,
        recorded: record,
        bars: r.bars,
        fills: r.fills.length,
        finalValue: r.finalValue,
        elapsedMs: r.elapsedMs,
        barsPerSecond: r.barsPerSecond,
        peakRssMB: r.peakRssMB,
      });
    });
  });
}

/** Runs the backtest bench; NATS is skipped (and said so) when no URL is given. */
export async function runBacktestBench(options: {
  natsUrl?: string | undefined;
  bars?: number;
}): Promise<BacktestBenchResult> {
  const bars = options.bars ?? 200_000;
  const file = writeSeries(bars);
  // recording is compared with the plain run next to it (same machine, same minute)
  const runs: BacktestBenchRow[] = [
    await runChild('memory', file, undefined),
    await runChild('memory', file, undefined, true),
  ];
  if (options.natsUrl) runs.push(await runChild('nats', file, options.natsUrl));
  if (runs.some((r) => r.fills !== runs[0]!.fills || r.finalValue !== runs[0]!.finalValue)) {
    throw new Error(`memory and NATS backtests disagree: ${JSON.stringify(runs)}`);
  }
  let peer: PeerRun | undefined;
  let peerSkipped: string | undefined;
  try {
    peer = await runBacktrader(
      ensureBacktrader((l) => console.log(`  ${l}`)),
      file,
      { fast: 10, slow: 30, size: 100, cash: CASH },
    );
  } catch (err) {
    peerSkipped = `backtrader could not run: ${(err as Error).message}`;
  }
  if (peer && (peer.fills !== runs[0]!.fills || Math.abs(peer.finalValue - runs[0]!.finalValue) > 0.01)) {
    throw new Error(
      `Sextant and backtrader disagree on the same series: ${JSON.stringify({ sextant: runs[0], backtrader: peer })}`,
    );
  }
  console.log(
    formatTable([
      ['transport', 'recorded', 'bars', 'fills', 'final value', 'ms', 'bars/s', 'peak RSS MB'],
      ...runs.map((r) => [
        r.transport,
        r.recorded ? 'yes' : 'no',
        r.bars,
        r.fills,
        r.finalValue.toFixed(2),
        r.elapsedMs,
        r.barsPerSecond,
        r.peakRssMB,
      ]),
      ...(peer
        ? [
            [
              peer.peer,
              'no',
              peer.bars,
              peer.fills,
              peer.finalValue.toFixed(2),
              peer.elapsedMs,
              peer.barsPerSecond,
              peer.peakRssMB,
            ],
          ]
        : []),
    ]),
  );
  return {
    bars,
    strategy: 'sma-cross 10/30, size 100',
    runs,
    goals: { memoryBarsPerSecond: 110_000, natsBarsPerSecond: 22_000, rssMB: 250, recordingSlowdownMax: 1.3 },
    recordingSlowdown: Math.round((100 * runs[1]!.elapsedMs) / runs[0]!.elapsedMs) / 100,
    ...(options.natsUrl ? {} : { natsSkipped: 'no NATS server answered' }),
    ...(peer
      ? { peer, vsBacktrader: Math.round((100 * runs[0]!.barsPerSecond) / peer.barsPerSecond) / 100 }
      : { peerSkipped }),
  };
}
