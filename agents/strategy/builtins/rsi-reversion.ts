import { defineStrategy, RSI, z } from '../sdk/index.js';

const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

/** RSI mean reversion: flat and RSI below `oversold` buys `size`; long and RSI above `overbought` sells all. */
export default defineStrategy({
  name: 'rsi-reversion',
  description:
    "Buys when Wilder's RSI falls below oversold while flat; sells everything when it rises above overbought.",
  params: z
    .object({
      period: z.number().int().min(2).default(14).describe('RSI period, bars'),
      oversold: z.number().min(0).max(100).default(30).describe('buy below this RSI'),
      overbought: z.number().min(0).max(100).default(70).describe('sell above this RSI'),
      size: z.number().positive().default(100).describe('units bought on an entry'),
    })
    .refine((p) => p.oversold < p.overbought, { message: 'oversold must be below overbought' }),
  init: (p) => RSI.init(p.period),
  plot: {
    lines: (p) => [{ key: 'rsi', label: `RSI${p.period}`, pane: 'own' }],
    values: (s) => ({ rsi: s.value }),
  },
  onBar(ctx, s) {
    const rsi = RSI.next(s, ctx.bar.close);
    if (rsi.value === undefined) return rsi;
    const value = rsi.value;
    const { period, oversold, overbought, size } = ctx.params;
    // built only when an order goes out (most bars send none)
    const indicators = () => ({ [`rsi${period}`]: r6(value), close: ctx.bar.close });
    if (rsi.value < oversold && ctx.position === 0)
      ctx.buy(size, {
        reasons: [`RSI${period} ${r6(rsi.value)} below ${oversold} (oversold)`, 'no position held'],
        indicators: indicators(),
      });
    else if (rsi.value > overbought && ctx.position > 0)
      ctx.close({
        reasons: [`RSI${period} ${r6(rsi.value)} above ${overbought} (overbought)`, `closing long ${ctx.position}`],
        indicators: indicators(),
      });
    return rsi;
  },
});
