import type { Bar, OrderIntent, Tick, PaperCosts } from '../../src/core/index.js';

export { feeFor, withSlippage, type PaperCosts } from '../../src/core/index.js';

const DAY_MS = 86_400_000;
const utcDay = (t: number) => Math.floor(t / DAY_MS);

/**
 * The price an order fills at on a bar, or undefined. A bar at or before the decision time is
 * never used: a market order decided on bar t fills at the open of bar t+1. Limit and stop
 * orders fill at the open when it is already through their price (a gap), else at their price
 * when the bar's range reaches it.
 */
export function barFillPrice(order: OrderIntent, bar: Bar): number | undefined {
  if (bar.time <= order.decidedAt) return undefined;
  const buy = order.side === 'buy';
  switch (order.type) {
    case 'market':
      return bar.open;
    case 'limit': {
      const limit = order.limitPrice!;
      if (buy) return bar.open <= limit ? bar.open : bar.low <= limit ? limit : undefined;
      return bar.open >= limit ? bar.open : bar.high >= limit ? limit : undefined;
    }
    case 'stop': {
      const stop = order.stopPrice!;
      if (buy) return bar.open >= stop ? bar.open : bar.high >= stop ? stop : undefined;
      return bar.open <= stop ? bar.open : bar.low <= stop ? stop : undefined;
    }
  }
}

/** The price an order fills at on a trade tick, or undefined (ticks after the decision only). */
export function tickFillPrice(order: OrderIntent, tick: Tick): number | undefined {
  if (tick.time <= order.decidedAt) return undefined;
  const p = tick.price;
  const buy = order.side === 'buy';
  switch (order.type) {
    case 'market':
      return p;
    case 'limit':
      return (buy ? p <= order.limitPrice! : p >= order.limitPrice!) ? p : undefined;
    case 'stop':
      return (buy ? p >= order.stopPrice! : p <= order.stopPrice!) ? p : undefined;
  }
}

/**
 * How much of an order a bar or trade of `volume` can fill: everything without a participation
 * limit, else that fraction of the volume (whole units for orders in whole units).
 */
export function fillableQty(leaves: number, volume: number, wholeUnits: boolean, costs: PaperCosts): number {
  const p = costs.maxParticipation ?? 0;
  if (p <= 0) return leaves;
  const cap = volume * p;
  return Math.min(leaves, wholeUnits ? Math.floor(cap) : cap);
}

/** A DAY order expires at the first market data of a later UTC day. */
export function dayOrderExpired(order: OrderIntent, time: number): boolean {
  return order.tif === 'DAY' && utcDay(time) > utcDay(order.decidedAt);
}
