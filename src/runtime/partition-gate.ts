import type { EventObject } from 'xstate';
import type { Envelope, Logger, AgentSpec } from '../core/index.js';
import type { PartitionCoordinator } from './partitions.js';

/** Ids of the latest messages handled per key, handed to the key's next owner. */
const SEEN_PER_KEY = 2048;
/** Messages of keys this instance does not hold, kept per key in case it takes the key over. */
const PARKED_PER_KEY = 512;

type Partition = NonNullable<AgentSpec['partition']>;

/** Handles a message again (through the host's whole path): what a parked message becomes. */
type Again = () => void | Promise<void>;

/**
 * The agent host's side of scale-out: which messages this instance handles. A key (symbol) is
 * handled only while this instance holds it. Messages of keys it does not hold are parked (the
 * latest few per key): if it comes to own the key, those the previous owner had not handled are
 * handled first, so no message falls between two owners. While a key is being taken over, its
 * messages wait (the subscription waits with them, keeping their order).
 */
export class PartitionGate {
  /** Held keys, with the ids of their latest messages handled (handed over on release). */
  readonly #held = new Map<string, string[]>();
  /** Ids a key's previous owner had handled (skipped here). */
  readonly #handedSeen = new Map<string, Set<string>>();
  readonly #parked = new Map<string, { id: string; again: Again }[]>();
  readonly #acquiring = new Map<string, Promise<void>>();
  readonly #releasing = new Set<Promise<void>>();
  readonly #checking = new Map<string, Promise<void>>();
  #offChange: (() => void) | undefined;
  #stopping = false;

  constructor(
    private readonly partition: Partition,
    private readonly coordinator: PartitionCoordinator,
    private readonly host: { step(event: EventObject): void; context(): unknown; readonly log: Logger },
  ) {}

  /** Joins the instances; takes back the keys whose leases this instance held before a restart. */
  async start(): Promise<void> {
    this.#offChange = this.coordinator.onChange(() => this.#rebalance());
    await this.coordinator.join();
    for (const key of await this.coordinator.leasesHeld()) {
      // the restored checkpoint holds these keys' state: keep the owned ones, hand the others on
      this.#held.set(key, []);
      if (!this.coordinator.owns(key)) this.#release(key);
    }
  }

  /**
   * Undefined to handle the message now, 'skip' when another instance handles it, or a promise
   * after which to handle it again (`again`) while this instance takes its key over.
   */
  admit(env: Envelope, again: Again): undefined | 'skip' | Promise<void> {
    const key = this.partition.key(env);
    if (key === undefined) return undefined;
    const seen = this.#held.get(key);
    if (seen) {
      if (!this.coordinator.healthy) return this.#check(key).then(again);
      if (this.#handedSeen.get(key)?.has(env.id)) return 'skip';
      seen.push(env.id);
      if (seen.length > SEEN_PER_KEY * 1.5) seen.splice(0, seen.length - SEEN_PER_KEY);
      return undefined;
    }
    if (!this.coordinator.owns(key)) {
      const parked = this.#parked.get(key) ?? [];
      parked.push({ id: env.id, again });
      if (parked.length > PARKED_PER_KEY) parked.shift();
      this.#parked.set(key, parked);
      return 'skip';
    }
    let acquiring = this.#acquiring.get(key);
    if (!acquiring) {
      acquiring = this.#acquire(key).finally(() => this.#acquiring.delete(key));
      this.#acquiring.set(key, acquiring);
    }
    return acquiring.then(again);
  }

  /**
   * True when this instance holds the key of `env` (or it has none): what a replay after a crash
   * passes through the machine. Another instance's keys are its own to decide.
   */
  holdsKeyOf(env: Envelope): boolean {
    const key = this.partition.key(env);
    return key === undefined || this.#held.has(key);
  }

  /** Hands every held key over (a graceful stop, after the subscriptions drained). */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#offChange?.();
    for (const key of [...this.#held.keys()]) this.#release(key);
    await Promise.all([...this.#releasing]);
    await this.coordinator.stop();
  }

  async #acquire(key: string): Promise<void> {
    const got = await this.coordinator.acquire(key);
    if (got === undefined) return; // no longer ours: the message is parked when it comes back
    const parked = this.#parked.get(key) ?? [];
    this.#parked.delete(key);
    let replay = parked;
    if (got.kind === 'handed') {
      const { handOver } = got;
      this.host.step(this.partition.adopt(key, handOver.slice));
      const seen = new Set(handOver.seen);
      this.#handedSeen.set(key, seen);
      // what arrived here after the last message the previous owner handled
      const last = parked.findLastIndex((p) => seen.has(p.id));
      replay = last >= 0 ? parked.slice(last + 1) : parked.filter((p) => !seen.has(p.id));
      this.host.log.info({ key, from: handOver.from, replaying: replay.length }, 'took a symbol over with its state');
    }
    this.#held.set(key, []);
    for (const p of replay) await p.again();
    // the membership may have moved on while the lease was taken
    if (!this.coordinator.owns(key)) this.#release(key);
  }

  /** This instance could not refresh its membership for a while: keep a key only if its lease is still ours. */
  #check(key: string): Promise<void> {
    let checking = this.#checking.get(key);
    if (!checking) {
      checking = this.coordinator
        .whenHealthy()
        .then(() => this.coordinator.stillHolds(key))
        .then((ours) => {
          if (ours || !this.#held.has(key)) return;
          this.host.log.error(
            { key },
            'a symbol was taken over while this instance was cut off; its state here is dropped',
          );
          this.#held.delete(key);
          this.#handedSeen.delete(key);
          this.coordinator.forget(key);
          this.host.step(this.partition.drop(key));
        })
        .finally(() => this.#checking.delete(key));
      this.#checking.set(key, checking);
    }
    return checking;
  }

  /** Hands away the keys this instance no longer owns (between messages). */
  #rebalance(): void {
    if (this.#stopping) return;
    for (const key of [...this.#held.keys()]) if (!this.coordinator.owns(key)) this.#release(key);
  }

  #release(key: string): void {
    const seen = this.#held.get(key);
    if (!seen) return;
    const slice = this.partition.slice(this.host.context() as never, key);
    this.#held.delete(key);
    this.#handedSeen.delete(key);
    this.host.step(this.partition.drop(key));
    const releasing = this.coordinator
      .release(key, { slice, seen: seen.slice(-SEEN_PER_KEY) })
      .then(() => this.host.log.info({ key, members: this.coordinator.members }, 'handed a symbol over'))
      .catch((err: unknown) => this.host.log.error({ err, key }, 'could not hand a symbol over'))
      .finally(() => this.#releasing.delete(releasing));
    this.#releasing.add(releasing);
  }
}
