import { createHash, randomUUID } from 'node:crypto';
import { KeyExistsError, type KeyValueStore } from '../../bus/index.js';
import type { Logger } from '../core/index.js';

/** What a key's previous owner handed over: the machine's slice and the ids it handled last. */
export interface HandOver {
  readonly slice: unknown;
  /** Ids of the latest messages of this key the previous owner handled, oldest first. */
  readonly seen: readonly string[];
  readonly from: string;
}

/** The outcome of taking a key: its hand-over, nothing handed over, or already this instance's. */
export type Acquired =
  { readonly kind: 'handed'; readonly handOver: HandOver } | { readonly kind: 'fresh' } | { readonly kind: 'mine' };

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

interface MemberValue {
  readonly nonce: string;
  /** Set by an instance that is leaving gracefully: it still holds its keys until it releases them. */
  readonly leaving?: boolean;
}

interface LeaseValue {
  readonly holder: string;
  readonly key: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** KV keys allow [-/_=.a-zA-Z0-9]; a symbol's other characters are hex-escaped. */
const kvToken = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, (c) => `=${c.charCodeAt(0).toString(16)}`);
const parse = <T>(value: string): T | undefined => {
  try {
    return JSON.parse(value) as T;
  } catch {
    return undefined;
  }
};

/**
 * Shares an agent's keys (symbols) among its live instances so that each key's state lives in
 * exactly one instance at a time, while instances join and leave.
 *
 * - **Membership**: each instance refreshes `member.<agent>.<instance>` in a key-value bucket
 *   (JetStream KV) and watches the others. One not heard of for `ttlMs` is gone (crashed); one
 *   leaving gracefully marks itself `leaving` first, and keeps its keys until it releases them.
 *   A second process under a live instance's name is refused.
 * - **Ownership**: rendezvous hashing of the key over the live members (every instance computes
 *   the same owner from the same member set; a join or leave moves only the keys it must).
 * - **Exactly one holder**: an owner handles a key only while it holds the key's lease
 *   (`lease.<agent>.<key>`, taken by compare-and-set). A new owner waits until the previous
 *   holder released it (or is gone); the holder releases when it sees it no longer owns the key,
 *   handing over its state slice and the ids it handled last (`slice.<agent>.<key>`, consumed
 *   by the taker). An instance whose own refreshes fail stops handling (`healthy`) before the
 *   others may take its keys, and checks its leases before it resumes.
 */
export class PartitionCoordinator {
  readonly agent: string;
  readonly instance: string;
  readonly #store: KeyValueStore;
  readonly #log: Logger;
  readonly #refreshMs: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #nonce = randomUUID();
  /** Live members and when (local time) they were last heard of. */
  readonly #members = new Map<string, number>();
  /** Members leaving gracefully, and since when: they still hold their keys until they release them. */
  readonly #leaving = new Map<string, number>();
  #sorted: string[] = [];
  /** Revisions of the leases this instance holds. */
  readonly #leases = new Map<string, number>();
  readonly #listeners = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #unwatch: (() => void) | undefined;
  #joined = false;
  #stopped = false;
  #lastRefreshOk = 0;
  #healthWaiters: (() => void)[] = [];

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

  get #leasePrefix(): string {
    return `lease.${kvToken(this.agent)}.`;
  }

  /** The live instances, sorted. */
  get members(): readonly string[] {
    return this.#sorted;
  }

  /** How long a leaving instance keeps handling after announcing it (others must notice first). */
  get graceMs(): number {
    return Math.max(200, this.#refreshMs);
  }

  /**
   * False when this instance's own refreshes have been failing for most of the ttl: the others
   * may soon count it gone and take its keys, so it must not handle them meanwhile.
   */
  get healthy(): boolean {
    return this.#now() - this.#lastRefreshOk < this.#ttlMs * 0.6;
  }

  /** Resolves once `healthy` again. */
  whenHealthy(): Promise<void> {
    return this.healthy ? Promise.resolve() : new Promise((resolve) => this.#healthWaiters.push(resolve));
  }

  /**
   * Announces this instance and starts following the others. It counts as a member (and owns
   * keys) as soon as it has written its own entry, having read the live members first.
   */
  async join(): Promise<void> {
    const mine = `${this.#memberPrefix}${kvToken(this.instance)}`;
    // a process of the same name still refreshing means two instances share a name
    for (let waited = 0; ; waited += this.#refreshMs) {
      const other = await this.#store.get(mine);
      const value = other ? parse<MemberValue>(other.value) : undefined;
      if (!other || value?.nonce === this.#nonce || value?.leaving) break;
      const before = other.revision;
      if (waited > this.#ttlMs)
        throw new Error(
          `SEXTANT_INSTANCE=${this.instance} is already running for the ${this.agent} agent (another process keeps refreshing it); give every instance its own name`,
        );
      await sleep(this.#refreshMs);
      const again = await this.#store.get(mine);
      if (!again || again.revision === before) break; // a crashed process's entry: not refreshed
    }
    const written = await this.#store.put(mine, JSON.stringify({ nonce: this.#nonce } satisfies MemberValue));
    this.#lastRefreshOk = this.#now();
    const entries = await this.#store.list(this.#memberPrefix);
    const own = entries.find((e) => e.revision === written);
    const serverNow = own?.created ?? Date.now();
    for (const e of entries) {
      const member = e.key.slice(this.#memberPrefix.length);
      const value = parse<MemberValue>(e.value);
      // entries not refreshed within the ttl (by the store's clock) are crashed processes
      if (member !== kvToken(this.instance) && serverNow - e.created > this.#ttlMs) continue;
      if (value?.leaving) this.#leaving.set(member, this.#now());
      else this.#members.set(member, this.#now());
    }
    this.#members.set(kvToken(this.instance), this.#now());
    this.#joined = true;
    this.#recompute();
    this.#unwatch = await this.#store.watch(this.#memberPrefix, (key, value) =>
      this.#onMember(key.slice(this.#memberPrefix.length), value),
    );
    this.#timer = setInterval(() => void this.#refresh(), this.#refreshMs);
    this.#timer.unref();
    this.#log.info(
      { agent: this.agent, instance: this.instance, members: this.#sorted },
      "joined the instances sharing this agent's symbols",
    );
  }

  /** Says this instance is leaving: the others take its keys over once it has released them. */
  async leave(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#joined = false;
    await this.#store
      .put(
        `${this.#memberPrefix}${kvToken(this.instance)}`,
        JSON.stringify({ nonce: this.#nonce, leaving: true } satisfies MemberValue),
      )
      .catch((err: unknown) => this.#log.warn({ err }, 'could not announce leaving'));
    this.#members.delete(kvToken(this.instance));
    this.#recompute();
  }

  /** Stops following membership and removes this instance's entry (after `leave` and the releases). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#unwatch?.();
    this.#unwatch = undefined;
    await this.#store.delete(`${this.#memberPrefix}${kvToken(this.instance)}`).catch(() => undefined);
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
    return this.#joined && this.ownerOf(key) === kvToken(this.instance);
  }

  /** The keys whose leases name this instance (held before a restart, say). */
  async leasesHeld(): Promise<string[]> {
    const out: string[] = [];
    for (const e of await this.#store.list(this.#leasePrefix)) {
      const lease = parse<LeaseValue>(e.value);
      if (lease?.holder !== this.instance) continue;
      this.#leases.set(lease.key, e.revision);
      out.push(lease.key);
    }
    return out;
  }

  /**
   * Takes the key's lease once its previous holder has released it (or is gone) and returns
   * what it handed over; undefined when, meanwhile, this instance stopped owning the key.
   */
  async acquire(key: string): Promise<Acquired | undefined> {
    const lease = this.#leaseKey(key);
    for (let waited = 0; !this.#stopped; waited++) {
      if (!this.owns(key)) return undefined;
      const held = await this.#store.get(lease);
      const holder = held ? parse<LeaseValue>(held.value)?.holder : undefined;
      if (held && holder === this.instance) {
        // this instance's from before a restart: its restored checkpoint is newer than any hand-over
        this.#leases.set(key, held.revision);
        await this.#store.delete(this.#sliceKey(key)).catch(() => undefined);
        return { kind: 'mine' };
      }
      if (!held || !this.#holderAlive(kvToken(holder ?? ''))) {
        const value = JSON.stringify({ holder: this.instance, key } satisfies LeaseValue);
        try {
          this.#leases.set(
            key,
            held ? await this.#store.update(lease, value, held.revision) : await this.#store.create(lease, value),
          );
        } catch {
          continue; // someone else changed it meanwhile: look again
        }
        if (held)
          this.#log.warn(
            { key, from: holder },
            'took a symbol over whose holder is gone; it starts from the last state handed over',
          );
        const slice = await this.#store.get(this.#sliceKey(key));
        if (!slice) return { kind: 'fresh' };
        // a hand-over is taken once: a later restart of this instance must not read it again
        await this.#store.delete(this.#sliceKey(key), slice.revision).catch(() => undefined);
        const handOver = parse<HandOver>(slice.value);
        return handOver ? { kind: 'handed', handOver } : { kind: 'fresh' };
      }
      if (waited % 200 === 199)
        this.#log.warn({ key, holder }, 'still waiting for the previous holder to release a symbol');
      await sleep(10);
    }
    return undefined;
  }

  /** True while this instance still holds the key's lease (nobody took it over meanwhile). */
  async stillHolds(key: string): Promise<boolean> {
    const held = await this.#store.get(this.#leaseKey(key));
    return (
      held !== undefined &&
      held.revision === this.#leases.get(key) &&
      parse<LeaseValue>(held.value)?.holder === this.instance
    );
  }

  /** Forgets a lease this instance lost (taken over while it was cut off). */
  forget(key: string): void {
    this.#leases.delete(key);
  }

  /**
   * Hands a key over: its state slice first, then the lease (only the revision this instance
   * holds). Retried until done, unless someone else holds the lease by then.
   */
  async release(key: string, handOver: Omit<HandOver, 'from'>): Promise<void> {
    const revision = this.#leases.get(key);
    for (let attempt = 0; ; attempt++) {
      try {
        if (revision === undefined || !(await this.stillHolds(key))) return;
        await this.#store.put(
          this.#sliceKey(key),
          JSON.stringify({ ...handOver, from: this.instance } satisfies HandOver),
        );
        await this.#store.delete(this.#leaseKey(key), revision);
        this.#leases.delete(key);
        return;
      } catch (err) {
        if (err instanceof KeyExistsError) return; // taken over meanwhile: not ours to release
        this.#log.warn({ err, key, attempt }, 'could not hand a symbol over yet; retrying');
        await sleep(Math.min(2000, 50 * 2 ** attempt));
      }
    }
  }

  /** A member, or one leaving gracefully less than `ttlMs` ago (it releases its keys itself). */
  #holderAlive(holder: string): boolean {
    if (this.#members.has(holder)) return true;
    const left = this.#leaving.get(holder);
    return left !== undefined && this.#now() - left < this.#ttlMs;
  }

  #leaseKey(key: string): string {
    return `${this.#leasePrefix}${kvToken(key)}`;
  }

  #sliceKey(key: string): string {
    return `slice.${kvToken(this.agent)}.${kvToken(key)}`;
  }

  async #refresh(): Promise<void> {
    try {
      await this.#store.put(
        `${this.#memberPrefix}${kvToken(this.instance)}`,
        JSON.stringify({ nonce: this.#nonce } satisfies MemberValue),
      );
      this.#lastRefreshOk = this.#now();
      for (const wake of this.#healthWaiters.splice(0)) wake();
    } catch (err) {
      this.#log.warn({ err, healthy: this.healthy }, 'could not refresh membership');
    }
    // members not heard of within the ttl are gone (a crashed process never deletes its key)
    const now = this.#now();
    let changed = false;
    for (const [m, seen] of this.#members) {
      if (m !== kvToken(this.instance) && now - seen > this.#ttlMs) {
        this.#members.delete(m);
        changed = true;
        this.#log.warn(
          { member: m, silentMs: now - seen },
          'an instance stopped refreshing; its symbols move to the others',
        );
        void this.#store.delete(`${this.#memberPrefix}${m}`).catch(() => undefined);
      }
    }
    if (changed) this.#recompute();
  }

  #onMember(member: string, value: string | undefined): void {
    if (member === kvToken(this.instance)) return; // this instance's own view is kept locally
    if (value === undefined) {
      // a delete: the member is gone (after its releases, or timed out by someone)
      this.#leaving.delete(member);
      if (this.#members.delete(member)) this.#recompute();
      return;
    }
    if (parse<MemberValue>(value)?.leaving) {
      this.#leaving.set(member, this.#now());
      if (this.#members.delete(member)) this.#recompute();
      return;
    }
    const had = this.#members.has(member);
    this.#members.set(member, this.#now()); // heard of now (local time: hosts' clocks may differ)
    this.#leaving.delete(member);
    if (!had) this.#recompute();
  }

  #recompute(): void {
    const next = [...this.#members.keys()].sort();
    if (next.join('\0') === this.#sorted.join('\0')) return;
    this.#sorted = next;
    this.#log.info({ members: next }, 'instances sharing the symbols changed');
    for (const l of this.#listeners) l();
  }
}
