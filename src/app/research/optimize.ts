import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { resolveInstance } from '../../../agents/strategy/index.js';
import type { FeedItem } from '../../../agents/data/index.js';
import { rank, type Objective, type Ranked } from './objective.js';
import { trialRunner, type TrialRunner } from './pool.js';
import { pointKey } from './space.js';
import type { TrialResult, TrialSetup, TrialWindow } from './trial.js';

export interface OptimizeOptions {
  /** The data, read once (every trial reads these arrays). */
  readonly items: readonly FeedItem[];
  readonly setup: TrialSetup;
  /** The parameter sets to try (from gridPoints / randomPoints). */
  readonly points: readonly Record<string, unknown>[];
  readonly objective: Objective;
  /** Trials with fewer closed trades rank last. */
  readonly minTrades?: number;
  /** Worker threads (0: this thread). */
  readonly threads?: number;
  /** The trials run over this window only (walk-forward's in-sample stretch). */
  readonly window?: TrialWindow;
  /**
   * An NDJSON file of finished trials: those already in it are not run again, and every trial
   * finished is appended as it finishes, so a study that stopped resumes where it was.
   */
  readonly resume?: string;
  /** After each trial: how many are done (resumed ones included) of how many. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Reuse a running pool (walk-forward runs many studies on one). */
  readonly runner?: TrialRunner;
}

export interface OptimizeResult {
  /** Best first (objective.rank). */
  readonly ranked: Ranked[];
  /** Parameter sets the strategy's schema refused (e.g. fast >= slow), with its reason. */
  readonly skipped: { readonly params: Record<string, unknown>; readonly reason: string }[];
  /** Trials read from the resume file instead of run. */
  readonly resumed: number;
  readonly elapsedMs: number;
  readonly threads: number;
}

/** What identifies a study in its resume file: the setup, the window and the data's extent. */
function fingerprint(o: OptimizeOptions): string {
  const first = o.items[0];
  const last = o.items[o.items.length - 1];
  const t = (it: FeedItem | undefined) => (it === undefined ? null : it.kind === 'bar' ? it.bar.time : it.tick.time);
  const { strategyFiles: _files, ...setup } = o.setup;
  return createHash('sha256')
    .update(JSON.stringify({ setup, window: o.window ?? null, n: o.items.length, first: t(first), last: t(last) }))
    .digest('hex')
    .slice(0, 16);
}

function readResume(file: string, print: string): Map<string, TrialResult> {
  const done = new Map<string, TrialResult>();
  if (!existsSync(file)) {
    writeFileSync(file, JSON.stringify({ study: print }) + '\n');
    return done;
  }
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const head = lines.length > 0 ? (JSON.parse(lines[0]!) as { study?: string }) : {};
  if (head.study !== print)
    throw new Error(
      `${file} holds another study (different data, strategy, limits or window); give a new --resume file or delete it`,
    );
  for (const line of lines.slice(1)) {
    try {
      const r = JSON.parse(line) as TrialResult;
      done.set(pointKey(r.params), r);
    } catch {
      // a line cut short by a crash: that trial runs again
    }
  }
  return done;
}

/**
 * A parameter study: every point is checked by the strategy's schema, then run as a full
 * backtest (runTrial) in worker threads, `threads` at a time, and the results ranked by the
 * objective. Each trial equals a `sextant backtest` with the same parameters.
 */
export async function optimize(o: OptimizeOptions): Promise<OptimizeResult> {
  const started = performance.now();
  const skipped: OptimizeResult['skipped'] = [];
  const valid: Record<string, unknown>[] = [];
  for (const p of o.points) {
    try {
      resolveInstance({ ...o.setup.strategy, params: { ...o.setup.strategy.params, ...p } });
      valid.push(p);
    } catch (err) {
      skipped.push({ params: p, reason: (err as Error).message.replace(/^[^:]*parameters?[^:]*: /, '') });
    }
  }
  const done = o.resume ? readResume(o.resume, fingerprint(o)) : new Map<string, TrialResult>();
  const results = new Map<string, TrialResult>();
  let resumed = 0;
  for (const p of valid) {
    const hit = done.get(pointKey(p));
    if (hit) {
      results.set(pointKey(p), hit);
      resumed++;
    }
  }
  const todo = valid.filter((p) => !results.has(pointKey(p)));
  const total = valid.length;
  o.onProgress?.(results.size, total);
  const runner = o.runner ?? (todo.length > 0 ? await trialRunner(o.items, o.setup, o.threads) : undefined);
  try {
    let next = 0;
    const lane = async () => {
      while (next < todo.length) {
        const p = todo[next++]!;
        const r = await runner!.run({ params: p, ...(o.window ? { window: o.window } : {}) });
        results.set(pointKey(p), r);
        if (o.resume) appendFileSync(o.resume, JSON.stringify(r) + '\n');
        o.onProgress?.(results.size, total);
      }
    };
    const lanes = Math.max(1, runner?.threads ?? 1);
    await Promise.all(Array.from({ length: Math.min(lanes, todo.length) }, lane));
  } finally {
    if (!o.runner) await runner?.close();
  }
  // in the points' order, so ties rank as the grid lists them
  const ordered = valid.map((p) => results.get(pointKey(p))!);
  return {
    ranked: rank(ordered, o.objective, o.minTrades ?? 0),
    skipped,
    resumed,
    elapsedMs: Math.round(performance.now() - started),
    threads: runner?.threads ?? o.threads ?? 0,
  };
}
