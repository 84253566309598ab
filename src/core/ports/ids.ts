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
export function derivedId(time: number, parts: readonly (string | number)[], seed: IdSeed = ZERO_SEED): string {
  STATE.set(seed);
  mix(STATE, parts);
  return finish(time);
}

/**
 * `derivedId(time, [a, b, n], seed)` without the array and the number's string: the agent host
 * makes one per output, on the hot path of every backtest.
 */
export function derivedId3(seed: IdSeed, time: number, a: string, b: string, n: number): string {
  STATE.set(seed);
  mixString(STATE, a);
  mixString(STATE, b);
  mixString(STATE, n < 10 ? DIGITS[n]! : String(n));
  return finish(time);
}

const DIGITS = Array.from({ length: 10 }, (_, i) => String(i));

/** Finalises the hash in STATE into an id with `time`'s ULID prefix. */
function finish(time: number): string {
  let h1 = STATE[0]!;
  let h2 = STATE[1]!;
  let h3 = STATE[2]!;
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h3 ^ (h3 >>> 13), 3266489909);
  h3 = Math.imul(h3 ^ (h3 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  // one flat string from char codes: concatenating 26 characters would build a rope of 26
  // nodes per id, which costs memory for as long as the id is kept
  let x = Math.min(Math.max(Math.floor(time), 0), 2 ** 48 - 1); // ULID time cannot be negative
  for (let i = 9; i >= 0; i--, x = Math.floor(x / 32)) CODES[i] = B32_CODES[x % 32]!;
  for (let k = 0; k < 6; k++) CODES[10 + k] = B32_CODES[(h1 >>> (k * 5)) & 31]!;
  for (let k = 0; k < 6; k++) CODES[16 + k] = B32_CODES[(h2 >>> (k * 5)) & 31]!;
  for (let k = 0; k < 4; k++) CODES[22 + k] = B32_CODES[(h3 >>> (k * 5)) & 31]!;
  return String.fromCharCode.apply(null, CODES);
}

/**
 * The hash state after some leading parts: `derivedId(t, rest, idSeed(lead))` equals `derivedId(t, [...lead,
 * ...rest])`.
 */
export type IdSeed = Readonly<Int32Array>;

/** Hashes the parts every id of one agent shares (run, agent) once, not per message. */
export function idSeed(lead: readonly (string | number)[]): IdSeed {
  const state = Int32Array.from(ZERO_SEED);
  mix(state, lead);
  return state;
}

function mix(state: Int32Array, parts: readonly (string | number)[]): void {
  for (let p = 0; p < parts.length; p++) mixString(state, String(parts[p]));
}

/**
 * Three 32-bit multiply-xorshift lanes over the characters of `s`, then a separator, so ('ab','c') and ('a','bc')
 * differ.
 */
function mixString(state: Int32Array, s: string): void {
  let h1 = state[0]!;
  let h2 = state[1]!;
  let h3 = state[2]!;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
    h3 = Math.imul(h3 ^ ch, 2246822519);
  }
  state[0] = Math.imul(h1 ^ 0x1f, 2654435761);
  state[1] = Math.imul(h2 ^ 0x1f, 1597334677);
  state[2] = Math.imul(h3 ^ 0x1f, 2246822519);
}

const ZERO_SEED: IdSeed = Int32Array.of(0xdeadbeef, 0x41c6ce57, 0x2545f491);
const STATE = new Int32Array(3);
const B32_CODES = Array.from(B32, (c) => c.charCodeAt(0));
const CODES: number[] = new Array<number>(26).fill(0);
