import { compareSma, defineStrategy, SMA, z } from '../sdk/index.js';

const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * SMA crossover. Cross up: the last non-zero (fast - slow) was negative and fast > slow now
 * (equal averages keep the previous sign; ties are recognised exactly). Flat and a cross up:
 * buy `size`. Long and a cross down: sell the whole position. Never shorts.
 */
export default defineStrategy({
  name: 'sma-cross',
  description: 'Buys when the fast SMA crosses above the slow SMA while flat; sells everything on the cross back down.',
  params: z
    .object({
      fast: z.number().int().min(1).default(10).describe('fast SMA length, bars'),
      slow: z.number().int().min(2).default(30).describe('slow SMA length, bars'),
      size: z.number().positive().default(100).describe('units bought on an entry'),
    })
    .refine((p) => p.fast < p.slow, { message: 'fast must be shorter than slow' }),
  init: (p) => ({ fast: SMA.init(p.fast), slow: SMA.init(p.slow), lastSign: 0 as -1 | 0 | 1 }),
  plot: {
    lines: (p) => [
      { key: 'fast', label: `SMA${p.fast}` },
      { key: 'slow', label: `SMA${p.slow}` },
    ],
    values: (s) => ({ fast: s.fast.value, slow: s.slow.value }),
  },
  onBar(ctx, s) {
    const fast = SMA.next(s.fast, ctx.bar.close);
    const slow = SMA.next(s.slow, ctx.bar.close);
    if (fast.value === undefined || slow.value === undefined) return { fast, slow, lastSign: s.lastSign };
    const sign = compareSma(fast, slow);
    const { fast: f, slow: sl, size } = ctx.params;
    // built only when an order goes out (most bars send none)
    const fv = fast.value;
    const sv = slow.value;
    const indicators = () => ({ [`sma${f}`]: r6(fv), [`sma${sl}`]: r6(sv), close: ctx.bar.close });
    if (s.lastSign < 0 && sign > 0 && ctx.position === 0)
      ctx.buy(size, {
        reasons: [`SMA${f} ${r6(fast.value)} crossed above SMA${sl} ${r6(slow.value)}`, 'no position held'],
        indicators: indicators(),
      });
    else if (s.lastSign > 0 && sign < 0 && ctx.position > 0)
      ctx.close({
        reasons: [`SMA${f} ${r6(fast.value)} crossed below SMA${sl} ${r6(slow.value)}`, `closing long ${ctx.position}`],
        indicators: indicators(),
      });
    return { fast, slow, lastSign: sign === 0 ? s.lastSign : sign };
  },
});
