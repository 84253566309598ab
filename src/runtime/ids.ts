import { monotonicFactory } from 'ulid';

/** The IdSource port: message ids, correlation ids and client order ids all come from here. */
export interface IdSource {
  next(): string;
}

/** Lexicographically sortable, monotonic ULIDs for live runs. */
export function ulidSource(): IdSource {
  const next = monotonicFactory();
  return { next: () => next() };
}

/**
 * Deterministic ids `<prefix>-<n>` (n in base 36, zero-padded so they sort), for backtests and
 * tests: the same run always produces the same ids.
 */
export function sequentialIds(prefix: string, start = 0): IdSource {
  let n = start;
  return { next: () => `${prefix}-${(++n).toString(36).padStart(8, '0')}` };
}
