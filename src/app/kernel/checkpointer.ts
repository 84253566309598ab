import type { Snapshot } from 'xstate';
import type { AgentName, Bus, Logger } from '../../core/index.js';
import type { Kernel } from './kernel.js';
import type { ChainRef, InletCut } from '../../runtime/index.js';
import type { Recorder, SnapshotDoc, SnapshotStore } from '../../infra/store/index.js';

/** What one process saves to resume from: its agents' machines and its feed's position. */
export interface ProcessCheckpoint {
  readonly agents: Partial<Record<AgentName, Snapshot<unknown>>>;
  /** Wall time the state was captured: a restart reads back own outputs published since then. */
  readonly capturedAt?: number;
  /**
   * Each agent's cut: per inlet, the id of the last message it had handled. Over NATS with the
   * recording stream a restart replays what came after it (src/app/kernel/kernel.ts).
   */
  readonly inputs?: Partial<Record<AgentName, Record<string, InletCut>>>;
  /** Each agent's open chains, so an order's later fills still belong to its chain after a restart. */
  readonly chains?: Partial<Record<AgentName, Record<string, ChainRef>>>;
  readonly feed?: {
    readonly name: string;
    readonly published: number;
    readonly startTime?: number;
    /** A live feed: the last bar published per symbol (a restart publishes only what came after). */
    readonly lastBars?: Readonly<Record<string, number>>;
  };
  /**
   * The last message the event log had taken when the state was captured: what came after it is
   * fed through the agents again on a restart (src/app/kernel/catch-up.ts). Absent without a recorder.
   */
  readonly log?: { readonly after: string };
}

export interface CheckpointerDeps {
  readonly kernel: Kernel;
  /** Durable messages are acknowledged once a checkpoint holding their effects is saved. */
  readonly bus?: Pick<Bus, 'commitPoint' | 'flush'>;
  readonly snapshots: SnapshotStore;
  /** Flushed before each checkpoint is saved: the event log is never behind a snapshot. */
  readonly recorder?: Recorder;
  readonly log: Logger;
  /** Told of every checkpoint saved and every one that failed (src/infra/store/write-watch.ts). */
  readonly watch?: { failed(what: string, err: unknown): void; succeeded(what: string): void };
  /** The store key of this process (see `processKey`). */
  readonly key: string;
  readonly runId: string;
  /** Sequence of the checkpoint resumed from (0 for a fresh run). */
  readonly seq: number;
  readonly intervalMs: number;
  readonly feed?: { readonly name: string; readonly startTime?: number };
}

/** How long a checkpoint waits for the event log to be written before saving anyway. */
const RECORDER_FLUSH_WAIT_MS = 5000;

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
    this.#timer = setInterval(
      () =>
        void this.checkpoint().then(
          (saved) => saved && this.deps.watch?.succeeded('checkpoint'),
          (err: unknown) => {
            this.deps.log.error({ err }, 'checkpoint failed');
            this.deps.watch?.failed('checkpoint', err);
          },
        ),
      this.deps.intervalMs,
    );
    this.#timer.unref();
  }

  /** Takes a checkpoint if the agents are at a consistent point; false when they are not (or one is being saved). */
  checkpoint(): Promise<boolean> {
    if (this.#saving) return this.#saving;
    const { kernel } = this.deps;
    if (!kernel.idle) return Promise.resolve(false);
    const state: ProcessCheckpoint = {
      agents: kernel.persisted(),
      chains: kernel.persistedChains(),
      inputs: kernel.persistedInputs(),
      capturedAt: Date.now(),
      ...(this.deps.feed
        ? {
            feed: {
              ...this.deps.feed,
              published: kernel.feedCursor.published,
              ...(kernel.feedCursor.lastBars ? { lastBars: { ...kernel.feedCursor.lastBars } } : {}),
            },
          }
        : {}),
      ...(this.deps.recorder?.lastId ? { log: { after: this.deps.recorder.lastId } } : {}),
    };
    const doc: SnapshotDoc = {
      key: this.deps.key,
      seq: ++this.#seq,
      runId: this.deps.runId,
      savedAt: Date.now(),
      state,
    };
    const commit = this.deps.bus?.commitPoint();
    this.#saving = (async () => {
      // the outputs the state reflects must be stored (JetStream) before the state is saved and
      // its inputs acknowledged; else a crash now would lose them for good
      await this.deps.bus?.flush();
      await this.#flushRecorder();
      await this.deps.snapshots.save(doc);
      this.saved++;
      await commit?.();
      return true;
    })().finally(() => {
      this.#saving = undefined;
    });
    return this.#saving;
  }

  /**
   * Flushes the event log first so a snapshot never runs ahead of it, but only for so long: with
   * the store away, trading (and acknowledging) must not stop; the log catches up from its buffer
   * later, and the gap is said loudly (a crash before then loses those log lines, not the state).
   */
  async #flushRecorder(): Promise<void> {
    const recorder = this.deps.recorder;
    if (!recorder) return;
    const timeout = new Promise<'late'>((r) => setTimeout(() => r('late'), RECORDER_FLUSH_WAIT_MS).unref());
    if ((await Promise.race([recorder.flush().then(() => 'ok' as const), timeout])) === 'late') {
      this.deps.log.error(
        { buffered: recorder.stats.buffered },
        'checkpoint saved ahead of the event log: the store is not taking writes; the log catches up when it is back',
      );
    }
  }

  /** Stops the timer and takes a last checkpoint, waiting for a consistent point (up to `waitMs`). */
  async stop(waitMs = 5000): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#saving?.catch(() => false);
    const until = Date.now() + waitMs;
    while (!(await this.checkpoint())) {
      if (Date.now() > until) {
        this.deps.log.error(
          'no consistent point to checkpoint at before stopping; the next start resumes from the previous checkpoint',
        );
        return;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
