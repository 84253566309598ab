import { oncePerId, visibleTo, type Bus, type Envelope, type Subscription } from '../../src/core/index.js';
import { tapSextantSubjects } from '../../src/infra/recording/index.js';
import { ApiError } from './errors.js';

/**
 * The bus's live messages for a reader: `GET /api/v1/stream` (server-sent events) and the GraphQL
 * subscriptions read the same filtered iterator, and count against the same cap per token.
 */

/** Which live events a reader wants: types (`order.*` names every type that starts with `order.`) and a symbol. */
export interface StreamFilter {
  readonly types?: readonly string[];
  readonly symbol?: string;
  /** A person who sees the account's events and their own conversations only (absent: an admin, all). */
  readonly visibleTo?: string;
}

/** `order.intent, order.*` (the REST query's form) as a list of types. */
export const typeList = (types: string | undefined): string[] | undefined => types?.split(',').map((t) => t.trim());

export function matches(filter: StreamFilter, env: Envelope): boolean {
  const { types, symbol } = filter;
  if (types && !types.some((t) => (t.endsWith('.*') ? env.type.startsWith(t.slice(0, -1)) : t === env.type)))
    return false;
  if (symbol !== undefined && (env.payload as { symbol?: unknown } | null)?.symbol !== symbol) return false;
  return filter.visibleTo === undefined || visibleTo(env, filter.visibleTo); // other people's conversations
}

export const MAX_STREAMS_PER_TOKEN = 4;

/** Open live streams per token (event streams and GraphQL subscriptions together), capped. */
export class StreamSlots {
  readonly #open = new Map<string, number>();
  constructor(readonly max = MAX_STREAMS_PER_TOKEN) {}

  /** Takes a slot for the token named `token`, or refuses (429); the function returned gives it back (once). */
  take(token: string): () => void {
    const n = this.#open.get(token) ?? 0;
    if (n >= this.max) throw new ApiError(429, 'too_many_streams', `at most ${this.max} open event streams per token`);
    this.#open.set(token, n + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const left = (this.#open.get(token) ?? 1) - 1;
      if (left > 0) this.#open.set(token, left);
      else this.#open.delete(token);
    };
  }
}

/** A reader fell so far behind that its stream was cut off. */
export class StreamTooSlowError extends Error {
  readonly code = 'too_slow';
  readonly retryable = true;
  constructor(maxPending: number) {
    super(`the stream fell more than ${maxPending.toLocaleString('en-US')} events behind; reconnect`);
    this.name = 'StreamTooSlowError';
  }
}

export interface LiveEventsOptions {
  /** Names the bus subscriptions (metrics, logs). */
  readonly name: string;
  /** Events held for a slow reader before it is cut off. */
  readonly maxPending?: number;
  /** Runs once when the iterator ends (returned, cut off): gives back a stream slot. */
  readonly onClose?: () => void;
}

/**
 * The live messages that pass `filter`, from the moment it is made, as an async iterator. A slow
 * reader is cut off rather than buffered without bound: `next()` rejects with StreamTooSlowError
 * once more than `maxPending` events wait. `return()` unsubscribes and ends a waiting `next()`.
 */
export class LiveEvents implements AsyncIterableIterator<Envelope> {
  readonly #subs: Subscription[];
  readonly #maxPending: number;
  readonly #onClose: (() => void) | undefined;
  #pending: Envelope[] = [];
  #reading: Envelope[] = [];
  #at = 0;
  #wake: (() => void) | undefined;
  #overflow = false;
  #closed = false;

  constructor(bus: Bus, filter: StreamFilter, options: LiveEventsOptions) {
    this.#maxPending = options.maxPending ?? 10_000;
    this.#onClose = options.onClose;
    // a message published again with its id (a replay after a crash) is shown once
    this.#subs = tapSextantSubjects(
      bus,
      oncePerId((env: Envelope) => {
        if (this.#closed || !matches(filter, env)) return;
        if (this.#pending.length >= this.#maxPending) this.#overflow = true;
        else this.#pending.push(env);
        this.#wake?.();
      }),
      options.name,
    );
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Envelope>> {
    while (!this.#closed) {
      if (this.#overflow) {
        await this.return();
        throw new StreamTooSlowError(this.#maxPending);
      }
      if (this.#at < this.#reading.length) return { value: this.#reading[this.#at++]!, done: false };
      if (this.#pending.length > 0) {
        // swap the buffers: what arrived is read in order, what arrives next goes to an empty one
        [this.#reading, this.#pending, this.#at] = [this.#pending, [], 0];
        continue;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
    return { value: undefined, done: true };
  }

  async return(): Promise<IteratorResult<Envelope>> {
    if (!this.#closed) {
      this.#closed = true;
      this.#pending = [];
      this.#reading = [];
      this.#wake?.();
      this.#onClose?.();
      await Promise.all(this.#subs.map((sub) => sub.drain().catch(() => undefined)));
    }
    return { value: undefined, done: true };
  }
}
