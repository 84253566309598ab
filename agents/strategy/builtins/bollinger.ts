import { BollingerBands, defineStrategy, z } from '../sdk/index.js';

const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * Bollinger mean reversion: flat and the close below the lower band buys `size`; long and the
 * close above the middle band sells everything. Bands: SMA(period) +/- stddev x the population
 * standard deviation.
 */
export default defineStrategy({
  name: 'bollinger',
  description:
    'Buys a close below the lower Bollinger band while flat; sells everything on a close above the middle band.',
  params: z.object({
    period: z.number().int().min(2).default(20).describe('band length, bars'),
    stddev: z.number().positive().default(2).describe('band width, standard deviations'),
    size: z.number().positive().default(100).describe('units bought on an entry'),
  }),
  init: (p) => BollingerBands.init(p.period, p.stddev),
  plot: {
    lines: (p) => [
      { key: 'upper', label: `BB${p.period} upper` },
      { key: 'middle', label: `BB${p.period} middle` },
      { key: 'lower', label: `BB${p.period} lower` },
    ],
    values: (s) => ({ upper: s.value?.upper, middle: s.value?.middle, lower: s.value?.lower }),
  },
  onBar(ctx, s) {
    const bb = BollingerBands.next(s, ctx.bar.close);
    const band = bb.value;
    if (!band) return bb;
    const close = ctx.bar.close;
    // built only when an order goes out (most bars send none)
    const indicators = () => ({ upper: r6(band.upper), middle: r6(band.middle), lower: r6(band.lower), close });
    if (ctx.position === 0 && close < band.lower)
      ctx.buy(ctx.params.size, {
        reasons: [`close ${close} below the lower band ${r6(band.lower)}`, 'no position held'],
        indicators: indicators(),
      });
    else if (ctx.position > 0 && close > band.middle)
      ctx.close({
        reasons: [`close ${close} above the middle band ${r6(band.middle)}`, `closing long ${ctx.position}`],
        indicators: indicators(),
      });
    return bb;
  },
});
