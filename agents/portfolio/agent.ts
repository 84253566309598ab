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
 */
export function portfolioAgent(startCash: number, market: MarketCache): AgentSpec<PortfolioContext> {
  return {
    name: 'portfolio',
    machine: portfolioMachine,
    input: { startCash },
    inlets: [
      {
        pattern: patterns.marketBars,
        observe: (env) => market.onBar(env.payload as Bar),
        wants: (ctx, env) => holds(ctx.book, (env.payload as Bar).symbol),
      },
      {
        pattern: patterns.marketTicks,
        observe: (env) => market.onTick(env.payload as Tick),
        wants: (ctx, env) => holds(ctx.book, (env.payload as Tick).symbol),
      },
      {
        pattern: subjects.orderFilled(),
        toEvent: (env): FillEvent => ({ ...(messageEvent(env) as FillEvent), markPrice: market.lastPrice((env.payload as OrderFilled).symbol) }),
      },
    ],
    queries: [
      { what: 'portfolio', answer: (ctx) => snapshotOf(ctx.book) },
      { what: 'positions', answer: (ctx) => snapshotOf(ctx.book).positions },
    ],
  };
}
