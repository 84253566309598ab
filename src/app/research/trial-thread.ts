/**
 * A worker thread of a study (`sextant optimize`, `walk-forward`): it receives the data once
 * (its first message), loads the strategy files, then runs the trials it is sent, one at a time, each
 * a full backtest through the agents (runTrial). Bundled as its own entry (dist/trial-thread.mjs).
 */
import { parentPort } from 'node:worker_threads';
import { loadStrategyFile } from '../../infra/strategies/index.js';
import { runTrial, type TrialSpec } from './trial.js';
import type { TrialThreadInit } from './pool.js';

const port = parentPort!;

let init: TrialThreadInit | undefined;
// trials run one after another: a thread has one core's worth of work at a time
let queue: Promise<void> = Promise.resolve();
port.on('message', (msg: { init: TrialThreadInit } | { id: number; spec: TrialSpec; keepCurve?: boolean }) => {
  if ('init' in msg) {
    // the data comes once, after the thread has loaded (startTrialThreads); the strategy files
    // load before the first trial
    init = msg.init;
    const files = init.setup.strategyFiles ?? [];
    queue = queue.then(async () => {
      for (const file of files) await loadStrategyFile(file, { typecheck: false });
    });
    return;
  }
  queue = queue.then(async () => {
    try {
      if (!init) throw new Error('a trial came before the data (the pool sends the data first)');
      const result = await runTrial(init.items, init.setup, msg.spec, { keepCurve: msg.keepCurve ?? false });
      port.postMessage({ id: msg.id, result });
    } catch (err) {
      port.postMessage({ id: msg.id, error: (err as Error).message });
    }
  });
});
