/**
 * A worker thread of a study (`sextant optimize`, `walk-forward`): it receives the data once
 * (`workerData`), loads the strategy files, then runs the trials it is sent, one at a time, each
 * a full backtest through the agents (runTrial). Bundled as its own entry (dist/trial-thread.mjs).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadStrategyFile } from '../../infra/strategies/index.js';
import { runTrial, type TrialSetup, type TrialSpec } from './trial.js';
import type { FeedItem } from '../../../agents/data/index.js';

interface Init {
  readonly items: readonly FeedItem[];
  readonly setup: TrialSetup;
}

const { items, setup } = workerData as Init;
const port = parentPort!;

const ready = (async () => {
  for (const file of setup.strategyFiles ?? []) await loadStrategyFile(file, { typecheck: false });
})();

// trials run one after another: a thread has one core's worth of work at a time
let queue: Promise<void> = ready;
port.on('message', (msg: { id: number; spec: TrialSpec; keepCurve?: boolean }) => {
  queue = queue.then(async () => {
    try {
      const result = await runTrial(items, setup, msg.spec, { keepCurve: msg.keepCurve ?? false });
      port.postMessage({ id: msg.id, result });
    } catch (err) {
      port.postMessage({ id: msg.id, error: (err as Error).message });
    }
  });
});
