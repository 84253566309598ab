import {
  patterns,
  subjects,
  type Bar,
  type OrderFilled,
  type Tick,
  type AgentSpec,
  messageEvent,
  type MarketCache,
} from '../../src/core/index.js';
import { holds, snapshotOf } from './book.js';
import { portfolioMachine, type FillEvent, type PortfolioContext } from './machine.js';

/** True when the account, or one of its books by origin (two strategies can net to flat), holds the symbol. */
const holdsAny = (ctx: PortfolioContext, symbol: string) => {
  if (holds(ctx.book, symbol)) return true;
  for (const k in ctx.byOrigin) if (holds(ctx.byOrigin[k]!, symbol)) return true;
  return false;
};

/**
 * The portfolio agent: reads `order.filled` and market data (for held symbols); writes
 * `portfolio.updated`. Answers `query.portfolio`, `query.positions` and `query.strategies` (the
 * account by who traded).
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
        // the cache learns the bar through this subscription too: a fill handled after a bar this
        // inlet skipped (nothing held yet) still finds that bar to mark with (subscriptions run at their own pace)
        observe: (env) => market.onBar(env.payload as Bar),
        wants: (ctx, env) => holdsAny(ctx, (env.payload as Bar).symbol),
      },
      {
        pattern: patterns.marketTicks,
        observe: (env) => market.onTick(env.payload as Tick),
        wants: (ctx, env) => holdsAny(ctx, (env.payload as Tick).symbol),
      },
      {
        pattern: subjects.orderFilled(),
        toEvent: (env): FillEvent => {
          const { symbol } = env.payload as OrderFilled;
          // a fill is booked whatever came since; later bars only mark it (a fill that arrives later than
          // the cache reaches back, as a slow durable consumer's may, is marked to the bars still kept)
          return {
            ...(messageEvent(env) as FillEvent),
            markPrice: market.priceAt(symbol, env.time),
            barsSince: market.barsAfter(symbol, env.time, { kept: true }),
          };
        },
      },
    ],
    queries: [
      { what: 'portfolio', answer: (ctx) => snapshotOf(ctx.book) },
      { what: 'positions', answer: (ctx) => snapshotOf(ctx.book).positions },
      {
        // the account by who traded: each strategy instance (and person) with its own positions and PnL
        what: 'strategies',
        answer: (ctx) =>
          Object.entries(ctx.byOrigin ?? {}).map(([key, book]) => {
            const at = key.indexOf(':');
            return { origin: { kind: key.slice(0, at), id: key.slice(at + 1) }, ...snapshotOf(book) };
          }),
      },
    ],
  };
}
