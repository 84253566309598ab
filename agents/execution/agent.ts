import { patterns, subjects } from '../../bus/subjects.js';
import type { Bar, OrderApproved, Tick } from '../../src/domain/messages.js';
import type { AgentSpec } from '../../src/runtime/agent-spec.js';
import { messageEvent } from '../../src/runtime/agent-spec.js';
import type { MarketCache } from '../../src/runtime/market-cache.js';
import { executionMachine, type ApprovedEvent, type ExecutionContext } from './machine.js';
import type { PaperCosts } from './paper-broker.js';

const hasWorking = (ctx: ExecutionContext, symbol: string) => (ctx.working[symbol]?.length ?? 0) > 0;

/**
 * The execution agent: reads `order.approved` (only risk writes it) and market data; writes
 * `order.submitted`, `order.filled`, `order.cancelled`. Market data reaches the machine only
 * for symbols with working orders; the market cache keeps recent bars so an approval that
 * arrives after later bars (NATS delivers subjects independently) still fills on the first bar
 * after its decision. Answers `query.orders`.
 */
export function executionAgent(costs: PaperCosts, market: MarketCache): AgentSpec<ExecutionContext> {
  return {
    name: 'execution',
    machine: executionMachine,
    input: { costs },
    inlets: [
      {
        pattern: patterns.marketBars,
        observe: (env) => market.onBar(env.payload as Bar),
        wants: (ctx, env) => hasWorking(ctx, (env.payload as Bar).symbol),
      },
      {
        pattern: patterns.marketTicks,
        observe: (env) => market.onTick(env.payload as Tick),
        wants: (ctx, env) => hasWorking(ctx, (env.payload as Tick).symbol),
      },
      {
        pattern: subjects.orderApproved(),
        toEvent: (env): ApprovedEvent => {
          const { order } = env.payload as OrderApproved;
          return { ...(messageEvent(env) as ApprovedEvent), barsSince: market.barsAfter(order.symbol, order.decidedAt) };
        },
      },
    ],
    queries: [
      {
        what: 'orders',
        answer: (ctx, params) => {
          const open = Object.values(ctx.orders);
          const status = params.status === 'open' ? open : [...ctx.recent, ...open];
          return typeof params.symbol === 'string' ? status.filter((o) => o.order.symbol === params.symbol) : status;
        },
      },
    ],
  };
}
