import { type Envelope, patterns, subjects, type Origin, type AgentSpec } from '../../src/core/index.js';
import {
  isOwnOrder,
  sliceOf,
  strategyMachine,
  usesSentiment,
  type StrategyContext,
  type StrategySlice,
} from './machine.js';
import { resolveInstance, type StrategyParams } from './strategies.js';

/** True for order events about this strategy's own orders. */
const ours = (ctx: StrategyContext, env: Envelope) => {
  const origin = (env.payload as { origin?: Origin }).origin;
  return (
    origin?.kind === 'strategy' &&
    origin.id === ctx.instance.id &&
    isOwnOrder(ctx, (env.payload as { clientOrderId: string }).clientOrderId)
  );
};

/**
 * The strategy agent. Reads `market.bar.*` and its own orders' outcomes (`order.rejected`,
 * `order.filled`, `order.cancelled`, `order.failed`) and, when the strategy uses sentiment,
 * `sentiment.updated.*`; writes `signal.generated.<sym>` and `order.intent`. Answers `query.signals`.
 * `capital` is what the instance's equity starts from (the account's start cash unless the
 * instance has its own). The parameters are validated here: a bad one stops start-up, named.
 */
export function strategyAgent(params: StrategyParams, capital = 0): AgentSpec<StrategyContext> {
  const instance = resolveInstance(params);
  return {
    name: 'strategy',
    machine: strategyMachine,
    input: { params: instance, capital },
    inlets: [
      { pattern: patterns.marketBars },
      { pattern: subjects.orderRejected(), wants: ours },
      { pattern: subjects.orderFilled(), wants: ours },
      { pattern: subjects.orderCancelled(), wants: ours },
      { pattern: subjects.orderFailed(), wants: ours },
      // the sentiment filter (STRATEGY_SENTIMENT_MIN) or the strategy's onSentiment: each symbol's latest sentiment
      ...(usesSentiment(instance) ? [{ pattern: patterns.sentimentUpdates }] : []),
    ],
    // several instances share the symbols (PARTITIONED_AGENTS): a symbol's indicators, open orders and last signal
    // move together
    partition: {
      key: (env) => (env.payload as { symbol?: string }).symbol,
      slice: sliceOf,
      adopt: (key, slice) => ({ type: 'partition.adopt', key, slice: slice as StrategySlice }),
      drop: (key) => ({ type: 'partition.drop', key }),
    },
    queries: [
      {
        what: 'signals',
        answer: (ctx, params) => {
          const all = Object.values(ctx.lastSignals);
          return typeof params.symbol === 'string' ? all.filter((s) => s.symbol === params.symbol) : all;
        },
      },
    ],
  };
}
