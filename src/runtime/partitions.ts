import { createHash } from 'node:crypto';
import type { KeyValueStore } from '../../bus/key-value.js';
import type { Logger } from '../observability/logger.js';

/** What a key's previous owner handed over: the machine's slice and the ids it had handled last. */
export interface HandOver {
  readonly slice: unknown;
  /** Ids of the latest messages of this key the previous owner handled (the new one skips them). */
  readonly seen: readonly string[];
  readonly from: string;
}

export interface PartitionOptions {
  /** The agent whose instances share the keys (`strategy`). */
  readonly agent: string;
  /** This instance (SEXTANT_INSTANCE): unique among the agent's instances. */
  readonly instance: string;
  readonly store: KeyValueStore;
  readonly log: Logger;
  /** How often an instance says it is alive; default 500 ms. */
  readonly refreshMs?: number;
  /** An instance not heard of for this long is gone (its keys move); default 3,000 ms. */
  readonly ttlMs?: number;
  /** Wall time (liveness is about processes, not event time). */
  readonly now?: () => number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** KV keys allow [-/_=.a-zA-Z0-9]; a symbol's other characters are hex-escaped. */
const kvToken = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, (c) => `=${c.charCodeAt(0).toString(16)}`);

/**
 * Shares an agent's keys (symbols) among its live instances so that each key's state lives in
 * exactly one instance at a time, while instances join and leave.
 *
 * - **Membership**: each instance refreshes `member.<agent>.<instance>` in a key-value bucket
 *   (JetStream KV); all watch the bucket. One not heard of for `ttlMs` is gone.
 * - **Ownership**: rendezvous hashing of the key over the live members (every instance computes
 *   the same owner from the same member set; a join or leave moves only the keys it must).
 * - **Exactly one holder**: an owner handles a key only while it holds the key's lease
 *   (`lease.<agent>.<key>`, created or taken over by compare-and-set). A new owner waits until
 *   the previous holder released it (or is gone); the holder releases when it sees it no longer
 *   owns the key, handing over its state slice and the ids it handled last under
 *   `slice.<agent>.<key>`. Messages the new owner received meanwhile wait in its subscription;
 *   those the old owner had already handled are skipped by id, so nothing is handled twice and
 *   nothing is skipped when instances join or leave gracefully.
 */
export class PartitionCoordinator {
  readonly agent: string;
  readonly instance: string;
  readonly #store: KeyValueStore;
  readonly #log: Logger;
  readonly #refreshMs: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** Live members and when they were last heard of. */
  readonly #members = new Map<string, number>();
  /** Members that said they were leaving, and when: they still hold their keys until they release them. */
  readonly #leaving = new Map<string, number>();
  #sorted: string[] = [];
  readonly #listeners = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #unwatch: (() => void) | undefined;
  #joined = false;

  constructor(options: PartitionOptions) {
    this.agent = options.agent;
    this.instance = options.instance;
    this.#store = options.store;
    this.#log = options.log.child({ component: 'partitions' });
    this.#refreshMs = options.refreshMs ?? 500;
    this.#ttlMs = options.ttlMs ?? 3000;
    this.#now = options.now ?? Date.now;
  }

  get #memberPrefix(): string {
    return `member.${kvToken(this.agent)}.`;
  }

  /** The live instances, sorted. */
  get members(): readonly string[] {
    return this.#sorted;
  }

  /** How long a leaving instance keeps handling after announcing it (others must notice first). */
  get graceMs(): number {
    return Math.max(200, this.#refreshMs);
  }

  /** Announces this instance and starts following the others; resolves once it sees itself. */
  async join(): Promise<void> {
    this.#unwatch = await this.#store.watch(this.#memberPrefix, (key, value) => this.#onMember(key.slice(this.#memberPrefix.length), value));
    await this.#refresh();
    this.#timer = setInterval(() => void this.#refresh().catch((err: unknown) => this.#log.warn({ err }, 'could not refresh membership')), this.#refreshMs);
    this.#timer.unref();
    for (let i = 0; i < 200 && !this.#members.has(this.instance); i++) await sleep(10);
    this.#joined = true;
    this.#log.info({ agent: this.agent, instance: this.instance, members: this.#sorted }, 'joined the instances sharing this agent\'s symbols');
  }

  /** Says this instance is leaving: the others take its keys over (after it releases them). */
  async leave(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#joined = false;
    await this.#store.delete(`${this.#memberPrefix}${this.instance}`).catch((err: unknown) => this.#log.warn({ err }, 'could not announce leaving'));
    this.#members.delete(this.instance);
    this.#recompute();
  }

  /** Stops following membership (after `leave`). */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#unwatch?.();
    this.#unwatch = undefined;
  }

  /** Called (between messages) whenever the member set changes. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** The owner of a key among the live members (rendezvous hashing); undefined with none. */
  ownerOf(key: string): string | undefined {
    let best: string | undefined;
    let bestScore = '';
    for (const m of this.#sorted) {
      const score = createHash('sha1').update(m).update('\0').update(key).digest('hex');
      if (score > bestScore) {
        best = m;
        bestScore = score;
      }
    }
    return best;
  }

  /** True when this instance (joined, not leaving) owns the key. */
  owns(key: string): boolean {
    return this.#joined && this.ownerOf(key) === this.instance;
  }

  /**
   * Takes the key's lease once its previous holder has released it (or is gone) and returns
   * what it handed over; undefined when, meanwhile, this instance stopped owning the key.
   */
  async acquire(key: string): Promise<HandOver | 'none' | undefined> {
    const lease = this.#leaseKey(key);
    for (let waited = 0; ; waited++) {
      if (!this.owns(key)) return undefined;
      const held = await this.#store.get(lease);
      const holder = held?.value;
      if (!held || holder === this.instance || !this.#holderAlive(holder!)) {
        try {
          if (held) await this.#store.update(lease, this.instance, held.revision);
          else await this.#store.create(lease, this.instance);
        } catch {
          continue; // someone else changed it meanwhile: look again
        }
        if (held && holder !== this.instance) this.#log.warn({ key, from: holder }, 'took over a key whose holder is gone; it starts from the last state handed over');
        const slice = await this.#store.get(this.#sliceKey(key));
        return slice ? (JSON.parse(slice.value) as HandOver) : 'none';
      }
      if (waited % 100 === 99) this.#log.warn({ key, holder }, 'still waiting for the previous holder to release a key');
      await sleep(10);
    }
  }

  /** Hands a key over: its state slice first, then the lease. */
  async release(key: string, handOver: Omit<HandOver, 'from'>): Promise<void> {
    await this.#store.put(this.#sliceKey(key), JSON.stringify({ ...handOver, from: this.instance } satisfies HandOver));
    const held = await this.#store.get(this.#leaseKey(key));
    if (held?.value === this.instance) await this.#store.delete(this.#leaseKey(key));
  }

  /** A member, or one that left gracefully less than `ttlMs` ago (it releases its keys itself). */
  #holderAlive(holder: string): boolean {
    if (this.#members.has(holder)) return true;
    const left = this.#leaving.get(holder);
    return left !== undefined && this.#now() - left < this.#ttlMs;
  }

  #leaseKey(key: string): string {
    return `lease.${kvToken(this.agent)}.${kvToken(key)}`;
  }

  #sliceKey(key: string): string {
    return `slice.${kvToken(this.agent)}.${kvToken(key)}`;
  }

  async #refresh(): Promise<void> {
    await this.#store.put(`${this.#memberPrefix}${this.instance}`, JSON.stringify({ at: this.#now() }));
    // members not heard of within the ttl are gone (a crashed process never deletes its key)
    const now = this.#now();
    let changed = false;
    for (const [m, seen] of this.#members) {
      if (m !== this.instance && now - seen > this.#ttlMs) {
        this.#members.delete(m);
        changed = true;
        this.#log.warn({ member: m, silentMs: now - seen }, 'an instance stopped refreshing; its keys move to the others');
        void this.#store.delete(`${this.#memberPrefix}${m}`).catch(() => undefined);
      }
    }
    if (changed) this.#recompute();
  }

  #onMember(member: string, value: string | undefined): void {
    const had = this.#members.has(member);
    if (value === undefined) {
      if (!had) return;
      this.#members.delete(member);
      this.#leaving.set(member, this.#now());
    } else {
      let at = this.#now();
      try {
        at = (JSON.parse(value) as { at: number }).at;
      } catch {
        // a value of another shape: heard of now
      }
      // a key left behind by a crashed process long ago is not a member
      if (!had && this.#now() - at > this.#ttlMs) return;
      // heard of now (local time: hosts' clocks may differ)
      this.#members.set(member, this.#now());
      this.#leaving.delete(member);
      if (had) return;
    }
    this.#recompute();
  }

  #recompute(): void {
    const next = [...this.#members.keys()].sort();
    if (next.join('\0') === this.#sorted.join('\0')) return;
    this.#sorted = next;
    this.#log.info({ members: next }, 'instances sharing the symbols changed');
    for (const l of this.#listeners) l();
  }
}
