import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sharedFile } from '../tests/helpers/test-data.js';
import { ensureBacktrader } from './peers/backtrader.js';

/**
 * Parameter sweep speed: the SMA cross grid fast {5,10,15,20} x slow {30,40,50,60} (16 trials) over
 * ORCL 1995-2014 daily bars (5,036), 100 shares on 100,000, no costs. Sextant runs
 * `dist/sextant.mjs optimize --workers 2 --json` (each trial a backtest through the agents); the
 * peer runs backtrader's optstrategy with maxcpus=2 in the same run. Both are child processes,
 * timed from spawn to exit (start-up included), alternating, `rounds` each; the median counts.
 * Their in-process times (Sextant: reading the file to the ranking; backtrader: Cerebro to the
 * last result) are reported too. The final value of every combination must agree.
 * Goal: Sextant >= 10x faster (wall clock).
 */

const FASTS = [5, 10, 15, 20];
const SLOWS = [30, 40, 50, 60];
const GOAL = 10;

export interface OptimizeBenchRun {
  readonly wallMs: number;
  readonly elapsedMs: number;
}

export interface OptimizeBenchResult {
  readonly data: string;
  readonly bars: number;
  readonly trials: number;
  readonly workers: number;
  readonly sextant: {
    readonly runs: OptimizeBenchRun[];
    readonly medianWallMs: number;
    readonly medianElapsedMs: number;
  };
  readonly peer?: {
    readonly peer: string;
    readonly runs: OptimizeBenchRun[];
    readonly medianWallMs: number;
    readonly medianElapsedMs: number;
  };
  /** backtrader's median wall time over Sextant's (higher is faster); the goal is >= 10. */
  readonly speedup?: number;
  /** The same ratio of in-process times (start-up excluded on both sides). */
  readonly speedupInProcess?: number;
  readonly goal: number;
  /** Every combination's final value equal in both tools. */
  readonly sameFinalValues?: boolean;
  readonly mismatches?: string[];
  readonly peerSkipped?: string;
}

interface Timed<T> {
  readonly wallMs: number;
  readonly out: T;
}

function timedChild<T>(cmd: string, args: string[]): Promise<Timed<T>> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      const wallMs = Math.round(performance.now() - started);
      if (code !== 0) return reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')} exited ${code}`));
      resolve({ wallMs, out: JSON.parse(out.trim().split('\n').pop()!) as T });
    });
  });
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface SextantOut {
  elapsedMs: number;
  trials: { params: { fast: number; slow: number }; finalValue: number }[];
}
interface PeerOut {
  elapsedMs: number;
  results: { fast: number; slow: number; finalValue: number }[];
}

export async function runOptimizeBench(
  options: { rounds?: number; workers?: number; log?: (l: string) => void } = {},
): Promise<OptimizeBenchResult> {
  const rounds = options.rounds ?? 3;
  const workers = options.workers ?? 2;
  const log = options.log ?? (() => undefined);
  const file = sharedFile('market/orcl-1995-2014.csv');
  const cli = fileURLToPath(new URL('../dist/sextant.mjs', import.meta.url));
  const sextantArgs = [
    '--max-semi-space-size=64',
    '--no-allocation-site-pretenuring',
    cli,
    'optimize',
    '--data',
    file,
    '--symbol',
    'ORCL',
    '--grid',
    `fast=${FASTS.join(',')}`,
    '--grid',
    `slow=${SLOWS.join(',')}`,
    '--size',
    '100',
    '--cash',
    '100000',
    '--fee-bps',
    '0',
    '--slippage-bps',
    '0',
    '--workers',
    String(workers),
    '--json',
  ];
  let python: string | undefined;
  let peerSkipped: string | undefined;
  try {
    python = ensureBacktrader(log);
  } catch (err) {
    peerSkipped = (err as Error).message;
  }
  const script = fileURLToPath(new URL('./peers/backtrader_optimize.py', import.meta.url));
  const peerArgs = [script, file, FASTS.join(','), SLOWS.join(','), String(workers)];
  const ours: Timed<SextantOut>[] = [];
  const theirs: Timed<PeerOut>[] = [];
  for (let i = 0; i < rounds; i++) {
    ours.push(await timedChild<SextantOut>(process.execPath, sextantArgs));
    log(`optimize round ${i + 1}: sextant ${ours.at(-1)!.wallMs} ms`);
    if (python) {
      theirs.push(await timedChild<PeerOut>(python, peerArgs));
      log(`optimize round ${i + 1}: backtrader ${theirs.at(-1)!.wallMs} ms`);
    }
  }
  const runsOf = (xs: Timed<{ elapsedMs: number }>[]) =>
    xs.map((x) => ({ wallMs: x.wallMs, elapsedMs: x.out.elapsedMs }));
  const sextant = {
    runs: runsOf(ours),
    medianWallMs: median(ours.map((x) => x.wallMs)),
    medianElapsedMs: median(ours.map((x) => x.out.elapsedMs)),
  };
  const base = {
    data: 'orcl-1995-2014.csv',
    bars: 5036,
    trials: FASTS.length * SLOWS.length,
    workers,
    sextant,
    goal: GOAL,
  };
  if (!python || theirs.length === 0) return { ...base, peerSkipped: peerSkipped ?? 'backtrader did not run' };
  const peer = {
    peer: 'backtrader 1.9.78.123 optstrategy',
    runs: runsOf(theirs),
    medianWallMs: median(theirs.map((x) => x.wallMs)),
    medianElapsedMs: median(theirs.map((x) => x.out.elapsedMs)),
  };
  const mismatches: string[] = [];
  const mine = new Map(ours[0]!.out.trials.map((t) => [`${t.params.fast}/${t.params.slow}`, t.finalValue]));
  for (const r of theirs[0]!.out.results) {
    const v = mine.get(`${r.fast}/${r.slow}`);
    if (v !== r.finalValue) mismatches.push(`fast ${r.fast} slow ${r.slow}: sextant ${v}, backtrader ${r.finalValue}`);
  }
  return {
    ...base,
    peer,
    speedup: Math.round((peer.medianWallMs / sextant.medianWallMs) * 100) / 100,
    speedupInProcess: Math.round((peer.medianElapsedMs / sextant.medianElapsedMs) * 100) / 100,
    sameFinalValues: mismatches.length === 0,
    ...(mismatches.length > 0 ? { mismatches } : {}),
  };
}
