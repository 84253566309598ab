import { z } from 'zod';

const amount = z.number().finite().nonnegative();
const count = z.number().int().nonnegative();
const step = z.number().finite().positive();

/** The lot size (quantity step) of a symbol without a rule of its own: 1e-8, the finest a venue uses. */
export const DEFAULT_LOT_SIZE = 1e-8;
/** The smallest quantity of one order for a symbol without a rule of its own (a strategy rounds to 6 decimals). */
export const DEFAULT_MIN_QTY = 1e-6;

/**
 * How one symbol trades: the quantity step (`lotSize`), the smallest quantity of one order
 * (`minQty`) and the price step of limit and stop prices (`tickSize`). A field left out takes
 * the limits' default.
 */
export const symbolRuleSchema = z.object({ lotSize: step, minQty: amount, tickSize: step }).partial().strict();
export type SymbolRule = z.infer<typeof symbolRuleSchema>;

/**
 * Every limit the risk agent enforces. From config at start; changeable at run time by the
 * `set-limits` command, validated against this schema (an invalid change is refused whole and
 * the old limits stay).
 */
export const riskLimitsSchema = z
  .object({
    /** Largest absolute position per symbol, in units. */
    maxPositionQty: amount,
    /** Largest absolute position value per symbol (qty x price). */
    maxPositionNotional: amount,
    /** Largest notional (qty x price) of one order. */
    maxOrderNotional: amount,
    /** Largest sum over symbols of |position x price|, this order included. */
    maxGrossExposure: amount,
    /** Most orders approved and not yet finished at once. */
    maxOpenOrders: count,
    /** Most approvals in any sliding window of `rateWindowMs`, over all symbols. */
    maxOrdersPerWindow: count,
    /** Most approvals in any sliding window of `rateWindowMs`, per symbol. */
    maxOrdersPerWindowPerSymbol: count,
    rateWindowMs: z.number().int().positive(),
    /** Loss since the start of the UTC day (positive amount) that trips the breach state. */
    maxDailyLoss: amount,
    /** Fall from peak equity (0..1) that trips the breach state. */
    maxDrawdown: z.number().min(0).max(1),
    /** How far (fraction of the last trade) a limit or stop price may be from the market. */
    priceBand: z.number().positive(),
    /**
     * Buying power as a multiple of equity: orders that grow exposure must fit in
     * `maxLeverage x equity - exposure already held or reserved by open orders - their fees`.
     * 1 is a cash account: a buy needs the cash, less what open buy orders have reserved.
     */
    maxLeverage: z.number().min(1),
    /** Whether a sell may open or grow a short position. */
    allowShort: z.boolean(),
    /** When set, only these symbols may trade. */
    allowedSymbols: z.array(z.string().min(1)).optional(),
    /** Where a daily-loss or drawdown breach takes trading: REDUCING (close only) or HALTED. */
    breachState: z.enum(['REDUCING', 'HALTED']),
    /**
     * Capital each strategy instance (by id) may have at work: what its fills hold at the latest
     * prices plus what its open orders reserve. From the strategies file's `capital`.
     */
    strategyBudgets: z.record(z.string(), amount).optional(),
    /**
     * Stale market data: an order that grows a position is refused when its symbol's last bar
     * closed more than this many bar lengths before the order was decided (the feed may be down).
     * 0 or unset: off.
     */
    maxBarAgeBars: z.number().int().min(0).optional(),
    /** Quantity step of symbols without a rule of their own (unset: DEFAULT_LOT_SIZE). */
    lotSize: step.optional(),
    /** Smallest quantity of one order for symbols without a rule of their own (unset: DEFAULT_MIN_QTY). */
    minQty: amount.optional(),
    /** Price step of limit and stop prices for symbols without a rule of their own (unset: any price). */
    tickSize: step.optional(),
    /** Per-symbol lot, minimum and tick (RISK_SYMBOL_RULES; with BROKER=ccxt, the venue's precision and limits). */
    symbolRules: z.record(z.string(), symbolRuleSchema).optional(),
  })
  .strict();

export type RiskLimits = z.infer<typeof riskLimitsSchema>;

/** A run-time limits change: any subset of the limits. */
export const riskLimitsPatchSchema = riskLimitsSchema.partial().strict();
export type RiskLimitsPatch = z.infer<typeof riskLimitsPatchSchema>;

/** Limits that never bind (backtests measure the strategy; every order still passes through risk). */
export const unboundedLimits: RiskLimits = {
  maxPositionQty: Number.MAX_SAFE_INTEGER,
  maxPositionNotional: Number.MAX_VALUE,
  maxOrderNotional: Number.MAX_VALUE,
  maxGrossExposure: Number.MAX_VALUE,
  maxOpenOrders: Number.MAX_SAFE_INTEGER,
  maxOrdersPerWindow: Number.MAX_SAFE_INTEGER,
  maxOrdersPerWindowPerSymbol: Number.MAX_SAFE_INTEGER,
  rateWindowMs: 60_000,
  maxDailyLoss: Number.MAX_VALUE,
  maxDrawdown: 1,
  priceBand: Number.MAX_VALUE,
  maxLeverage: Number.MAX_VALUE,
  allowShort: false,
  breachState: 'REDUCING',
};

/** The rule an order in `symbol` must obey: its own, else the limits' defaults. */
export function symbolRule(
  limits: Pick<RiskLimits, 'lotSize' | 'minQty' | 'tickSize' | 'symbolRules'>,
  symbol: string,
): { lotSize: number; minQty: number; tickSize: number | undefined } {
  const own = limits.symbolRules?.[symbol];
  return {
    lotSize: own?.lotSize ?? limits.lotSize ?? DEFAULT_LOT_SIZE,
    minQty: own?.minQty ?? limits.minQty ?? DEFAULT_MIN_QTY,
    tickSize: own?.tickSize ?? limits.tickSize,
  };
}

/**
 * True when `x` is a whole number of `step`s, allowing for binary rounding (0.3 is three lots of
 * 0.1): within a billionth of a step, or the double's own resolution when that is coarser.
 */
export function isMultipleOf(x: number, step: number): boolean {
  const n = x / step;
  return Math.abs(n - Math.round(n)) <= Math.max(1e-9, Math.abs(n) * 4 * Number.EPSILON);
}
