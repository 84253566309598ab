import { patterns, subjects } from '../../bus/subjects.js';
import type { OrderIntent } from '../../src/domain/messages.js';
import type { AgentSpec } from '../../src/runtime/agent-spec.js';
import { messageEvent } from '../../src/runtime/agent-spec.js';
import type { MarketCache } from '../../src/runtime/market-cache.js';
import type { Bar, Tick } from '../../src/domain/messages.js';
import type { RiskLimits } from './checks.js';
import { riskMachine, type IntentEvent, type RiskContext } from './machine.js';

/**
 * The risk agent: the only consumer of `order.intent`; writes `order.approved` or
 * `order.rejected`. Reads market data into the market cache (for prices as of an intent's
 * decision time) and order outcomes to keep projected positions right. Answers `query.risk`.
 */
export function riskAgent(limits: RiskLimits, market: MarketCache): AgentSpec<RiskContext> {
  return {
    name: 'risk',
    machine: riskMachine,
    input: { limits },
    inlets: [
      { pattern: patterns.marketBars, observe: (env) => market.onBar(env.payload as Bar), wants: () => false },
      { pattern: patterns.marketTicks, observe: (env) => market.onTick(env.payload as Tick), wants: () => false },
      {
        pattern: subjects.orderIntent(),
        toEvent: (env): IntentEvent => {
          const intent = env.payload as OrderIntent;
          return { ...(messageEvent(env) as IntentEvent), marketPrice: market.priceAt(intent.symbol, intent.decidedAt) };
        },
      },
      { pattern: subjects.orderFilled() },
      { pattern: subjects.orderCancelled() },
      { pattern: subjects.orderFailed() },
    ],
    queries: [
      {
        what: 'risk',
        answer: (ctx) => ({ limits: ctx.limits, positions: ctx.positions, working: Object.keys(ctx.working).length, counts: ctx.counts }),
      },
    ],
  };
}
