import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FeedItem } from '../../../agents/data/index.js';
import { loadStrategyFile } from '../../infra/strategies/index.js';
import { runTrial, type TrialResult, type TrialSetup, type TrialSpec } from './trial.js';

/** Runs trials: in worker threads (one per core by default), or in this thread with `threads: 0`. */
export interface TrialRunner {
  run(spec: TrialSpec, options?: { keepCurve?: boolean }): Promise<TrialResult>;
  close(): Promise<void>;
  readonly threads: number;
}

export const defaultThreads = (): number => Math.max(1, availableParallelism());

/**
 * Where the thread's module is: next to this file when running from source (a .ts file, loaded
 * through tsx's loader in the thread), else the bundle's own entry `dist/trial-thread.mjs`.
 */
function threadScript(): { code: string; eval: true } | { url: URL; eval: false } {
  const here = import.meta.url;
  if (/\.ts$/.test(here)) {
    const thread = new URL('./trial-thread.ts', here).href;
    // tsx's ESM API (require.resolve would give its CommonJS build)
    const tsxDir = dirname(createRequire(fileURLToPath(here)).resolve('tsx/package.json'));
    const tsx = pathToFileURL(join(tsxDir, 'dist/esm/api/index.mjs')).href;
    // the thread registers tsx first, then imports the TypeScript module
    return {
      code: `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(thread)}); });`,
      eval: true,
    };
  }
  for (const rel of ['./trial-thread.mjs', '../trial-thread.mjs']) {
    const url = new URL(rel, here);
    if (existsSync(fileURLToPath(url))) return { url, eval: false };
  }
  throw new Error(`trial-thread.mjs is missing next to ${fileURLToPath(here)}: rebuild with npm run build`);
}

/** Trials in this thread, one at a time (tests, debugging, --workers 0). */
async function inlineRunner(items: readonly FeedItem[], setup: TrialSetup): Promise<TrialRunner> {
  for (const file of setup.strategyFiles ?? []) await loadStrategyFile(file, { typecheck: false });
  let queue: Promise<unknown> = Promise.resolve();
  return {
    threads: 0,
    run: (spec, options) => {
      const next = queue.then(() => runTrial(items, setup, spec, { keepCurve: options?.keepCurve ?? false }));
      queue = next.catch(() => undefined);
      return next;
    },
    close: async () => undefined,
  };
}

/** Worker threads started ahead of the data (see startTrialThreads). */
export interface TrialThreads {
  readonly threads: number;
  /** Hands every thread the data and the setup (once); the runner runs trials on them. */
  load(items: readonly FeedItem[], setup: TrialSetup): TrialRunner;
  /** Ends the threads (also what the runner's close does). */
  close(): Promise<void>;
}

/**
 * Starts `threads` worker threads before the data is there: each loads its modules (a good part
 * of a short study's time) while this thread reads and parses the data. `load` then sends the
 * data once; trials sent before a thread has it wait in that thread's queue.
 */
export function startTrialThreads(threads = defaultThreads()): TrialThreads {
  if (threads <= 0) throw new Error('startTrialThreads needs at least one thread (threads: 0 runs trials inline)');
  const script = threadScript();
  interface Slot {
    worker: Worker;
    inFlight: Map<number, { resolve: (r: TrialResult) => void; reject: (e: Error) => void }>;
    dead?: Error;
  }
  const slots: Slot[] = [];
  for (let i = 0; i < threads; i++) {
    // the agents allocate many short-lived objects per message: a young generation as large as the
    // CLI's (--max-semi-space-size=64: three semi-spaces) keeps them from being promoted
    const limits = { resourceLimits: { maxYoungGenerationSizeMb: 192 } };
    const worker = script.eval ? new Worker(script.code, { eval: true, ...limits }) : new Worker(script.url, limits);
    const slot: Slot = { worker, inFlight: new Map() };
    const fail = (err: Error) => {
      slot.dead = err;
      for (const p of slot.inFlight.values()) p.reject(err);
      slot.inFlight.clear();
    };
    worker.on('message', (msg: { id: number; result?: TrialResult; error?: string }) => {
      const p = slot.inFlight.get(msg.id);
      if (!p) return;
      slot.inFlight.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else p.resolve(msg.result!);
    });
    worker.on('error', (err) => fail(new Error(`a trial thread failed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (slot.inFlight.size > 0) fail(new Error(`a trial thread exited (code ${code}) with trials in flight`));
    });
    slots.push(slot);
  }
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= Promise.all(slots.map((s) => s.worker.terminate())).then(() => undefined));
  let loaded = false;
  let nextId = 0;
  return {
    threads,
    close,
    load: (items, setup) => {
      if (loaded) throw new Error('these trial threads have their data already');
      loaded = true;
      const init: TrialThreadInit = { items, setup };
      for (const s of slots) s.worker.postMessage({ init });
      return {
        threads,
        run: (spec, options) =>
          new Promise<TrialResult>((resolve, reject) => {
            const live = slots.filter((s) => !s.dead);
            if (live.length === 0) return reject(slots[0]?.dead ?? new Error('no trial thread is running'));
            const slot = live.reduce((a, b) => (b.inFlight.size < a.inFlight.size ? b : a));
            const id = nextId++;
            slot.inFlight.set(id, { resolve, reject });
            slot.worker.postMessage({ id, spec, keepCurve: options?.keepCurve ?? false });
          }),
        close,
      };
    },
  };
}

/** What a trial thread is sent first: the data and the setup every trial shares. */
export interface TrialThreadInit {
  readonly items: readonly FeedItem[];
  readonly setup: TrialSetup;
}

/**
 * A pool of `threads` workers, each given the data once. Each trial goes to the worker with the
 * fewest trials in flight; a worker that dies fails its trials with the reason (never silently).
 */
export async function trialRunner(
  items: readonly FeedItem[],
  setup: TrialSetup,
  threads = defaultThreads(),
): Promise<TrialRunner> {
  if (threads <= 0) return inlineRunner(items, setup);
  return startTrialThreads(threads).load(items, setup);
}
