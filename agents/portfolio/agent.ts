import { patterns, subjects } from '../../bus/subjects.js';
import type { Bar, OrderFilled, Tick } from '../../src/domain/messages.js';
import type { AgentSpec } from '../../src/runtime/agent-spec.js';
import { messageEvent } from '../../src/runtime/agent-spec.js';
import type { MarketCache } from '../../src/runtime/market-cache.js';
import { holds, snapshotOf } from './book.js';
import { portfolioMachine, type FillEvent, type PortfolioContext } from './machine.js';

/**
 * The portfolio agent: reads `order.filled` and market data (for held symbols); writes
 * `portfolio.updated`. Answers `query.portfolio` and `query.positions`.
 *
 * Determinism: on the in-memory bus a fill always arrives before the next bar, so every run
 * goes through the same states. Over NATS bars and fills travel on different subjects: bars
 * that arrive before a fill are replayed after it (`barsSince`), so positions, cash, PnL and
 * final equity are identical; but a bar can also be marked *before* an in-flight fill that
 * belongs before it (the portfolio cannot know a fill is coming), so the mark path between
 * fills (peak equity, drawdown, day PnL) can differ transiently. Decisions never read it.
 * Known limitation: making that path exact needs a rewind on late fills.
 */
export function portfolioAgent(startCash: number, market: MarketCache): AgentSpec<PortfolioContext> {
  return {
    name: 'portfolio',
    machine: portfolioMachine,
    input: { startCash },
    inlets: [
      {
        pattern: patterns.marketBars,
        wants: (ctx, env) => holds(ctx.book, (env.payload as Bar).symbol),
      },
      {
        pattern: patterns.marketTicks,
        wants: (ctx, env) => holds(ctx.book, (env.payload as Tick).symbol),
      },
      {
        pattern: subjects.orderFilled(),
        toEvent: (env): FillEvent => {
          const { symbol } = env.payload as OrderFilled;
          return { ...(messageEvent(env) as FillEvent), markPrice: market.priceAt(symbol, env.time), barsSince: market.barsAfter(symbol, env.time) };
        },
      },
    ],
    queries: [
      { what: 'portfolio', answer: (ctx) => snapshotOf(ctx.book) },
      { what: 'positions', answer: (ctx) => snapshotOf(ctx.book).positions },
    ],
  };
}
