/**
 * The strategy SDK: what a strategy file imports (as `sextant/strategy`). See the guide,
 * docs/strategies.md, and the built-ins in agents/strategy/builtins/ (one file each).
 */
export { z } from 'zod';
export { defineStrategy } from './define.js';
export type {
  AnyStrategy,
  BarContext,
  FillContext,
  OrderOptions,
  PlainData,
  PlotLine,
  SentimentContext,
  Sizing,
  StrategyContext,
  StrategyDefinition,
  StrategyPlot,
} from './define.js';
export {
  BollingerBands,
  compareSma,
  crossed,
  DonchianChannels,
  EMA,
  MACD,
  RSI,
  SMA,
  type Bands,
  type BollingerState,
  type DonchianState,
  type EmaState,
  type MacdState,
  type MacdValue,
  type RsiState,
  type SmaState,
} from './indicators.js';
export { roundQty } from './context.js';
export { DeterminismError } from './guard.js';
