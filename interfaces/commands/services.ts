import {
  type Bus,
  rootEnvelope,
  type EnvelopeDeps,
  subjects,
  type QueryName,
  versionOf,
  type OrderApproved,
  type OrderIntent,
  type OrderRejected,
  type RiskCommandResult,
  type Clock,
  type Bar,
  type DataAcceptPriceResult,
  type OrderCancelled,
  type OrderCancelRejected,
  type MessageTracer,
  type Envelope,
  type SubjectPattern,
} from '../../src/core/index.js';
import type { AgentReport } from './agent-tracker.js';
import type { Caller } from './registry.js';

/** An order as a person asks for it; the rest (id, origin, decision time) is added on the way. */
export type OrderRequest = Pick<OrderIntent, 'symbol' | 'side' | 'qty' | 'type' | 'tif'> &
  Partial<Pick<OrderIntent, 'limitPrice' | 'stopPrice'>>;

/** What risk decided about a person's order: approved, refused with the reason, or no word in time. */
export type Verdict =
  | { readonly kind: 'approved' }
  | { readonly kind: 'refused'; readonly code: string; readonly reason: string }
  | { readonly kind: 'pending' };

/** What became of a person's cancel: the order ended, execution refused (why), or no word in time. */
export type CancelOutcome =
  | { readonly kind: 'cancelled'; readonly filledQty: number; readonly reason: string }
  | { readonly kind: 'refused'; readonly code: string; readonly reason: string }
  | { readonly kind: 'pending' };

/** A cancel request on its way to risk (then execution). */
export interface SentCancel {
  readonly cancelId: string;
  readonly clientOrderId: string;
  readonly correlationId: string;
  readonly outcome: Promise<CancelOutcome>;
}

/** An intent on its way to risk. */
export interface SentOrder {
  readonly clientOrderId: string;
  readonly correlationId: string;
  /** Risk's verdict on it ('pending' when none came within the services' timeout). */
  readonly verdict: Promise<Verdict>;
}

export interface RiskCheck {
  readonly wouldPass: boolean;
  readonly code?: string;
  readonly reason?: string;
}

/**
 * What the commands may do, all of it over the bus: ask the query services, send an intent (to
 * risk, as everything else), pre-check one with risk, command risk. Nothing here reaches
 * execution: an order is an `order.intent`, and only risk turns it into an approval.
 */
export interface CommandServices {
  ask<T = unknown>(what: QueryName, params?: Record<string, unknown>): Promise<T>;
  intend(order: OrderRequest, caller: Caller): SentOrder;
  precheck(order: OrderRequest, caller: Caller): Promise<RiskCheck>;
  risk(
    command: 'halt' | 'reduce' | 'resume' | 'set-limits',
    reason: string,
    caller: Caller,
    limits?: Record<string, unknown>,
  ): Promise<RiskCommandResult>;
  agents(): Record<string, AgentReport>;
  now(): number;
  /** The latest bar seen of a symbol (the market as the bus shows it); undefined when none or not followed. */
  lastBar?(symbol: string): Bar | undefined;
  /** Asks to cancel a working order (`order.cancel`, through risk to execution); absent where no bus is. */
  cancelOrder?(clientOrderId: string, reason: string, caller: Caller): SentCancel;
  /** Asks the data agent to publish the symbol's next bar beyond the price band (an operator's acceptance). */
  acceptPrice?(symbol: string, reason: string, caller: Caller): Promise<DataAcceptPriceResult>;
}

export interface BusServicesDeps {
  readonly bus: Bus;
  readonly envelope: EnvelopeDeps;
  readonly agents: () => Record<string, AgentReport>;
  readonly timeoutMs: number;
  /** The time people's orders are decided at (default: the envelope clock); see MarketClock. */
  readonly decisionClock?: Clock;
  /** Resolves when the system takes new input (after a restart has caught up); orders and risk commands wait for it. */
  readonly accepting?: () => Promise<void>;
  /** The latest bar per symbol (MarketClock), for `price`. */
  readonly market?: { lastBar(symbol: string): Bar | undefined };
  /**
   * Tracing (off when unset): a command that sends something (an order, a cancel, a risk command,
   * a price acceptance) is a request span, the root of the chain it starts, as an HTTP request is.
   */
  readonly tracer?: MessageTracer | undefined;
}

/**
 * The first answer one of `watch` gives (per subject: an answer from a message, or undefined when
 * the message is not about this request), or `pending` after `timeoutMs`; then it stops listening.
 */
function firstAnswer<T>(
  bus: Bus,
  name: string,
  watch: readonly (readonly [subject: SubjectPattern, answer: (e: Envelope) => T | undefined])[],
  timeoutMs: number,
  pending: T,
): Promise<T> {
  return new Promise((resolve) => {
    const done = (v: T) => {
      clearTimeout(timer);
      for (const s of subs) s.unsubscribe();
      resolve(v);
    };
    const subs = watch.map(([subject, answer]) =>
      bus.subscribe(
        subject,
        (e) => {
          const v = answer(e);
          if (v !== undefined) done(v);
        },
        { name },
      ),
    );
    const timer = setTimeout(() => done(pending), timeoutMs);
    timer.unref();
  });
}

/**
 * Risk's verdict on one client order id: the first `order.approved` / `order.rejected` naming it, or 'pending' after
 * `timeoutMs`.
 */
function verdictOf(bus: Bus, clientOrderId: string, timeoutMs: number): Promise<Verdict> {
  return firstAnswer<Verdict>(
    bus,
    'command.verdict',
    [
      [
        subjects.orderApproved(),
        // (cancels risk passes on travel on this subject too)
        (e) =>
          e.type === 'order.approved' && (e.payload as OrderApproved).order.clientOrderId === clientOrderId
            ? { kind: 'approved' }
            : undefined,
      ],
      [
        subjects.orderRejected(),
        (e) => {
          const r = e.payload as OrderRejected;
          return r.clientOrderId === clientOrderId ? { kind: 'refused', code: r.code, reason: r.reason } : undefined;
        },
      ],
    ],
    timeoutMs,
    { kind: 'pending' },
  );
}

/**
 * What became of a cancel: the `order.cancelled` of its order, or the `order.cancel-rejected`
 * naming it (by `cancelId`), or 'pending' after `timeoutMs`.
 */
function cancelOutcomeOf(bus: Bus, cancelId: string, clientOrderId: string, timeoutMs: number) {
  return firstAnswer<CancelOutcome>(
    bus,
    'command.cancel',
    [
      [
        subjects.orderCancelled(),
        (e) => {
          const c = e.payload as OrderCancelled;
          return c.clientOrderId === clientOrderId
            ? { kind: 'cancelled', filledQty: c.filledQty, reason: c.reason }
            : undefined;
        },
      ],
      [
        subjects.orderCancelRejected(),
        (e) => {
          const r = e.payload as OrderCancelRejected;
          return r.cancelId === cancelId ? { kind: 'refused', code: r.code, reason: r.reason } : undefined;
        },
      ],
    ],
    timeoutMs,
    { kind: 'pending' },
  );
}

/** The command services over a bus. */
export function busServices(deps: BusServicesDeps): CommandServices {
  const { bus, envelope } = deps;
  const decisions = deps.decisionClock ?? envelope.clock;
  const toIntent = (order: OrderRequest, caller: Caller, clientOrderId: string): OrderIntent => ({
    ...order,
    clientOrderId,
    origin: { kind: 'person', id: caller.id },
    decidedAt: decisions.now(),
  });
  /**
   * The chain a person's command starts: its correlation id is the request's own (not the message's
   * id), so with tracing on the message's producer span is the child of the request span.
   */
  const request = (what: string, caller: Caller) => {
    const correlationId = envelope.ids.next();
    const span = deps.tracer?.request(`command ${what}`, correlationId, { 'sextant.person': caller.id });
    return { correlationId, end: (status: number) => span?.end(status) };
  };
  /** A request/reply command's answer, ending the request's span with whether it came. */
  const answered = <T>(req: ReturnType<typeof request>, reply: Promise<T>): Promise<T> =>
    reply.then(
      (r) => {
        req.end(200);
        return r;
      },
      (err: unknown) => {
        req.end(504);
        throw err;
      },
    );
  /** Publishes through `send`, ending the request's span with what became of it. */
  const sent = (req: ReturnType<typeof request>, send: () => void) => () => {
    try {
      send();
      req.end(202);
    } catch (err) {
      req.end(500);
      throw err;
    }
  };
  return {
    async ask<T>(what: QueryName, params: Record<string, unknown> = {}) {
      const reply = await bus.request(
        subjects.query(what),
        rootEnvelope(envelope, 'query.request', { params }, { v: versionOf('query.request') }),
        { timeoutMs: deps.timeoutMs },
      );
      return (reply.payload as { data: T }).data;
    },
    intend(order, caller) {
      const clientOrderId = `cmd-${envelope.ids.next()}`;
      const id = envelope.ids.next();
      const req = request('order.intent', caller);
      // decided when it goes out (the market's time then)
      const send = sent(req, () =>
        bus.publish(
          subjects.orderIntent(),
          rootEnvelope(envelope, 'order.intent', toIntent(order, caller, clientOrderId), {
            v: versionOf('order.intent'),
            id,
            correlationId: req.correlationId,
          }),
        ),
      );
      // listening before the intent goes out: on the in-memory bus risk answers inside publish
      const verdict = verdictOf(bus, clientOrderId, deps.timeoutMs);
      // after a restart, only once the system has caught up with what it did before the crash
      if (deps.accepting) void deps.accepting().then(send);
      else send();
      return { clientOrderId, correlationId: req.correlationId, verdict };
    },
    cancelOrder(clientOrderId, reason, caller) {
      const cancelId = `cmd-cancel-${envelope.ids.next()}`;
      const id = envelope.ids.next();
      const req = request('order.cancel', caller);
      const send = sent(req, () =>
        bus.publish(
          subjects.orderIntent(), // the intents' subject: a cancel never overtakes an order (see the catalog)
          rootEnvelope(
            envelope,
            'order.cancel',
            {
              cancelId,
              clientOrderId,
              origin: { kind: 'person', id: caller.id },
              reason,
              requestedAt: decisions.now(),
            },
            { v: versionOf('order.cancel'), id, correlationId: req.correlationId },
          ),
        ),
      );
      const outcome = cancelOutcomeOf(bus, cancelId, clientOrderId, deps.timeoutMs);
      if (deps.accepting) void deps.accepting().then(send);
      else send();
      return { cancelId, clientOrderId, correlationId: req.correlationId, outcome };
    },
    async precheck(order, caller) {
      const data = await this.ask<{ check?: RiskCheck }>('risk', { check: toIntent(order, caller, 'precheck') });
      return data.check ?? { wouldPass: false, code: 'no_check', reason: 'the risk agent gave no verdict' };
    },
    async risk(command, reason, caller, limits) {
      await deps.accepting?.();
      const req = request(`risk.command ${command}`, caller);
      const env = rootEnvelope(
        envelope,
        'risk.command',
        { command, reason, by: caller.id, ...(limits ? { limits } : {}) },
        { v: versionOf('risk.command'), correlationId: req.correlationId },
      );
      return answered(req, bus.request(subjects.riskCommand(command), env, { timeoutMs: deps.timeoutMs })).then(
        (reply) => reply.payload as RiskCommandResult,
      );
    },
    async acceptPrice(symbol, reason, caller) {
      await deps.accepting?.();
      const req = request('data.accept-price', caller);
      const env = rootEnvelope(
        envelope,
        'data.accept-price',
        { symbol, reason, by: caller.id },
        { v: versionOf('data.accept-price'), correlationId: req.correlationId },
      );
      return answered(req, bus.request(subjects.dataAcceptPrice(symbol), env, { timeoutMs: deps.timeoutMs })).then(
        (reply) => reply.payload as DataAcceptPriceResult,
      );
    },
    agents: deps.agents,
    now: () => envelope.clock.now(),
    ...(deps.market ? { lastBar: (symbol: string) => deps.market!.lastBar(symbol) } : {}),
  };
}
