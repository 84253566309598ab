import { FeedOptionsError, type FeedItem } from './feed.js';

/**
 * What a live feed hands the pump, and how it waits: items queued as the venue sends them, read
 * once through an async iterator that ends when the feed closes and throws when it failed; sleeps
 * (backoff, polling) that a close cuts short. Shared by the ccxt and Alpaca feeds.
 */
export class LiveOutlet {
  readonly #queue: FeedItem[] = [];
  readonly #sleepers = new Set<() => void>();
  #wake: (() => void) | undefined;
  #failure: Error | undefined;
  #closed = false;
  #started = false;

  constructor(private readonly name: string) {}

  get closed(): boolean {
    return this.#closed;
  }

  push(item: FeedItem): void {
    this.#queue.push(item);
    this.#wake?.();
  }

  /** The feed cannot go on: the reader gets `err` once the queued items are read. */
  fail(err: unknown): void {
    if (this.#closed) return;
    this.#failure = err instanceof Error ? err : new Error(String(err));
    this.#wake?.();
  }

  /** The items in order: `start` runs first (warm-up, subscriptions); a second read is refused. */
  async *read(start: () => Promise<void>): AsyncGenerator<FeedItem> {
    if (this.#started) throw new FeedOptionsError(`${this.name}: a live feed is read once`);
    this.#started = true;
    await start();
    for (;;) {
      const item = this.#queue.shift();
      if (item) {
        yield item;
        continue;
      }
      if (this.#failure) throw this.#failure;
      if (this.#closed) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }

  /** Ends the reading and every sleep; true the first time. */
  close(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    for (const wake of this.#sleepers) wake();
    this.#wake?.();
    return true;
  }

  /** Waits `ms`, or until the feed closes. */
  sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.#sleepers.add(done);
    });
  }
}
