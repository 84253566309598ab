import { randomFillSync } from 'node:crypto';

/** The IdSource port: message ids, correlation ids and client order ids all come from here. */
export interface IdSource {
  next(): string;
}

const B32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32, as ULID specifies

/**
 * Monotonic ULIDs (https://github.com/ulid/spec): 10 characters of millisecond time, 16 of
 * randomness; within one millisecond the random part is incremented, so ids sort in creation
 * order. The time prefix is encoded once per millisecond and randomness is drawn in blocks:
 * ids are made for every message, so this is on the hot path (about 4x faster than the `ulid`
 * package here).
 */
export function ulidSource(now: () => number = Date.now): IdSource {
  const digits = new Uint8Array(16);
  const pool = Buffer.alloc(4096);
  let poolAt = pool.length;
  let lastTime = -1;
  let prefix = '';
  let head = ''; // the first 15 random characters
  const reseed = () => {
    if (poolAt + 16 > pool.length) {
      randomFillSync(pool);
      poolAt = 0;
    }
    for (let i = 0; i < 16; i++) digits[i] = pool[poolAt++]! & 31;
    head = '';
    for (let i = 0; i < 15; i++) head += B32[digits[i]!];
  };
  return {
    next() {
      let t = now();
      if (t < lastTime) t = lastTime; // a clock step back must not break the order
      if (t !== lastTime) {
        lastTime = t;
        let p = '';
        for (let i = 9, x = t; i >= 0; i--, x = Math.floor(x / 32)) p = B32[x % 32] + p;
        prefix = p;
        reseed();
      } else {
        let i = 15;
        while (i >= 0 && digits[i] === 31) digits[i--] = 0;
        if (i < 0) throw new Error('ULID random part overflowed within one millisecond');
        digits[i]!++;
        if (i < 15) {
          head = '';
          for (let k = 0; k < 15; k++) head += B32[digits[k]!];
        }
      }
      return prefix + head + B32[digits[15]!];
    },
  };
}

/**
 * Deterministic ids `<prefix>-<n>` (n in base 36, zero-padded so they sort), for backtests and
 * tests: the same run always produces the same ids.
 */
export function sequentialIds(prefix: string, start = 0): IdSource {
  let n = start;
  return { next: () => `${prefix}-${(++n).toString(36).padStart(8, '0')}` };
}

/**
 * Ids derived from what caused them: the same run, agent, cause and position always give the
 * same id, so a message re-made after a crash, a redelivery or a replay carries the id it had the
 * first time. That is what makes re-publishing harmless: the event store keys on the id,
 * JetStream deduplicates on it (`Nats-Msg-Id`), client order ids are built from it, and a replay
 * can be compared with its recording id for id.
 *
 * The result has ULID form (10 characters of time, 16 of hash) so ids still sort by event time;
 * the 80 hash bits come from three 32-bit multiply-xorshift lanes over the parts (cyrb53's mixing,
 * https://github.com/bryc/code/blob/master/jshash/experimental/cyrb53.js). This is not a
 * cryptographic hash: ids are identities, not secrets.
 */
export function derivedId(time: number, parts: readonly (string | number)[]): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  let h3 = 0x2545f491;
  for (let p = 0; p < parts.length; p++) {
    const s = String(parts[p]);
    for (let i = 0; i < s.length; i++) {
      const ch = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
      h3 = Math.imul(h3 ^ ch, 2246822519);
    }
    // a separator, so ('ab','c') and ('a','bc') differ
    h1 = Math.imul(h1 ^ 0x1f, 2654435761);
    h2 = Math.imul(h2 ^ 0x1f, 1597334677);
    h3 = Math.imul(h3 ^ 0x1f, 2246822519);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h3 ^ (h3 >>> 13), 3266489909);
  h3 = Math.imul(h3 ^ (h3 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  let id = '';
  const t = Math.min(Math.max(Math.floor(time), 0), 2 ** 48 - 1); // ULID time cannot be negative
  for (let i = 9, x = t; i >= 0; i--, x = Math.floor(x / 32)) id = B32[x % 32] + id;
  return id + base32(h1, 6) + base32(h2, 6) + base32(h3, 4);
}

/** The low `chars * 5` bits of `h` in Crockford base32. */
function base32(h: number, chars: number): string {
  let s = '';
  for (let k = 0; k < chars; k++) s += B32[(h >>> (k * 5)) & 31];
  return s;
}
