import type { AnyStrategy } from '../sdk/index.js';
import bollinger from './bollinger.js';
import donchianBreakout from './donchian-breakout.js';
import emaCross from './ema-cross.js';
import macd from './macd.js';
import rsiReversion from './rsi-reversion.js';
import smaCross from './sma-cross.js';

/** The strategies that ship with Sextant, by name. Each is one file written on the SDK (examples). */
export const builtinStrategies: Readonly<Record<string, AnyStrategy>> = Object.freeze({
  [smaCross.name]: smaCross,
  [rsiReversion.name]: rsiReversion,
  [emaCross.name]: emaCross,
  [bollinger.name]: bollinger,
  [donchianBreakout.name]: donchianBreakout,
  [macd.name]: macd,
});
