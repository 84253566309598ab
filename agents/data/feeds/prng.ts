/**
 * Seeded pseudo-random numbers for synthetic data and simulations that must replay exactly:
 * the same seed and key give the same sequence on every run and machine. Never Math.random.
 */

/** Draws the next float in [0, 1). */
export type Prng = () => number;

/** cyrb128 (public domain, bryc): a string to 128 well-mixed bits, the seed of {@link sfc32}. */
function cyrb128(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, public domain) from four 32-bit words. */
export function sfc32(a: number, b: number, c: number, d: number): Prng {
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/**
 * A generator for `seed` and an optional stream `key` (e.g. a symbol), so each key gets
 * its own independent stream from one seed. The first outputs are discarded because sfc32
 * mixes its state in over a dozen steps.
 */
export function seededPrng(seed: number, key = ''): Prng {
  const [a, b, c, d] = cyrb128(`${seed}\u0000${key}`);
  const next = sfc32(a, b, c, d);
  for (let i = 0; i < 15; i++) next();
  return next;
}

/** A standard normal deviate (Box-Muller, one value per two draws; no cached state). */
export function standardNormal(next: Prng): number {
  const u = 1 - next(); // (0, 1]: log(0) would be -Infinity
  const v = next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
