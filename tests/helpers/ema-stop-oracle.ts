import { csvFeed } from '../../agents/data/feeds/csv-feed.js';

type Fill = { date: string; side: 'buy' | 'sell'; size: number; price: number; kind: 'market' | 'stop' };

/**
 * The rules of the ema-cross reference as the issue states them, as one plain loop independent
 * of the agents: EMAs seeded with the SMA of their first N closes; flat and a cross up: market
 * buy `size` at the next open; when it fills, a sell stop at (1 - stopLoss) x the fill price,
 * working from the following bar (fills at the stop, or at the open when the bar opens below
 * it); long and a cross down: cancel the stop and market sell at the next open.
 */
export function emaStopOracle(
  file: string,
  symbol: string,
  fast: number,
  slow: number,
  size: number,
  stopLoss: number,
) {
  const bars = [...csvFeed({ file, symbol })].flatMap((i) => (i.kind === 'bar' ? [i.bar] : []));
  const ema = (period: number) => {
    let count = 0;
    let sum = 0;
    let value: number | undefined;
    return (x: number) => {
      count++;
      if (value !== undefined) return (value = value + (x - value) * (2 / (period + 1)));
      sum += x;
      if (count === period) value = sum / period;
      return value;
    };
  };
  const f = ema(fast);
  const s = ema(slow);
  const fills: Fill[] = [];
  let cash = 100_000;
  let position = 0;
  let lastSign = 0;
  let pending: 'buy' | 'sell' | undefined;
  let stop: { price: number; from: number } | undefined;
  const day = (t: number) => new Date(t).toISOString().slice(0, 10);
  bars.forEach((bar, i) => {
    if (pending) {
      fills.push({ date: day(bar.time), side: pending, size, price: bar.open, kind: 'market' });
      cash += pending === 'buy' ? -size * bar.open : size * bar.open;
      position += pending === 'buy' ? size : -size;
      if (pending === 'buy') stop = { price: bar.open * (1 - stopLoss), from: i + 1 };
      pending = undefined;
    }
    if (stop && i >= stop.from) {
      const price = bar.open <= stop.price ? bar.open : bar.low <= stop.price ? stop.price : undefined;
      if (price !== undefined) {
        fills.push({ date: day(bar.time), side: 'sell', size, price, kind: 'stop' });
        cash += size * price;
        position -= size;
        stop = undefined;
      }
    }
    const a = f(bar.close);
    const b = s(bar.close);
    if (a === undefined || b === undefined) return;
    const sign = a > b ? 1 : a < b ? -1 : 0;
    if (lastSign < 0 && sign > 0 && position === 0) pending = 'buy';
    else if (lastSign > 0 && sign < 0 && position > 0) {
      stop = undefined;
      pending = 'sell';
    }
    if (sign !== 0) lastSign = sign;
  });
  const last = bars[bars.length - 1]!;
  return { fills, finalValue: Math.round((cash + position * last.close) * 100) / 100 };
}
