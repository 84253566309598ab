import { defineStrategy, DonchianChannels, z } from '../sdk/index.js';

/**
 * Donchian breakout (the turtles' rule): flat and the close above the highest high of the
 * previous `period` bars buys `size`; long and the close below the lowest low of the previous
 * `exit` bars sells everything.
 */
export default defineStrategy({
  name: 'donchian-breakout',
  description:
    'Buys a close above the highest high of the previous N bars; sells on a close below the lowest low of the previous M.',
  params: z.object({
    period: z.number().int().min(1).default(20).describe('entry channel, bars'),
    exit: z.number().int().min(1).default(10).describe('exit channel, bars'),
    size: z.number().positive().default(100).describe('units bought on an entry'),
  }),
  init: (p) => ({ entry: DonchianChannels.init(p.period), exit: DonchianChannels.init(p.exit) }),
  // each channel up to and including the bar: the next bar's close is compared with it
  plot: {
    lines: (p) => [
      { key: 'high', label: `${p.period}-bar high` },
      { key: 'low', label: `${p.exit}-bar low` },
    ],
    values: (s) => ({ high: s.entry.value?.upper, low: s.exit.value?.lower }),
  },
  onBar(ctx, s) {
    const { bar, params: p } = ctx;
    const high = s.entry.value?.upper;
    const low = s.exit.value?.lower;
    if (high !== undefined && ctx.position === 0 && bar.close > high)
      ctx.buy(p.size, {
        reasons: [`close ${bar.close} broke above the ${p.period}-bar high ${high}`, 'no position held'],
        indicators: { [`high${p.period}`]: high, close: bar.close },
      });
    else if (low !== undefined && ctx.position > 0 && bar.close < low)
      ctx.close({
        reasons: [`close ${bar.close} broke below the ${p.exit}-bar low ${low}`, `closing long ${ctx.position}`],
        indicators: { [`low${p.exit}`]: low, close: bar.close },
      });
    return { entry: DonchianChannels.next(s.entry, bar), exit: DonchianChannels.next(s.exit, bar) };
  },
});
