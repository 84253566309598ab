import { defineStrategy, MACD, z } from '../sdk/index.js';

const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * MACD signal-line cross: flat and MACD crosses above its signal line buys `size`; long and a
 * cross below sells all.
 */
export default defineStrategy({
  name: 'macd',
  description: 'Buys when MACD crosses above its signal line while flat; sells everything on the cross back down.',
  params: z
    .object({
      fast: z.number().int().min(1).default(12).describe('fast EMA length, bars'),
      slow: z.number().int().min(2).default(26).describe('slow EMA length, bars'),
      signal: z.number().int().min(1).default(9).describe('signal EMA length, MACD values'),
      size: z.number().positive().default(100).describe('units bought on an entry'),
    })
    .refine((p) => p.fast < p.slow, { message: 'fast must be shorter than slow' }),
  init: (p) => ({ macd: MACD.init(p.fast, p.slow, p.signal), lastSign: 0 as -1 | 0 | 1 }),
  // not prices: a pane of their own under the price chart
  plot: {
    lines: () => [
      { key: 'macd', label: 'MACD', pane: 'own' },
      { key: 'signal', label: 'signal', pane: 'own' },
    ],
    values: (s) => ({ macd: s.macd.value?.macd, signal: s.macd.value?.signal }),
  },
  onBar(ctx, s) {
    const macd = MACD.next(s.macd, ctx.bar.close);
    const v = macd.value;
    if (!v) return { macd, lastSign: s.lastSign };
    const sign = v.histogram > 0 ? 1 : v.histogram < 0 ? -1 : 0;
    // built only when an order goes out (most bars send none)
    const indicators = () => ({ macd: r6(v.macd), signal: r6(v.signal), close: ctx.bar.close });
    if (s.lastSign < 0 && sign > 0 && ctx.position === 0)
      ctx.buy(ctx.params.size, {
        reasons: [`MACD ${r6(v.macd)} crossed above its signal ${r6(v.signal)}`, 'no position held'],
        indicators: indicators(),
      });
    else if (s.lastSign > 0 && sign < 0 && ctx.position > 0)
      ctx.close({
        reasons: [`MACD ${r6(v.macd)} crossed below its signal ${r6(v.signal)}`, `closing long ${ctx.position}`],
        indicators: indicators(),
      });
    return { macd, lastSign: sign === 0 ? s.lastSign : sign };
  },
});
