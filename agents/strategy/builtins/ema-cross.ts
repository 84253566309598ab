import { defineStrategy, EMA, z } from '../sdk/index.js';

const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * EMA crossover with an optional bracket. Flat and the fast EMA crosses above the slow one: buy
 * `size` at the next open; with `stopLoss`, once that entry fills a sell stop at (1 - stopLoss) x
 * the fill price works from the following bar (it fills at the stop, or at the open when the bar
 * opens below it), and with `takeProfit` a sell limit at (1 + takeProfit) x the fill price; the
 * two are one-cancels-other. Long and a cross down: cancel them and sell at the next open.
 */
export default defineStrategy({
  name: 'ema-cross',
  description: 'EMA crossover, long only, with an optional stop-loss and take-profit on each entry.',
  params: z
    .object({
      fast: z.number().int().min(1).default(12).describe('fast EMA length, bars'),
      slow: z.number().int().min(2).default(26).describe('slow EMA length, bars'),
      size: z.number().positive().default(100).describe('units bought on an entry'),
      stopLoss: z
        .number()
        .positive()
        .lt(1)
        .optional()
        .describe('stop-loss below the entry fill, a fraction (0.05 = 5%)'),
      takeProfit: z.number().positive().optional().describe('take-profit above the entry fill, a fraction'),
      trailing: z.boolean().default(false).describe('the stop-loss trails the best price since the entry'),
    })
    .refine((p) => p.fast < p.slow, { message: 'fast must be shorter than slow' }),
  init: (p) => ({ fast: EMA.init(p.fast), slow: EMA.init(p.slow), lastSign: 0 as -1 | 0 | 1 }),
  plot: {
    lines: (p) => [
      { key: 'fast', label: `EMA${p.fast}` },
      { key: 'slow', label: `EMA${p.slow}` },
    ],
    values: (s) => ({ fast: s.fast.value, slow: s.slow.value }),
  },
  onBar(ctx, s) {
    const fast = EMA.next(s.fast, ctx.bar.close);
    const slow = EMA.next(s.slow, ctx.bar.close);
    if (fast.value === undefined || slow.value === undefined) return { fast, slow, lastSign: s.lastSign };
    const f = fast.value;
    const sl = slow.value;
    const diff = f - sl;
    const sign = diff > 0 ? 1 : diff < 0 ? -1 : 0;
    const p = ctx.params;
    // built only when an order goes out (most bars send none)
    const indicators = () => ({
      [`ema${p.fast}`]: r6(f),
      [`ema${p.slow}`]: r6(sl),
      close: ctx.bar.close,
    });
    if (s.lastSign < 0 && sign > 0 && ctx.position === 0)
      ctx.buy(p.size, {
        ...(p.stopLoss !== undefined ? { stopLoss: p.stopLoss, trailing: p.trailing } : {}),
        ...(p.takeProfit !== undefined ? { takeProfit: p.takeProfit } : {}),
        reasons: [`EMA${p.fast} ${r6(fast.value)} crossed above EMA${p.slow} ${r6(slow.value)}`, 'no position held'],
        indicators: indicators(),
      });
    else if (s.lastSign > 0 && sign < 0 && ctx.position > 0)
      ctx.close({
        reasons: [
          `EMA${p.fast} ${r6(fast.value)} crossed below EMA${p.slow} ${r6(slow.value)}`,
          `closing long ${ctx.position}`,
        ],
        indicators: indicators(),
      });
    return { fast, slow, lastSign: sign === 0 ? s.lastSign : sign };
  },
});
