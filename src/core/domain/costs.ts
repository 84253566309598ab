import type { OrderIntent } from './messages.js';

/**
 * Costs and realism of the paper broker, and what risk estimates an order will cost before it is
 * sent. Defaults are zero (the reference backtest has none).
 */
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

/** Slippage moves the price against the order. */
export function withSlippage(price: number, side: OrderIntent['side'], costs: PaperCosts): number {
  if (costs.slippageBps === 0) return price;
  const k = costs.slippageBps / 10_000;
  return side === 'buy' ? price * (1 + k) : price * (1 - k);
}

export function feeFor(qty: number, price: number, costs: PaperCosts): number {
  return Math.max(costs.feeMin ?? 0, (qty * price * costs.feeBps) / 10_000 + qty * costs.feePerShare);
}

/** No fees, no slippage (the reference backtests' broker). */
export const zeroCosts: PaperCosts = { feeBps: 0, feePerShare: 0, slippageBps: 0 };
