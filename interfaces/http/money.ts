/**
 * Money in API answers, to the cent: the books keep full precision (IEEE doubles: a sum of fills
 * can read -6.199999999999761), a person reads -6.20. Only amounts of money are rounded, by
 * field name; prices, quantities and ratios (drawdown) keep every digit.
 */
const MONEY = new Set([
  'cash',
  'equity',
  'realizedPnl',
  'unrealizedPnl',
  'fees',
  'fee',
  'dayPnl',
  'dayStartEquity',
  'peakEquity',
  'marketValue',
  'day',
  'week',
  'yesterday',
  'lastWeek',
  'lastMonth',
  'month',
  'all',
]);

const cents = (x: number) => Math.round((x + Math.sign(x) * Number.EPSILON * Math.abs(x)) * 100) / 100 || 0;

/** A copy of `value` with every money field rounded to the cent (`pnl.day` and the like included). */
export function roundMoney<T>(value: T, key?: string): T {
  if (typeof value === 'number')
    return (key !== undefined && MONEY.has(key) && Number.isFinite(value) ? cents(value) : value) as T;
  if (Array.isArray(value)) return value.map((v) => roundMoney(v)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = roundMoney(v, k);
    return out as T;
  }
  return value;
}
