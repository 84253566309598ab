import { z } from 'zod';

/**
 * The documented bounds of the numbers people send (the HTTP API, the commands): a quantity or a
 * price is a normal double from 1e-12 to 1e12. Anything smaller (5e-324, a denormal) or larger
 * (2^53 and beyond, where whole numbers stop being exact) is refused with the field named, before
 * it reaches the bus. Whether an order's quantity suits its symbol (lot size, minimum, tick) is
 * risk's to say, with a reason (agents/risk/checks.ts).
 */
export const NUMBER_BOUNDS = { min: 1e-12, max: 1e12 } as const;

/** A number of one kind (`quantity`, `price`) within NUMBER_BOUNDS: positive, then within the bounds. */
const bounded = (what: string) =>
  z
    .number()
    .finite()
    .positive({ message: `a positive ${what}`, abort: true })
    .min(NUMBER_BOUNDS.min, `a ${what} of at least ${NUMBER_BOUNDS.min}`)
    .max(NUMBER_BOUNDS.max, `a ${what} of at most ${NUMBER_BOUNDS.max}`);

/** A quantity within NUMBER_BOUNDS. */
export const boundedQty = bounded('quantity');
/** A price within NUMBER_BOUNDS. */
export const boundedPrice = bounded('price');

/** The smallest normal double (2^-1022): below it a number has lost precision (a denormal). */
const MIN_NORMAL = 2 ** -1022;

/**
 * Why a number is unsafe to act on, or undefined when it is safe: not finite, a denormal, or
 * beyond 2^53 in size (zero is safe).
 */
export function unsafeNumber(x: number): string | undefined {
  if (!Number.isFinite(x)) return 'not a finite number';
  if (x !== 0 && Math.abs(x) < MIN_NORMAL) return `${x} is too small to be exact (a denormal number)`;
  if (Math.abs(x) > 2 ** 53) return `${x} is beyond 2^53, where numbers stop being exact`;
  return undefined;
}

/** Adds an issue naming the field for every unsafe number in an object (one level: limits and their records). */
export function refuseUnsafeNumbers(value: unknown, ctx: z.RefinementCtx, path: (string | number)[] = []): void {
  if (typeof value === 'number') {
    const why = unsafeNumber(value);
    if (why) ctx.addIssue({ code: 'custom', message: `an unsafe number: ${why}`, path });
  } else if (Array.isArray(value)) value.forEach((v, i) => refuseUnsafeNumbers(v, ctx, [...path, i]));
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) refuseUnsafeNumbers(v, ctx, [...path, k]);
}
