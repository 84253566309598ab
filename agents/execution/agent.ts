import type { EventObject } from 'xstate';
import {
  patterns,
  subjects,
  type Bar,
  type OrderCancel,
  type OrderIntent,
  type Tick,
  type AgentApi,
  type AgentSpec,
  type MarketCache,
} from '../../src/core/index.js';
import type { BrokerPort } from './broker.js';
import {
  executionMachine,
  type BrokerAcceptedEvent,
  type BrokerCancelFailedEvent,
  type BrokerFailedEvent,
  type BrokerReportEvent,
  type ExecutionContext,
  type OwnOutputEvent,
} from './machine.js';
import type { PaperCosts } from './paper-broker.js';
import {
  BrokerError,
  callResiliently,
  CircuitBreaker,
  defaultBreakerPolicy,
  defaultRetryPolicy,
  type BreakerPolicy,
  type RetryPolicy,
} from './resilience.js';

const hasWorking = (ctx: ExecutionContext, symbol: string) => (ctx.working[symbol]?.length ?? 0) > 0;

export interface ExecutionOptions {
  readonly costs: PaperCosts;
  readonly broker: BrokerPort;
  readonly market: MarketCache;
  readonly retry?: RetryPolicy;
  readonly breaker?: BreakerPolicy;
  /** Wall clock and randomness for the breaker and backoff jitter (injected; seeded in tests). */
  readonly now?: () => number;
  readonly random?: () => number;
  /** Live venues: how often working orders are asked about, ms. */
  readonly pollMs?: number;
}

/**
 * The execution agent: reads `order.approved` and `order.cancel-approved` (only risk writes them)
 * and market data; writes `order.submitted`, `order.filled`, `order.cancelled`, `order.failed`,
 * `order.cancel-rejected`. Orders go to the broker
 * port through a timeout, bounded retries with jittered backoff and a circuit breaker; when all
 * fail the order ends `order.failed` with the reason. Market data reaches the machine only for
 * symbols with working orders; the market cache keeps recent bars so an order accepted after
 * later bars (a slow broker, NATS delivering subjects independently) still fills on the first
 * bar after its decision. Answers `query.orders`.
 */
/**
 * A live venue fills orders on its own: every `pollMs` each working order's state is asked for
 * and handed to the machine (`broker.report`), which turns what is new into `order.filled` or an
 * end. A failed poll is logged and asked again next time.
 */
async function pollVenue(api: AgentApi, broker: BrokerPort, pollMs: number, wake: Wake): Promise<void> {
  // a venue that pushes order updates (Alpaca's trade_updates): each one as soon as it comes
  const unsubscribe = broker.updates?.((clientOrderId, report) => {
    const event: BrokerReportEvent = { type: 'broker.report', clientOrderId, ...report, time: api.clock.now() };
    api.send(event);
  });
  try {
    await pollWorking(api, broker, pollMs, wake);
  } finally {
    unsubscribe?.();
  }
}

/** Ends the poll loop's wait at once (the agent stops: it must not wait out a long EXEC_POLL_MS). */
interface Wake {
  now?: () => void;
}

async function pollWorking(api: AgentApi, broker: BrokerPort, pollMs: number, wake: Wake): Promise<void> {
  const sleep = (ms: number) =>
    new Promise<void>((r) => {
      const timer = setTimeout(r, ms);
      wake.now = () => {
        clearTimeout(timer);
        r();
      };
    });
  while (!api.stopping) {
    await sleep(pollMs);
    const working = Object.values((api.context() as ExecutionContext).orders).filter((r) => r.status !== 'new');
    for (const rec of working) {
      if (api.stopping) return;
      try {
        const report = await broker.report!(rec.order, rec.brokerOrderId);
        const event: BrokerReportEvent = {
          type: 'broker.report',
          clientOrderId: rec.order.clientOrderId,
          ...report,
          time: api.clock.now(),
        };
        api.send(event);
      } catch (err) {
        api.log.warn(
          { err: (err as Error).message, clientOrderId: rec.order.clientOrderId },
          'could not ask the venue about an order; asking again next poll',
        );
      }
    }
  }
}

const OWN_OUTPUTS: ReadonlySet<string> = new Set([
  'order.submitted',
  'order.filled',
  'order.cancelled',
  'order.failed',
]);

export function executionAgent(options: ExecutionOptions): AgentSpec<ExecutionContext> {
  const { market, broker } = options;
  const canCancel = broker.fills === 'simulated' || broker.cancelOrder !== undefined;
  /** The agent's clock (the host's, once started): the time of a venue's report. */
  let eventNow: () => number = options.now ?? Date.now;
  const wake: Wake = {};
  const breaker = new CircuitBreaker(options.breaker ?? defaultBreakerPolicy, options.now ?? Date.now);
  const resilience = {
    breaker,
    retry: options.retry ?? defaultRetryPolicy,
    random: options.random ?? Math.random,
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  };
  const failed = (order: OrderIntent, err: unknown): BrokerFailedEvent => ({
    type: 'broker.failed',
    clientOrderId: order.clientOrderId,
    code: err instanceof BrokerError ? err.code : 'broker_error',
    reason: `broker ${broker.name} did not take the order: ${err instanceof Error ? err.message : String(err)}`,
  });
  const accepted = (order: OrderIntent, brokerOrderId: string): BrokerAcceptedEvent | BrokerFailedEvent => {
    try {
      return {
        type: 'broker.accepted',
        clientOrderId: order.clientOrderId,
        brokerOrderId,
        barsSince: market.barsAfter(order.symbol, order.decidedAt),
      };
    } catch (err) {
      return failed(order, err);
    }
  };
  return {
    name: 'execution',
    machine: executionMachine,
    input: { costs: options.costs, broker: broker.name, venueFills: broker.fills === 'venue', canCancel },
    // whether the broker can cancel is a fact of this start (the broker configured now), not of the checkpoint
    upgrade: (context) => ({ ...(context as ExecutionContext), canCancel }),
    ...(broker.fills === 'venue'
      ? {
          onStart: (api: AgentApi) => {
            eventNow = () => api.clock.now();
            return pollVenue(api, broker, options.pollMs ?? 1000, wake);
          },
          onStop: () => wake.now?.(),
        }
      : {}),
    inlets: [
      {
        pattern: patterns.marketBars,
        wants: (ctx, env) => hasWorking(ctx, (env.payload as Bar).symbol),
      },
      {
        pattern: patterns.marketTicks,
        wants: (ctx, env) => hasWorking(ctx, (env.payload as Tick).symbol),
      },
      // approvals, and the cancels risk passes on (on the same subject, so in order with them)
      { pattern: subjects.orderApproved() },
    ],
    // after a restart: what it submitted, filled, cancelled or failed after its checkpoint
    recover: {
      pattern: patterns.orders,
      toEvent: (env) =>
        OWN_OUTPUTS.has(env.type)
          ? { type: 'own.output', output: env as unknown as OwnOutputEvent['output'] }
          : undefined,
      chain: (env) => {
        if (env.type === 'order.submitted') return { key: (env.payload as { order: OrderIntent }).order.clientOrderId };
        const p = env.payload as { clientOrderId: string; status?: string };
        return env.type === 'order.cancelled' ||
          env.type === 'order.failed' ||
          (env.type === 'order.filled' && p.status === 'filled')
          ? { release: p.clientOrderId }
          : undefined;
      },
    },
    effects: {
      // a venue's cancel: its report (what the venue says after) ends the order like a polled one
      'effect.broker-cancel': (payload, complete: (event: EventObject) => void) => {
        const { order, brokerOrderId, cancel } = payload as {
          order: OrderIntent;
          brokerOrderId: string;
          cancel: OrderCancel;
        };
        Promise.resolve()
          .then(() => callResiliently(() => broker.cancelOrder!(order, brokerOrderId), resilience))
          .then(
            (report) => {
              const event: BrokerReportEvent = {
                type: 'broker.report',
                clientOrderId: order.clientOrderId,
                ...report,
                time: eventNow(),
              };
              complete(event);
            },
            (err: unknown) => {
              const event: BrokerCancelFailedEvent = {
                type: 'broker.cancel-failed',
                cancel,
                code: err instanceof BrokerError ? err.code : 'broker_error',
                reason: `broker ${broker.name} did not cancel ${order.clientOrderId}: ${err instanceof Error ? err.message : String(err)}`,
              };
              complete(event);
            },
          );
      },
      'effect.broker-submit': (payload, complete: (event: EventObject) => void) => {
        const { order } = payload as { order: OrderIntent };
        const result = callResiliently(() => broker.submit(order), resilience);
        if (result instanceof Promise) {
          result.then(
            (ack) => {
              complete(accepted(order, ack.brokerOrderId));
              // what a pushing venue told before the acknowledgement was handled (a fast fill)
              const pushed = broker.lastReport?.(order.clientOrderId);
              if (pushed) {
                const event: BrokerReportEvent = {
                  type: 'broker.report',
                  clientOrderId: order.clientOrderId,
                  ...pushed,
                  time: eventNow(),
                };
                complete(event);
              }
            },
            (err: unknown) => complete(failed(order, err)),
          );
        } else complete(accepted(order, result.brokerOrderId));
      },
    },
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
