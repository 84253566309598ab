/**
 * A mutable memory of recent ids, for services outside machines that must recognise a repeated
 * message (the recorder, the embedded event log). Two generations of sets: ids go into the
 * current one; when it holds `size` ids it becomes the previous one and the one before is
 * dropped whole. So it remembers at least the last `size` ids and at most `2 * size`, without a
 * delete per add (the event log adds one id per message). Machines use the immutable RecentIds,
 * which lives in their snapshots.
 */
export class IdWindow {
  #current = new Set<string>();
  #previous = new Set<string>();

  constructor(private readonly size: number) {}

  has(id: string): boolean {
    return this.#current.has(id) || this.#previous.has(id);
  }

  /** Remembers `id`; false when it was already remembered. */
  add(id: string): boolean {
    if (this.has(id)) return false;
    if (this.#current.size >= this.size) {
      this.#previous = this.#current;
      this.#current = new Set();
    }
    this.#current.add(id);
    return true;
  }
}

/**
 * `handler`, called once per message id: a copy published again with the same id (what a replay
 * after a crash publishes again, a redelivery) is passed over. For consumers that show or send
 * what they see (the live event stream, notifications, the terminal): the machines keep their own
 * id windows in their snapshots. Remembers at least the last `size` ids.
 */
export function oncePerId<E extends { readonly id: string }, A extends unknown[]>(
  handler: (env: E, ...rest: A) => void,
  size = 10_000,
): (env: E, ...rest: A) => void {
  const seen = new IdWindow(size);
  return (env, ...rest) => {
    if (seen.add(env.id)) handler(env, ...rest);
  };
}
