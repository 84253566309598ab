import type { Bar } from '../../../src/core/index.js';
import { FeedOptionsError, type FeedItem, type MarketFeed } from './feed.js';
import { seededPrng, standardNormal, type Prng } from './prng.js';

/** Options of {@link syntheticFeed}. */
export interface SyntheticFeedOptions {
  /** Symbols to generate, each with its own random stream; carried unchanged. */
  readonly symbols: readonly string[];
  /** Same seed, same bars, on every run. */
  readonly seed: number;
  /** Price of every symbol at the first bar's open. */
  readonly startPrice: number;
  /** Annualised drift (mu), e.g. 0.05 for 5 % a year. */
  readonly drift: number;
  /** Annualised volatility (sigma), e.g. 0.2. */
  readonly volatility: number;
  /** Bar length in ms; also each bar's `intervalMs`. */
  readonly barMs: number;
  /** Epoch ms of the first bar. */
  readonly startTime: number;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;
/** Random-walk steps inside a bar; they give it a high and low beyond open and close. */
const SUB_STEPS = 4;
const TICK = 0.0001;

const round4 = (x: number) => Math.max(TICK, Math.round(x * 10_000) / 10_000);

/**
 * An endless, deterministic feed of bars: geometric Brownian motion per symbol, for demos,
 * soak tests and benchmarks. Each step yields one bar per symbol, all at the same time, the
 * time advancing by `barMs`. Every symbol draws from its own stream derived from the seed
 * and the symbol, so adding a symbol does not change the others' prices.
 *
 * A bar is built from {@link SUB_STEPS} sub-steps of dt = barMs / year: open = the previous
 * close, close = the last sub-step, high/low = the extremes of the path, so high >= max(open,
 * close) and low <= min(open, close). Prices are rounded to 4 decimals (never below 0.0001),
 * the unrounded path carries on. Volume is a positive integer, larger on bigger moves.
 * Each iteration starts again from `startTime` and `startPrice`.
 */
export function syntheticFeed(opts: SyntheticFeedOptions): MarketFeed {
  check(opts);
  return {
    name: 'synthetic',
    endless: true,
    skipped: 0,
    [Symbol.iterator]: () => generate(opts),
  };
}

interface Walk {
  readonly symbol: string;
  readonly next: Prng;
  price: number;
}

function* generate(opts: SyntheticFeedOptions): Generator<FeedItem, never, undefined> {
  const { seed, startPrice, drift, volatility, barMs } = opts;
  const walks: Walk[] = opts.symbols.map((symbol) => ({ symbol, next: seededPrng(seed, symbol), price: startPrice }));
  const dt = barMs / YEAR_MS / SUB_STEPS;
  const mean = (drift - (volatility * volatility) / 2) * dt;
  const sd = volatility * Math.sqrt(dt);
  for (let time = opts.startTime; ; time += barMs) {
    for (const walk of walks) {
      const open = walk.price;
      let price = open;
      let high = open;
      let low = open;
      for (let s = 0; s < SUB_STEPS; s++) {
        price *= Math.exp(mean + sd * standardNormal(walk.next));
        if (price > high) high = price;
        if (price < low) low = price;
      }
      walk.price = price;
      const volume = Math.round(1_000 * (0.5 + walk.next())) + Math.round(100_000 * Math.abs(Math.log(price / open)));
      const bar: Bar = {
        symbol: walk.symbol,
        time,
        open: round4(open),
        high: round4(high),
        low: round4(low),
        close: round4(price),
        volume,
        intervalMs: barMs,
      };
      yield { kind: 'bar', bar };
    }
  }
}

function check(opts: SyntheticFeedOptions): void {
  const problems: string[] = [];
  if (opts.symbols.length === 0) problems.push('symbols is empty');
  if (opts.symbols.some((s) => s.length === 0)) problems.push('a symbol is empty');
  if (new Set(opts.symbols).size !== opts.symbols.length) problems.push('symbols repeat');
  if (!Number.isFinite(opts.seed)) problems.push(`seed ${opts.seed} is not a finite number`);
  if (!(opts.startPrice > 0 && Number.isFinite(opts.startPrice)))
    problems.push(`startPrice ${opts.startPrice} is not a positive number`);
  if (!Number.isFinite(opts.drift)) problems.push(`drift ${opts.drift} is not a finite number`);
  if (!(opts.volatility >= 0 && Number.isFinite(opts.volatility)))
    problems.push(`volatility ${opts.volatility} is not a number >= 0`);
  if (!(Number.isInteger(opts.barMs) && opts.barMs > 0)) problems.push(`barMs ${opts.barMs} is not a positive integer`);
  if (!(Number.isInteger(opts.startTime) && opts.startTime >= 0))
    problems.push(`startTime ${opts.startTime} is not a non-negative integer`);
  if (problems.length > 0) throw new FeedOptionsError(`syntheticFeed: ${problems.join('; ')}`);
}
