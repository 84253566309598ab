import { csvFeed } from '../../agents/data/feeds/csv-feed.js';
import { fsum } from '../../agents/strategy/indicators.js';

/**
 * The reference rules of tests/fixtures/data/README.md written as one plain loop, independent of the
 * agents: the oracle the agent pipeline must agree with for any symbol and fast/slow pair.
 */
export function smaCrossOracle(file: string, symbol: string, fast: number, slow: number, size: number, cash: number) {
  const bars = [...csvFeed({ file, symbol })].flatMap((i) => (i.kind === 'bar' ? [i.bar] : []));
  const closes: number[] = [];
  const fills: { date: string; side: 'buy' | 'sell'; size: number; price: number }[] = [];
  let lastSign = 0;
  let position = 0;
  let pending: { side: 'buy' | 'sell'; size: number } | undefined;
  for (const bar of bars) {
    if (pending) {
      const price = bar.open;
      fills.push({
        date: new Date(bar.time).toISOString().slice(0, 10),
        side: pending.side,
        size: pending.size,
        price,
      });
      cash += pending.side === 'buy' ? -pending.size * price : pending.size * price;
      position += pending.side === 'buy' ? pending.size : -pending.size;
      pending = undefined;
    }
    closes.push(bar.close);
    if (closes.length < slow) continue;
    const f = fsum(closes.slice(-fast)) / fast;
    const s = fsum(closes.slice(-slow)) / slow;
    const sign = f > s ? 1 : f < s ? -1 : 0;
    if (lastSign < 0 && sign > 0 && position === 0) pending = { side: 'buy', size };
    else if (lastSign > 0 && sign < 0 && position > 0) pending = { side: 'sell', size: position };
    if (sign !== 0) lastSign = sign;
  }
  const last = bars[bars.length - 1]!;
  return { fills, finalValue: Math.round((cash + position * last.close) * 100) / 100, bars: bars.length };
}
