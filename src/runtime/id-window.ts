/**
 * A mutable memory of the last `size` ids (a set plus a ring), for services outside machines
 * that must recognise a repeated message (the recorder, the embedded event log). Machines use
 * the immutable RecentIds, which lives in their snapshots.
 */
export class IdWindow {
  readonly #ids = new Set<string>();
  readonly #ring: string[] = [];
  #at = 0;

  constructor(private readonly size: number) {}

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Remembers `id`; false when it was already remembered. */
  add(id: string): boolean {
    if (this.#ids.has(id)) return false;
    this.#ids.add(id);
    if (this.#ring.length < this.size) this.#ring.push(id);
    else {
      this.#ids.delete(this.#ring[this.#at]!);
      this.#ring[this.#at] = id;
      this.#at = (this.#at + 1) % this.size;
    }
    return true;
  }
}
