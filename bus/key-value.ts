import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { natsKeyValue } from './nats-client.js';

/** One value and its revision (compare-and-set token). */
export interface KvValue {
  readonly value: string;
  readonly revision: number;
  /** When the store wrote it (the server's clock for NATS), epoch ms. */
  readonly created: number;
}

/**
 * A small key-value port for coordination (scale-out leases, membership, handed-over state):
 * NATS JetStream KV in a deployment, an in-process map for tests and the embedded mode.
 */
export interface KeyValueStore {
  get(key: string): Promise<KvValue | undefined>;
  /** Writes only when the key is absent (or deleted); throws when it exists. */
  create(key: string, value: string): Promise<number>;
  /** Writes only when the key is still at `revision`; throws otherwise. */
  update(key: string, value: string, revision: number): Promise<number>;
  put(key: string, value: string): Promise<number>;
  /** Deletes; with `revision`, only when the key is still at it (throws otherwise). */
  delete(key: string, revision?: number): Promise<void>;
  /** The current entries whose keys start with `prefix`. */
  list(prefix: string): Promise<(KvValue & { readonly key: string })[]>;
  /** Every change from now on of keys under `prefix` (value undefined: deleted). Returns the stop function. */
  watch(prefix: string, onChange: (key: string, value: string | undefined) => void): Promise<() => void>;
}

export class KeyExistsError extends Error {
  constructor(key: string) {
    super(`key ${key} exists (or changed) already`);
    this.name = 'KeyExistsError';
  }
}

/** In-process store: several coordinators in one process (tests) share one. */
export class MemoryKeyValueStore implements KeyValueStore {
  readonly #data = new Map<string, KvValue>();
  readonly #watchers = new Set<{ prefix: string; fn: (key: string, value: string | undefined) => void }>();
  #revision = 0;

  get(key: string): Promise<KvValue | undefined> {
    return Promise.resolve(this.#data.get(key));
  }

  create(key: string, value: string): Promise<number> {
    if (this.#data.has(key)) return Promise.reject(new KeyExistsError(key));
    return this.put(key, value);
  }

  update(key: string, value: string, revision: number): Promise<number> {
    if (this.#data.get(key)?.revision !== revision) return Promise.reject(new KeyExistsError(key));
    return this.put(key, value);
  }

  put(key: string, value: string): Promise<number> {
    const revision = ++this.#revision;
    this.#data.set(key, { value, revision, created: Date.now() });
    this.#notify(key, value);
    return Promise.resolve(revision);
  }

  delete(key: string, revision?: number): Promise<void> {
    if (revision !== undefined && this.#data.get(key)?.revision !== revision)
      return Promise.reject(new KeyExistsError(key));
    if (this.#data.delete(key)) this.#notify(key, undefined);
    return Promise.resolve();
  }

  list(prefix: string): Promise<(KvValue & { key: string })[]> {
    return Promise.resolve([...this.#data].filter(([k]) => k.startsWith(prefix)).map(([key, v]) => ({ key, ...v })));
  }

  watch(prefix: string, onChange: (key: string, value: string | undefined) => void): Promise<() => void> {
    const w = { prefix, fn: onChange };
    this.#watchers.add(w);
    return Promise.resolve(() => void this.#watchers.delete(w));
  }

  #notify(key: string, value: string | undefined): void {
    // delivered asynchronously, as a NATS watcher would be
    for (const w of this.#watchers) if (key.startsWith(w.prefix)) queueMicrotask(() => w.fn(key, value));
  }
}

/** JetStream KV bucket `name` (created when missing; one value per key kept). */
export class NatsKeyValueStore implements KeyValueStore {
  private constructor(private readonly kv: KV) {}

  static async open(connection: NatsConnection, bucket: string): Promise<NatsKeyValueStore> {
    const kv = await new (natsKeyValue().Kvm)(connection).create(bucket, { history: 1 });
    return new NatsKeyValueStore(kv);
  }

  async get(key: string): Promise<KvValue | undefined> {
    const e = await this.kv.get(key);
    return e && e.operation === 'PUT'
      ? { value: e.string(), revision: e.revision, created: e.created.getTime() }
      : undefined;
  }

  async create(key: string, value: string): Promise<number> {
    try {
      return await this.kv.create(key, value);
    } catch (err) {
      throw Object.assign(new KeyExistsError(key), { cause: err });
    }
  }

  async update(key: string, value: string, revision: number): Promise<number> {
    try {
      return await this.kv.update(key, value, revision);
    } catch (err) {
      throw Object.assign(new KeyExistsError(key), { cause: err });
    }
  }

  put(key: string, value: string): Promise<number> {
    return this.kv.put(key, value);
  }

  async delete(key: string, revision?: number): Promise<void> {
    try {
      await this.kv.delete(key, revision !== undefined ? { previousSeq: revision } : undefined);
    } catch (err) {
      if (revision === undefined) throw err;
      throw Object.assign(new KeyExistsError(key), { cause: err });
    }
  }

  async list(prefix: string): Promise<(KvValue & { key: string })[]> {
    const keys: string[] = [];
    for await (const k of await this.kv.keys(`${prefix}>`)) keys.push(k);
    const out: (KvValue & { key: string })[] = [];
    for (const key of keys) {
      const v = await this.get(key);
      if (v) out.push({ key, ...v });
    }
    return out;
  }

  async watch(prefix: string, onChange: (key: string, value: string | undefined) => void): Promise<() => void> {
    const iter = await this.kv.watch({ key: `${prefix}>`, include: natsKeyValue().KvWatchInclude.UpdatesOnly });
    void (async () => {
      for await (const e of iter) onChange(e.key, e.operation === 'PUT' ? e.string() : undefined);
    })().catch(() => undefined);
    return () => iter.stop();
  }
}
