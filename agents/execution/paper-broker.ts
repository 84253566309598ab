import type { Bar, OrderIntent, Tick } from '../../src/domain/messages.js';

/** Costs and realism of the paper broker. Defaults are zero (the reference backtest has none). */
export interface PaperCosts {
  readonly feeBps: number;
  readonly feePerShare: number;
  /** Smallest fee charged per fill (when the computed fee is lower). */
  readonly feeMin?: number;
  readonly slippageBps: number;
  /**
   * Largest fraction of a bar's (or trade's) volume one order may take; the rest waits for the
   * next bar as a partial fill. 0 or unset: no limit.
   */
  readonly maxParticipation?: number;
}

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

/** Slippage moves the price against the order. */
export function withSlippage(price: number, side: OrderIntent['side'], costs: PaperCosts): number {
  if (costs.slippageBps === 0) return price;
  const k = costs.slippageBps / 10_000;
  return side === 'buy' ? price * (1 + k) : price * (1 - k);
}

export function feeFor(qty: number, price: number, costs: PaperCosts): number {
  return Math.max(costs.feeMin ?? 0, (qty * price * costs.feeBps) / 10_000 + qty * costs.feePerShare);
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
