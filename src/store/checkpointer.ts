import type { Snapshot } from 'xstate';
import type { AgentName } from '../../bus/subjects.js';
import type { Bus } from '../../bus/bus.js';
import type { Kernel } from '../kernel.js';
import type { Logger } from '../observability/logger.js';
import type { Recorder } from './recorder.js';
import type { SnapshotDoc, SnapshotStore } from './ports.js';

/** What one process saves to resume from: its agents' machines and its feed's position. */
export interface ProcessCheckpoint {
  readonly agents: Partial<Record<AgentName, Snapshot<unknown>>>;
  /** Wall time the state was captured: a restart reads back own outputs published since then. */
  readonly capturedAt?: number;
  readonly feed?: { readonly name: string; readonly published: number; readonly startTime?: number };
}

export interface CheckpointerDeps {
  readonly kernel: Kernel;
  /** Durable messages are acknowledged once a checkpoint holding their effects is saved. */
  readonly bus?: Pick<Bus, 'commitPoint'>;
  readonly snapshots: SnapshotStore;
  /** Flushed before each checkpoint is saved: the event log is never behind a snapshot. */
  readonly recorder?: Recorder;
  readonly log: Logger;
  /** The store key of this process (see `processKey`). */
  readonly key: string;
  readonly runId: string;
  /** Sequence of the checkpoint resumed from (0 for a fresh run). */
  readonly seq: number;
  readonly intervalMs: number;
  readonly feed?: { readonly name: string; readonly startTime?: number };
}

/** The snapshot key of a process: its instance and the agents it runs. */
export function processKey(instance: string, agents: readonly string[]): string {
  return `process:${instance}:${[...agents].sort().join('+')}`;
}

/**
 * Saves the process's state at consistent points: when no agent is inside a step or waiting for
 * a broker (`kernel.idle`). The state is captured at once; then the event log is flushed, then
 * the snapshot is written, so a snapshot never refers to events the log lacks; then the durable
 * messages handled before the capture are acknowledged (a crash before that redelivers them to
 * the restored agents, which handle them again idempotently). On the in-memory
 * bus every handler runs to completion inside `publish`, so an idle kernel is a cut across all
 * agents: a restart resumes from it and the feed continues after the recorded position. Events
 * published after the last checkpoint are made again on resume with the same (derived) ids, so
 * the store keeps each once.
 */
export class Checkpointer {
  #seq: number;
  #timer: NodeJS.Timeout | undefined;
  #saving: Promise<boolean> | undefined;
  saved = 0;

  constructor(private readonly deps: CheckpointerDeps) {
    this.#seq = deps.seq;
  }

  start(): void {
    this.#timer = setInterval(() => void this.checkpoint().catch((err: unknown) => this.deps.log.error({ err }, 'checkpoint failed')), this.deps.intervalMs);
    this.#timer.unref();
  }

  /** Takes a checkpoint if the agents are at a consistent point; false when they are not (or one is being saved). */
  checkpoint(): Promise<boolean> {
    if (this.#saving) return this.#saving;
    const { kernel } = this.deps;
    if (!kernel.idle) return Promise.resolve(false);
    const state: ProcessCheckpoint = {
      agents: kernel.persisted(),
      capturedAt: Date.now(),
      ...(this.deps.feed ? { feed: { ...this.deps.feed, published: kernel.feedCursor.published } } : {}),
    };
    const doc: SnapshotDoc = { key: this.deps.key, seq: ++this.#seq, runId: this.deps.runId, savedAt: Date.now(), state };
    const commit = this.deps.bus?.commitPoint();
    this.#saving = (async () => {
      await this.deps.recorder?.flush();
      await this.deps.snapshots.save(doc);
      this.saved++;
      await commit?.();
      return true;
    })().finally(() => {
      this.#saving = undefined;
    });
    return this.#saving;
  }

  /** Stops the timer and takes a last checkpoint, waiting for a consistent point (up to `waitMs`). */
  async stop(waitMs = 5000): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#saving;
    const until = Date.now() + waitMs;
    while (!(await this.checkpoint())) {
      if (Date.now() > until) {
        this.deps.log.error('no consistent point to checkpoint at before stopping; the next start resumes from the previous checkpoint');
        return;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
