import { describe, expect, it } from 'vitest';
import { addPeriod, optimize, parsePeriod, planWindows, runTrial, walkForward } from '../../src/app/research/index.js';
import { orclItems, smaSetup } from '../helpers/research.js';

const items = orclItems();
const setup = smaSetup;
const D = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

describe('walk-forward windows', () => {
  it('rolling windows keep their in-sample length; anchored ones grow from the start; the last ends with the data', () => {
    const y = parsePeriod('in-sample', '2y');
    const o = parsePeriod('out-of-sample', '1y');
    const rolling = planWindows(D('2000-01-01'), D('2004-06-30'), y, o, 'rolling');
    expect(rolling.map((w) => [w.inSample.from, w.inSample.to, w.outOfSample.from, w.outOfSample.to])).toEqual([
      [D('2000-01-01'), D('2002-01-01'), D('2002-01-01'), D('2003-01-01')],
      [D('2001-01-01'), D('2003-01-01'), D('2003-01-01'), D('2004-01-01')],
      [D('2002-01-01'), D('2004-01-01'), D('2004-01-01'), D('2004-06-30') + 1],
    ]);
    const anchored = planWindows(D('2000-01-01'), D('2004-06-30'), y, o, 'anchored');
    expect(anchored.map((w) => w.inSample.from)).toEqual([D('2000-01-01'), D('2000-01-01'), D('2000-01-01')]);
    expect(anchored[2]!.inSample.to).toBe(D('2004-01-01'));
    expect(addPeriod(D('2000-01-31'), { n: 1, unit: 'm' })).toBe(D('2000-02-29'));
    expect(() => parsePeriod('in-sample', '4 years')).toThrow(/--in-sample takes a length such as 90d, 12w, 6m or 2y/);
  });
});

describe('sextant walk-forward', () => {
  it('each window trades the in-sample winner out-of-sample, warmed up, and the joined equity carries over', async () => {
    const points = [
      { fast: 10, slow: 30 },
      { fast: 20, slow: 30 },
      { fast: 15, slow: 40 },
    ];
    const r = await walkForward({
      items,
      setup,
      points,
      params: ['fast', 'slow'],
      objective: 'return',
      threads: 0,
      inSample: parsePeriod('in-sample', '5y'),
      outOfSample: parsePeriod('out-of-sample', '5y'),
      mode: 'rolling',
    });
    expect(r.windows).toHaveLength(3);
    let cash = 100_000;
    for (const w of r.windows) {
      // the winner is the best of an optimization over that in-sample stretch alone
      const study = await optimize({ items, setup, points, objective: 'return', threads: 0, window: w.inSample });
      expect(w.params).toEqual(study.ranked[0]!.params);
      // the out-of-sample run: the winner over the window, warmed up on the in-sample bars, from the carried cash
      const oos = await runTrial(items, setup, {
        params: w.params!,
        window: { warmupFrom: w.inSample.from, from: w.outOfSample.from, to: w.outOfSample.to },
        cash,
      });
      expect(w.outOfSampleStart).toBe(cash);
      expect(w.outOfSampleEnd).toBe(oos.finalValue);
      // no order is decided on the warm-up bars: the first fill is inside the out-of-sample stretch
      expect(Date.parse(oos.fills[0]!.date)).toBeGreaterThanOrEqual(w.outOfSample.from);
      cash = oos.finalValue;
    }
    expect(r.curve[0]!.time).toBeGreaterThanOrEqual(r.windows[0]!.outOfSample.from);
    expect(r.stitched.finalEquity).toBeCloseTo(cash, 1); // the final value is rounded to the cent
    expect(r.stitched.totalReturn).toBeCloseTo(cash / 100_000 - 1, 6);
    expect(r.stitched.closedTrades).toBeGreaterThan(0);
    expect(r.stability.map((s) => s.param)).toEqual(['fast', 'slow']);
    expect(r.stability[0]!.chosen).toEqual(r.windows.map((w) => w.params!.fast));
    expect(r.trials).toBe(3 * 3 + 3);
  });

  it('data shorter than one window is refused with what to change', async () => {
    await expect(
      walkForward({
        items,
        setup,
        points: [{ fast: 10, slow: 30 }],
        params: ['fast'],
        objective: 'return',
        threads: 0,
        inSample: parsePeriod('in-sample', '30y'),
        outOfSample: parsePeriod('out-of-sample', '1y'),
        mode: 'rolling',
      }),
    ).rejects.toThrow(/shorter than one in-sample window plus its out-of-sample window/);
  });
});
