import {
  type Envelope,
  subjects,
  patterns,
  type RiskCommand,
  orderIntentSchema,
  type OrderIntent,
  type PortfolioSnapshot,
  type AgentSpec,
  messageEvent,
  type MessageEvent,
  type MarketCache,
} from '../../src/core/index.js';
import {
  SYSTEM_BY,
  breachOf,
  decide,
  riskMachine,
  type IntentEvent,
  type RiskContext,
  type RiskInput,
} from './machine.js';

/** True when a portfolio update would move trading to a stricter state than it is in. */
function tripsBreach(ctx: RiskContext, env: Envelope): boolean {
  if (ctx.tradingState === 'HALTED') return false;
  if (ctx.tradingState === 'REDUCING' && ctx.limits.breachState !== 'HALTED') return false;
  return breachOf(ctx.limits, env.payload as PortfolioSnapshot) !== undefined;
}

/**
 * The risk agent: the only consumer of `order.intent` and `order.cancel`; writes `order.approved`
 * or `order.rejected`, `order.cancel-approved` (every cancel, unconditionally), `risk.state` on
 * every trading-state change, and answers `risk.command` (halt, reduce, resume, set-limits) with
 * `risk.command-result`. Prices as of an intent's decision time come from the process's market
 * cache; buying power from its own cash ledger (the start cash and every `order.filled`, so it
 * never waits for a portfolio update); it reads portfolio updates (daily PnL and drawdown for the
 * loss limits; a breach reaches the machine, ordinary updates only the account view), and order
 * outcomes to keep projected positions right. Answers `query.risk`.
 */
export function riskAgent(input: RiskInput, market: MarketCache): AgentSpec<RiskContext> {
  let account: Pick<PortfolioSnapshot, 'dayPnl' | 'drawdown'> | undefined;
  return {
    name: 'risk',
    machine: riskMachine,
    input,
    // the symbols' lot, minimum and tick are market facts: those of this start (config, the venue)
    // replace the ones in the checkpoint the agent resumes from
    upgrade: (context) => {
      const ctx = context as RiskContext;
      const { lotSize, minQty, tickSize, symbolRules } = input.limits;
      const rules = {
        ...(lotSize !== undefined ? { lotSize } : {}),
        ...(minQty !== undefined ? { minQty } : {}),
        ...(tickSize !== undefined ? { tickSize } : {}),
        ...(symbolRules !== undefined ? { symbolRules } : {}),
      };
      return Object.keys(rules).length === 0 ? ctx : { ...ctx, limits: { ...ctx.limits, ...rules } };
    },
    inlets: [
      {
        pattern: subjects.portfolioUpdated(),
        observe: (env) => {
          account = env.payload as PortfolioSnapshot;
        },
        wants: tripsBreach,
      },
      {
        pattern: subjects.orderIntent(),
        // cancels come on the intents' subject (in order with them) and are passed on unconditionally (onCancel)
        toEvent: (env, ctx): IntentEvent | MessageEvent<'order.cancel'> => {
          if (env.type === 'order.cancel') return messageEvent(env) as MessageEvent<'order.cancel'>;
          const intent = env.payload as OrderIntent;
          const prices: Record<string, number> = {};
          for (const sym in ctx.positions) {
            const p = market.priceAt(sym, intent.decidedAt);
            if (p !== undefined) prices[sym] = p;
          }
          return {
            ...(messageEvent(env) as IntentEvent),
            marketPrice: market.priceAt(intent.symbol, intent.decidedAt),
            prices,
            account,
            lastBar: market.lastBar(intent.symbol),
          };
        },
      },
      // people's commands (the interfaces' users only may publish them)
      { pattern: patterns.riskCommands, reply: 'risk.command-result' },
      // a Sextant process's (every role may): whatever its `by` says, it is taken as a system process's
      {
        pattern: patterns.systemRiskCommands,
        reply: 'risk.command-result',
        toEvent: (env) => {
          const cmd = env.payload as RiskCommand;
          if (cmd.by.startsWith(SYSTEM_BY)) return messageEvent(env);
          return { ...messageEvent(env), payload: { ...cmd, by: `${SYSTEM_BY}${cmd.by}` } };
        },
      },
      { pattern: subjects.orderFilled() },
      { pattern: subjects.orderCancelled() },
      { pattern: subjects.orderFailed() },
    ],
    queries: [
      {
        what: 'risk',
        answer: (ctx, params) => {
          const summary = {
            state: ctx.tradingState,
            limits: ctx.limits,
            positions: ctx.positions,
            cash: ctx.cash,
            held: ctx.held,
            openOrders: Object.keys(ctx.working).length,
            // intents waiting for an opposite market order to fill or end before they are decided
            waiting: Object.values(ctx.parked ?? {}).reduce((n, q) => n + q.length, 0),
            counts: ctx.counts,
          };
          // `check`: the verdict this intent would get now, computed by the same pure decision
          // on a copy of the state (nothing is approved, counted or remembered)
          const check = orderIntentSchema.safeParse(params.check);
          if (params.check === undefined) return summary;
          if (!check.success)
            return {
              ...summary,
              check: {
                wouldPass: false,
                code: 'invalid_order',
                reason: check.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
              },
            };
          const intent = check.data;
          const prices: Record<string, number> = {};
          for (const sym in ctx.positions) {
            const p = market.priceAt(sym, intent.decidedAt);
            if (p !== undefined) prices[sym] = p;
          }
          const ev = {
            type: 'order.intent',
            id: 'precheck',
            time: intent.decidedAt,
            payload: intent,
            marketPrice: market.priceAt(intent.symbol, intent.decidedAt),
            prices,
            account,
          } as IntentEvent;
          const verdict = decide(ctx, ev).outbox?.[0];
          if (verdict?.type === 'order.rejected')
            return {
              ...summary,
              check: { wouldPass: false, code: verdict.payload.code, reason: verdict.payload.reason },
            };
          return { ...summary, check: { wouldPass: verdict?.type === 'order.approved' } };
        },
      },
    ],
  };
}
