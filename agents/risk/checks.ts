import type { OrderIntent } from '../../src/domain/messages.js';

/** Limits the risk agent enforces; from config, changeable at run time (validated). */
export interface RiskLimits {
  /** Largest absolute position per symbol, in units. */
  readonly maxPositionQty: number;
  /** Largest notional (qty x price) of one order. */
  readonly maxOrderNotional: number;
  /** Whether a sell may open or grow a short position. */
  readonly allowShort: boolean;
  /** When set, only these symbols may trade. */
  readonly allowedSymbols?: readonly string[] | undefined;
}

/** Why an intent was denied: a stable code and a sentence with the numbers. */
export interface Denial {
  readonly code: string;
  readonly reason: string;
}

/** What a check sees: the intent, the price it is valued at, the projected position. */
export interface CheckInput {
  readonly intent: OrderIntent;
  readonly price: number;
  /** Filled plus approved-but-working quantity, before this order. */
  readonly position: number;
  readonly limits: RiskLimits;
}

const fmt = (x: number) => x.toLocaleString('en-US', { maximumFractionDigits: 2, minimumFractionDigits: Number.isInteger(x) ? 0 : 2 });

export const signedQty = (intent: Pick<OrderIntent, 'side' | 'qty'>) => (intent.side === 'buy' ? intent.qty : -intent.qty);

/** Named pre-trade checks, run in this order; the first denial wins. */
export const preTradeChecks: readonly { readonly name: string; readonly check: (i: CheckInput) => Denial | undefined }[] = [
  {
    name: 'order_shape',
    check: ({ intent }) => {
      if (intent.type === 'limit' && intent.limitPrice === undefined) return { code: 'invalid_order', reason: `limit order ${intent.clientOrderId} has no limit price` };
      if (intent.type === 'stop' && intent.stopPrice === undefined) return { code: 'invalid_order', reason: `stop order ${intent.clientOrderId} has no stop price` };
      return undefined;
    },
  },
  {
    name: 'allow_list',
    check: ({ intent, limits }) =>
      limits.allowedSymbols && !limits.allowedSymbols.includes(intent.symbol)
        ? { code: 'symbol_not_allowed', reason: `${intent.symbol} is not on the allow-list (${limits.allowedSymbols.join(', ')})` }
        : undefined,
  },
  {
    name: 'max_order_notional',
    check: ({ intent, price, limits }) => {
      const notional = intent.qty * price;
      return notional > limits.maxOrderNotional
        ? { code: 'max_order_notional', reason: `order notional ${fmt(notional)} exceeds max ${fmt(limits.maxOrderNotional)} for ${intent.symbol}` }
        : undefined;
    },
  },
  {
    name: 'no_short',
    check: ({ intent, position, limits }) => {
      const after = position + signedQty(intent);
      return !limits.allowShort && after < 0
        ? { code: 'short_not_allowed', reason: `selling ${fmt(intent.qty)} ${intent.symbol} against a position of ${fmt(position)} would open a short of ${fmt(-after)}, and shorting is off` }
        : undefined;
    },
  },
  {
    name: 'max_position_qty',
    check: ({ intent, position, limits }) => {
      const after = position + signedQty(intent);
      return Math.abs(after) > limits.maxPositionQty && Math.abs(after) > Math.abs(position)
        ? { code: 'max_position_qty', reason: `position in ${intent.symbol} would be ${fmt(after)}, over the max of ${fmt(limits.maxPositionQty)}` }
        : undefined;
    },
  },
];

/** The price an order is valued at: its own limit/stop, the requester's reference, else the market. */
export function valuationPrice(intent: OrderIntent, market: number | undefined): number | undefined {
  return intent.limitPrice ?? intent.stopPrice ?? intent.refPrice ?? market;
}

/** Runs every check; the first denial, or the names of the checks passed. */
export function runChecks(input: CheckInput): { denial: Denial } | { passed: string[] } {
  for (const c of preTradeChecks) {
    const denial = c.check(input);
    if (denial) return { denial };
  }
  return { passed: preTradeChecks.map((c) => c.name) };
}
