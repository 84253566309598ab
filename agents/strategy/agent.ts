import { type Envelope, patterns, subjects, type Origin, type AgentSpec } from '../../src/core/index.js';
import {
  instancesOf,
  isOwnOrder,
  lastSignals,
  sliceOf,
  strategyMachine,
  usesSentiment,
  type AgentSlice,
  type StrategyAgentContext,
} from './machine.js';
import type { StrategyParams } from './strategies.js';
import { upgradeStrategyContext } from './upgrade.js';

/** True for order events about the orders of one of this agent's instances. */
const ours = (ctx: StrategyAgentContext, env: Envelope) => {
  const origin = (env.payload as { origin?: Origin }).origin;
  const inst = origin?.kind === 'strategy' ? ctx.instances[origin.id] : undefined;
  return inst !== undefined && isOwnOrder(inst, (env.payload as { clientOrderId: string }).clientOrderId);
};

/**
 * The strategy agent: runs one strategy instance, or several (a strategies file), each over the
 * symbols it trades. Reads `market.bar.*` and its instances' orders' outcomes (`order.rejected`,
 * `order.filled`, `order.cancelled`, `order.failed`) and, when a strategy uses sentiment,
 * `sentiment.updated.*`; writes `signal.generated.<sym>` and `order.intent`, and with `plot` each
 * instance's indicator lines per bar on `strategy.plotted.<sym>`. Answers
 * `query.signals`. `capital` is the account's start cash, what instances without a capital of
 * their own share. Parameters are validated here: a bad one stops start-up, named.
 */
export function strategyAgent(
  params: StrategyParams | readonly StrategyParams[],
  capital = 0,
  options: { readonly plot?: boolean } = {},
): AgentSpec<StrategyAgentContext> {
  const instances = instancesOf({ params, capital, ...(options.plot ? { plot: true } : {}) });
  return {
    name: 'strategy',
    machine: strategyMachine,
    input: { params: instances, capital },
    // a checkpoint of an earlier version, or of other instances or parameters, in today's shape
    upgrade: (context) => upgradeStrategyContext(context, instances),
    inlets: [
      { pattern: patterns.marketBars },
      { pattern: subjects.orderRejected(), wants: ours },
      { pattern: subjects.orderFilled(), wants: ours },
      { pattern: subjects.orderCancelled(), wants: ours },
      { pattern: subjects.orderFailed(), wants: ours },
      // a sentiment filter (STRATEGY_SENTIMENT_MIN) or a strategy's onSentiment: each symbol's latest sentiment
      ...(instances.some(usesSentiment) ? [{ pattern: patterns.sentimentUpdates }] : []),
    ],
    // several processes share the symbols (PARTITIONED_AGENTS): a symbol's part of every instance
    // (indicators, open orders, last signal) moves together, so (instance, symbol) pairs go by symbol
    partition: {
      key: (env) => (env.payload as { symbol?: string }).symbol,
      slice: sliceOf,
      adopt: (key, slice) => ({ type: 'partition.adopt', key, slice: slice as AgentSlice }),
      drop: (key) => ({ type: 'partition.drop', key }),
    },
    queries: [
      {
        what: 'signals',
        answer: (ctx, params) => {
          const all = lastSignals(ctx);
          return typeof params.symbol === 'string' ? all.filter((s) => s.symbol === params.symbol) : all;
        },
      },
    ],
  };
}
