import { duration, type OrderIntent } from '../../src/core/index.js';
import { isMultipleOf, symbolRule, type RiskLimits } from './limits.js';

export type { RiskLimits } from './limits.js';

export const TradingState = { active: 'ACTIVE', reducing: 'REDUCING', halted: 'HALTED' } as const;
export type TradingState = (typeof TradingState)[keyof typeof TradingState];

/** Why an intent was denied: a stable code and a sentence with the numbers. */
export interface Denial {
  readonly code: string;
  readonly reason: string;
}

/** Everything a pre-trade check may look at, as of the intent's decision time. */
export interface CheckInput {
  readonly intent: OrderIntent;
  /** The price the order is valued at (its limit/stop, the requester's reference, else the market). */
  readonly price: number;
  /** The last trade at or before the decision, when known. */
  readonly marketPrice: number | undefined;
  /** Projected position in the symbol before this order (filled plus approved and working). */
  readonly position: number;
  /**
   * The position this order's buying power is measured from: filled, plus the working orders on
   * the same side only (they may fill; the opposite ones may be cancelled). A buy against a
   * short made only of a working sell still needs the cash.
   */
  readonly exposurePosition: number;
  /**
   * The intent replaces (`cancels`) an order that has filled whole: execution cancels it instead
   * of taking it (an exit after its stop was hit), so it never sells.
   */
  readonly replacesFilled?: boolean;
  /** The symbol's last bar as risk's market cache knows it when the intent arrives. */
  readonly lastBar?: { readonly time: number; readonly intervalMs: number | undefined } | undefined;
  /** Sum over symbols of |projected position x price|, before this order. */
  readonly grossExposure: number;
  /** Cash after every fill so far (start cash, less buys and fees, plus sells). */
  readonly cash: number;
  /** Cash plus filled positions at their latest prices. */
  readonly equity: number;
  /** Sum over symbols of |filled position x latest price|. */
  readonly heldExposure: number;
  /** What approved orders still working have reserved (the exposure they add, fees, slippage). */
  readonly reserved: number;
  /** Estimated fees and slippage of this order. */
  readonly orderCosts: number;
  readonly openOrders: number;
  /** Approvals within the rate window before this order: all symbols, and this symbol. */
  readonly recentOrders: number;
  readonly recentOrdersForSymbol: number;
  /** From the latest portfolio update, when there was one. */
  readonly dayPnl: number | undefined;
  readonly drawdown: number | undefined;
  readonly state: TradingState;
  readonly limits: RiskLimits;
  /** A strategy instance's order with a capital budget: what its own book holds and has reserved. */
  readonly strategy?: {
    readonly id: string;
    readonly budget: number;
    /** Its filled positions at the latest prices plus what its open orders reserve. */
    readonly used: number;
    /** Its own projected position in the symbol (filled plus working). */
    readonly position: number;
  };
}

const fmt = (x: number) =>
  x.toLocaleString('en-US', { maximumFractionDigits: 2, minimumFractionDigits: Number.isInteger(x) ? 0 : 2 });
const pct = (x: number) => `${(x * 100).toLocaleString('en-US', { maximumFractionDigits: 2 })}%`;

export const signedQty = (intent: Pick<OrderIntent, 'side' | 'qty'>) =>
  intent.side === 'buy' ? intent.qty : -intent.qty;

/** True when the order makes the absolute position larger (or opens one). */
export const increasesRisk = (position: number, intent: Pick<OrderIntent, 'side' | 'qty'>) =>
  Math.abs(position + signedQty(intent)) > Math.abs(position);

/** True when the order closes the whole position, exactly (whatever odd quantity fills left it at). */
export const closesPosition = (position: number, intent: Pick<OrderIntent, 'side' | 'qty'>) =>
  reducesOnly(position, intent) && Math.abs(intent.qty - Math.abs(position)) <= 1e-9 * Math.abs(position);

/** True when the order only shrinks the position, without flipping it. */
export const reducesOnly = (position: number, intent: Pick<OrderIntent, 'side' | 'qty'>) =>
  position !== 0 && Math.sign(signedQty(intent)) === -Math.sign(position) && intent.qty <= Math.abs(position);

/** How much an order grows the absolute position's value (0 when it shrinks it). */
export const addedExposure = (position: number, intent: Pick<OrderIntent, 'side' | 'qty'>, price: number) =>
  Math.max(0, Math.abs(position + signedQty(intent)) - Math.abs(position)) * price;

/**
 * What an order that grows exposure may spend: `maxLeverage x equity`, less the positions held
 * and what approved orders still working have reserved. At leverage 1 and long only this is the
 * cash, less what open buy orders have reserved; a pending sell frees nothing until it fills.
 */
export const buyingPower = (a: { equity: number; heldExposure: number; reserved: number; maxLeverage: number }) =>
  a.maxLeverage * a.equity - a.heldExposure - a.reserved;

/** The symbol's rule (limits.ts `symbolRule`): minimum quantity, whole lots, whole ticks. */
function lotAndTick(intent: OrderIntent, position: number, limits: RiskLimits): Denial | undefined {
  const { lotSize, minQty, tickSize } = symbolRule(limits, intent.symbol);
  const what = `${intent.side} ${String(intent.qty)} ${intent.symbol}`;
  // closing a whole position stays possible, whatever quantity partial fills left it at
  if (!closesPosition(position, intent)) {
    if (intent.qty < minQty)
      return {
        code: 'below_min_qty',
        reason: `${what}: the quantity is below the minimum order quantity of ${String(minQty)} for ${intent.symbol}`,
      };
    if (!isMultipleOf(intent.qty, lotSize)) {
      const lots = Math.floor(intent.qty / lotSize);
      const at = (n: number) => String(Number((n * lotSize).toPrecision(12)));
      return {
        code: 'lot_size',
        reason: `${what}: the quantity is not a whole number of lots of ${String(lotSize)} for ${intent.symbol} (nearest: ${at(lots)} or ${at(lots + 1)})`,
      };
    }
  }
  if (tickSize === undefined) return undefined;
  for (const [name, price] of [
    ['limit', intent.limitPrice],
    ['stop', intent.stopPrice],
  ] as const) {
    if (price !== undefined && !isMultipleOf(price, tickSize))
      return {
        code: 'tick_size',
        reason: `${what}: the ${name} price ${String(price)} is not a whole number of ticks of ${String(tickSize)} for ${intent.symbol}`,
      };
  }
  return undefined;
}

type Check = {
  readonly name: string;
  readonly check: (i: CheckInput) => Denial | undefined;
  /** When set, the check is run (and named among those passed) only for orders it applies to. */
  readonly appliesTo?: (i: CheckInput) => boolean;
};

/** Named pre-trade checks, run in this order; the first denial wins. */
export const preTradeChecks: readonly Check[] = [
  {
    name: 'trading_state',
    check: ({ state, intent, position }) => {
      if (state === 'HALTED')
        return {
          code: 'trading_halted',
          reason: `trading is HALTED; ${intent.side} ${fmt(intent.qty)} ${intent.symbol} is not allowed until trading resumes`,
        };
      if (state === 'REDUCING' && !reducesOnly(position, intent)) {
        return {
          code: 'reducing_only',
          reason: `trading is REDUCING: only orders that shrink a position pass, and ${intent.side} ${fmt(intent.qty)} ${intent.symbol} against a position of ${fmt(position)} does not`,
        };
      }
      return undefined;
    },
  },
  {
    // an order a venue can take: its prices, a quantity of whole lots not below the minimum, prices of whole ticks
    name: 'order_shape',
    check: ({ intent, position, limits }) => {
      if (intent.type === 'limit' && intent.limitPrice === undefined)
        return { code: 'invalid_order', reason: `limit order ${intent.clientOrderId} has no limit price` };
      if (intent.type === 'stop' && intent.stopPrice === undefined)
        return { code: 'invalid_order', reason: `stop order ${intent.clientOrderId} has no stop price` };
      return lotAndTick(intent, position, limits);
    },
  },
  {
    name: 'allow_list',
    check: ({ intent, limits }) =>
      limits.allowedSymbols && !limits.allowedSymbols.includes(intent.symbol)
        ? {
            code: 'symbol_not_allowed',
            reason: `${intent.symbol} is not on the allow-list (${limits.allowedSymbols.join(', ')})`,
          }
        : undefined,
  },
  {
    name: 'price_band',
    check: ({ intent, marketPrice, limits }) => {
      const own = intent.limitPrice ?? intent.stopPrice;
      if (own === undefined || marketPrice === undefined) return undefined;
      const off = Math.abs(own - marketPrice) / marketPrice;
      return off > limits.priceBand
        ? {
            code: 'price_band',
            reason: `${intent.type} price ${fmt(own)} for ${intent.symbol} is ${pct(off)} from the last trade ${fmt(marketPrice)}, outside the band of ${pct(limits.priceBand)}`,
          }
        : undefined;
    },
  },
  {
    name: 'stale_market_data',
    appliesTo: ({ limits, lastBar }) => (limits.maxBarAgeBars ?? 0) > 0 && lastBar?.intervalMs !== undefined,
    check: ({ intent, position, lastBar, limits }) => {
      if (!increasesRisk(position, intent)) return undefined; // closing on old prices stays possible
      const length = lastBar!.intervalMs!;
      const age = intent.decidedAt - (lastBar!.time + length);
      const limit = limits.maxBarAgeBars! * length;
      if (age <= limit) return undefined;
      return {
        code: 'stale_market_data',
        reason: `${intent.symbol}'s last bar closed ${duration(age)} before this order, more than ${limits.maxBarAgeBars} bars of ${duration(length)} (${duration(limit)}): the market data may be down; orders that only reduce a position still pass`,
      };
    },
  },
  {
    name: 'buying_power',
    check: ({ intent, exposurePosition, price, cash, equity, heldExposure, reserved, orderCosts, limits }) => {
      // Number.MAX_VALUE is "unbounded" (`--risk off`): there is then no buying power to check.
      if (limits.maxLeverage >= Number.MAX_VALUE || !increasesRisk(exposurePosition, intent)) return undefined;
      const need = addedExposure(exposurePosition, intent, price) + orderCosts;
      const available = buyingPower({ equity, heldExposure, reserved, maxLeverage: limits.maxLeverage });
      if (need <= available + 1e-9 * Math.max(1, need)) return undefined;
      const account =
        limits.maxLeverage === 1
          ? `cash ${fmt(cash)}, less ${fmt(Math.max(0, cash - available))} held as margin or reserved by open orders`
          : `${fmt(limits.maxLeverage)}x equity ${fmt(equity)}, less ${fmt(heldExposure)} of positions held and ${fmt(reserved)} reserved by open orders`;
      return {
        code: 'insufficient_buying_power',
        reason: `${intent.side} ${fmt(intent.qty)} ${intent.symbol} at ${fmt(price)} needs ${fmt(need)} (est. fees and slippage ${fmt(orderCosts)}), but only ${fmt(Math.max(0, available))} of buying power is available (${account})`,
      };
    },
  },
  {
    name: 'strategy_budget',
    appliesTo: (i) => i.strategy !== undefined,
    check: ({ intent, price, orderCosts, strategy }) => {
      if (!strategy || !increasesRisk(strategy.position, intent)) return undefined;
      const need = addedExposure(strategy.position, intent, price) + orderCosts;
      if (strategy.used + need <= strategy.budget + 1e-9 * Math.max(1, need)) return undefined;
      return {
        code: 'strategy_budget',
        reason: `${intent.side} ${fmt(intent.qty)} ${intent.symbol} at ${fmt(price)} needs ${fmt(need)}, but strategy ${strategy.id} has ${fmt(Math.max(0, strategy.budget - strategy.used))} of its budget of ${fmt(strategy.budget)} left (${fmt(strategy.used)} held or reserved)`,
      };
    },
  },
  {
    name: 'max_order_notional',
    check: ({ intent, price, limits }) => {
      const notional = intent.qty * price;
      return notional > limits.maxOrderNotional
        ? {
            code: 'max_order_notional',
            reason: `order notional ${fmt(notional)} exceeds max ${fmt(limits.maxOrderNotional)} for ${intent.symbol}`,
          }
        : undefined;
    },
  },
  {
    name: 'no_short',
    check: ({ intent, position, replacesFilled, limits }) => {
      const after = position + signedQty(intent);
      // only a sell opens or grows a short; a buy that covers part of one is not refused here; an
      // exit replacing an order that filled first is cancelled by execution, never sold
      return !limits.allowShort && intent.side === 'sell' && after < 0 && !replacesFilled
        ? {
            code: 'short_not_allowed',
            reason: `selling ${fmt(intent.qty)} ${intent.symbol} against a position of ${fmt(position)} would open a short of ${fmt(-after)}, and shorting is off`,
          }
        : undefined;
    },
  },
  {
    name: 'max_position_qty',
    check: ({ intent, position, limits }) => {
      const after = position + signedQty(intent);
      return increasesRisk(position, intent) && Math.abs(after) > limits.maxPositionQty
        ? {
            code: 'max_position_qty',
            reason: `position in ${intent.symbol} would be ${fmt(after)}, over the max of ${fmt(limits.maxPositionQty)}`,
          }
        : undefined;
    },
  },
  {
    name: 'max_position_notional',
    check: ({ intent, position, price, limits }) => {
      const value = Math.abs(position + signedQty(intent)) * price;
      return increasesRisk(position, intent) && value > limits.maxPositionNotional
        ? {
            code: 'max_position_notional',
            reason: `position in ${intent.symbol} would be worth ${fmt(value)}, over the max of ${fmt(limits.maxPositionNotional)}`,
          }
        : undefined;
    },
  },
  {
    name: 'max_gross_exposure',
    check: ({ intent, position, price, grossExposure, limits }) => {
      const after = grossExposure - Math.abs(position) * price + Math.abs(position + signedQty(intent)) * price;
      return increasesRisk(position, intent) && after > limits.maxGrossExposure
        ? {
            code: 'max_gross_exposure',
            reason: `gross exposure would be ${fmt(after)}, over the max of ${fmt(limits.maxGrossExposure)}`,
          }
        : undefined;
    },
  },
  {
    name: 'max_open_orders',
    check: ({ openOrders, limits }) =>
      openOrders >= limits.maxOpenOrders
        ? {
            code: 'max_open_orders',
            reason: `${openOrders} orders are already open, the max is ${limits.maxOpenOrders}`,
          }
        : undefined,
  },
  {
    name: 'order_rate',
    check: ({ intent, recentOrders, recentOrdersForSymbol, limits }) => {
      const window = () => `${fmt(limits.rateWindowMs / 1000)} s`; // sentences are built only for denials
      if (recentOrders >= limits.maxOrdersPerWindow)
        return {
          code: 'order_rate',
          reason: `${recentOrders} orders were approved in the last ${window()}, the max is ${limits.maxOrdersPerWindow}`,
        };
      if (recentOrdersForSymbol >= limits.maxOrdersPerWindowPerSymbol) {
        return {
          code: 'order_rate_symbol',
          reason: `${recentOrdersForSymbol} ${intent.symbol} orders were approved in the last ${window()}, the max per symbol is ${limits.maxOrdersPerWindowPerSymbol}`,
        };
      }
      return undefined;
    },
  },
  {
    name: 'loss_limits',
    check: ({ intent, position, dayPnl, drawdown, limits }) => {
      if (!increasesRisk(position, intent)) return undefined;
      if (dayPnl !== undefined && -dayPnl >= limits.maxDailyLoss) {
        return {
          code: 'max_daily_loss',
          reason: `today's loss ${fmt(-dayPnl)} has reached the max daily loss of ${fmt(limits.maxDailyLoss)}; only orders that reduce a position pass`,
        };
      }
      if (drawdown !== undefined && drawdown >= limits.maxDrawdown) {
        return {
          code: 'max_drawdown',
          reason: `drawdown ${pct(drawdown)} from peak equity has reached the max of ${pct(limits.maxDrawdown)}; only orders that reduce a position pass`,
        };
      }
      return undefined;
    },
  },
];

/** The price an order is valued at: its own limit/stop, the requester's reference, else the market. */
export function valuationPrice(intent: OrderIntent, market: number | undefined): number | undefined {
  return intent.limitPrice ?? intent.stopPrice ?? intent.refPrice ?? market;
}

/** Runs every check; the first denial, or the names of the checks passed. */
export function runChecks(input: CheckInput): { denial: Denial } | { passed: string[] } {
  const passed: string[] = [];
  for (const c of preTradeChecks) {
    if (c.appliesTo && !c.appliesTo(input)) continue;
    const denial = c.check(input);
    if (denial) return { denial };
    passed.push(c.name);
  }
  return { passed };
}
