import { assign, setup } from 'xstate';
import {
  emitOutbox,
  type Emitted,
  type MessageEvent,
  NO_OUTPUT,
  type OutboxEmitted,
  type Signal,
  type WithOutbox,
} from '../../src/core/index.js';
import {
  instanceSliceOf,
  instanceWithSlice,
  onBar,
  onOrderEnded,
  onOwnFill,
  onSentiment,
  usesSentiment,
  type StrategyContext,
  type StrategyEvent,
  type StrategySlice,
} from './instance.js';
import { plotOf } from './plot.js';
import { resolveInstance, type StrategyInstance, type StrategyParams } from './strategies.js';

export * from './instance.js';

/**
 * The strategy agent's context: every instance it runs, by id, each with its own symbols, open
 * orders, signals and account (see instance.ts). Plain data, snapshotted whole.
 */
export interface StrategyAgentContext extends WithOutbox {
  readonly instances: Readonly<Record<string, StrategyContext>>;
}

/** What belongs to one symbol, for every instance (scale-out hands it from process to process). */
export type AgentSlice = Readonly<Record<string, StrategySlice>>;

/** The machine's input: the instances (params validated here) and the account's capital. */
export interface StrategyInput {
  /** One instance, or several (a strategies file). */
  readonly params: StrategyParams | readonly StrategyParams[];
  /** Every instance publishes its indicator lines per bar (`StrategyInstance.plot`). */
  readonly plot?: boolean;
  /**
   * The account's start cash: an instance without a `capital` of its own starts from it when it
   * runs alone, or from an equal share of what the instances with one leave, when there are several.
   */
  readonly capital?: number;
}

/** The instances with their starting cash: their own capital, or an equal share of the rest. */
export function instancesOf(input: StrategyInput): StrategyInstance[] {
  const list = (Array.isArray(input.params) ? input.params : [input.params]) as readonly StrategyParams[];
  const instances = list.map((p) => (input.plot ? { ...resolveInstance(p), plot: true } : resolveInstance(p)));
  const seen = new Set<string>();
  for (const i of instances) {
    if (seen.has(i.id)) throw new Error(`two strategy instances share the id "${i.id}"; each needs its own`);
    seen.add(i.id);
  }
  const budgeted = instances.reduce((sum, i) => sum + (i.capital ?? 0), 0);
  const unbudgeted = instances.filter((i) => i.capital === undefined).length;
  const share = unbudgeted > 0 ? Math.max(0, (input.capital ?? 0) - budgeted) / unbudgeted : 0;
  return instances.map((i) => (i.capital === undefined ? { ...i, capital: share } : i));
}

/** A fresh instance: no symbols, no orders, its capital as cash. */
export const instanceContext = (instance: StrategyInstance): StrategyContext => ({
  instance,
  symbols: {},
  open: {},
  lastSignals: {},
  sentiment: {},
  cash: instance.capital ?? 0,
  held: {},
  outbox: NO_OUTPUT,
});

/**
 * `before` with what `patch` sets (its outbox dropped), or `before` itself when it sets nothing.
 * Built field by field: spreading both, once per instance per bar, was the strategy agent's
 * hottest line. `satisfies` makes a field added to StrategyContext and missed here a type error.
 */
function applyPatch(before: StrategyContext, patch: Partial<StrategyContext>): StrategyContext {
  if (
    patch.symbols === undefined &&
    patch.open === undefined &&
    patch.lastSignals === undefined &&
    patch.sentiment === undefined &&
    patch.cash === undefined &&
    patch.held === undefined &&
    patch.legsDone === undefined &&
    patch.instance === undefined
  )
    return before;
  return {
    instance: patch.instance ?? before.instance,
    symbols: patch.symbols ?? before.symbols,
    open: patch.open ?? before.open,
    lastSignals: patch.lastSignals ?? before.lastSignals,
    sentiment: patch.sentiment ?? before.sentiment,
    cash: patch.cash ?? before.cash,
    held: patch.held ?? before.held,
    legsDone: patch.legsDone ?? before.legsDone,
    outbox: NO_OUTPUT,
  } satisfies Record<keyof StrategyContext, unknown>;
}

/** Runs `step` on each instance (in their order), keeping what changed and collecting outputs in order. */
function each(
  ctx: StrategyAgentContext,
  step: (inst: StrategyContext) => Partial<StrategyContext> | undefined,
): Partial<StrategyAgentContext> {
  let instances: Record<string, StrategyContext> | undefined;
  let outbox: Emitted[] | undefined;
  const all = ctx.instances;
  const ids = Object.keys(all);
  for (let n = 0; n < ids.length; n++) {
    const id = ids[n]!;
    const before = all[id]!;
    const patch = step(before);
    if (!patch) continue;
    const out = patch.outbox;
    if (out && out.length > 0) (outbox ??= []).push(...out);
    const next = applyPatch(before, patch);
    if (next === before) continue;
    if (!instances) {
      instances = {};
      for (let m = 0; m < ids.length; m++) instances[ids[m]!] = all[ids[m]!]!;
    }
    instances[id] = next;
  }
  return instances ? { instances, outbox: outbox ?? NO_OUTPUT } : { outbox: outbox ?? NO_OUTPUT };
}

/**
 * A bar's step with each plotting instance's lines for it appended (`strategy.plotted`), for the
 * instances that read the bar (their symbol's state moved). They go after every decision of the
 * step, so the decisions keep the ids (derived from their position) they have without plotting.
 */
function withPlots(
  before: StrategyAgentContext,
  step: Partial<StrategyAgentContext>,
  symbol: string,
): Partial<StrategyAgentContext> {
  let plots: Emitted[] | undefined;
  const after = step.instances ?? before.instances;
  for (const id in after) {
    const inst = after[id]!;
    if (!inst.instance.plot || inst.symbols[symbol] === before.instances[id]?.symbols[symbol]) continue;
    const plot = plotOf(inst, symbol);
    if (plot) (plots ??= []).push(plot);
  }
  return plots ? { ...step, outbox: [...(step.outbox ?? NO_OUTPUT), ...plots] } : step;
}

/** The bar's step on every instance: trading or (paused) watching, with the lines of those that plot. */
function barStep(ctx: StrategyAgentContext, ev: MessageEvent<'market.bar'>, trading: boolean) {
  return withPlots(
    ctx,
    each(ctx, (i) => onBar(i, ev, trading)),
    ev.payload.symbol,
  );
}

/** An order event goes to the instance that sent the order. */
function toOwner(ctx: StrategyAgentContext, id: string, step: (inst: StrategyContext) => Partial<StrategyContext>) {
  return each(ctx, (inst) => (inst.instance.id === id ? step(inst) : undefined));
}

const originOf = (ev: StrategyEvent) => (ev as { payload?: { origin?: { id?: string } } }).payload?.origin?.id ?? '';

/** The symbol's slice of every instance. */
export function sliceOf(ctx: StrategyAgentContext, symbol: string): AgentSlice {
  const slice: Record<string, StrategySlice> = {};
  for (const id in ctx.instances) slice[id] = instanceSliceOf(ctx.instances[id]!, symbol);
  return slice;
}

/** Every instance without the symbol (handed away) or with its part of the slice taken in. */
export function withSlice(ctx: StrategyAgentContext, symbol: string, slice: AgentSlice | undefined) {
  return each(ctx, (inst) => instanceWithSlice(inst, symbol, slice?.[inst.instance.id]));
}

/** The latest signal of every instance, per symbol (answers `signals`). */
export function lastSignals(ctx: StrategyAgentContext): (Signal & { time: number })[] {
  return Object.values(ctx.instances).flatMap((i) => Object.values(i.lastSignals));
}

/** True when any instance reads sentiment. */
export const anyUsesSentiment = (ctx: { instances: Readonly<Record<string, StrategyContext>> }) =>
  Object.values(ctx.instances).some((i) => usesSentiment(i.instance));

/**
 * The strategy agent's machine: runs every strategy instance over the symbols each trades.
 * `active` turns bars into signals and order intents; `paused` keeps the strategies' state
 * current but sends nothing. Pure: time and ids come from events; strategy callbacks run under
 * the determinism guard.
 */
export const strategyMachine = setup({
  types: {
    context: {} as StrategyAgentContext,
    events: {} as StrategyEvent,
    input: {} as StrategyInput,
    emitted: {} as OutboxEmitted,
  },
  actions: {
    trade: assign(({ context, event }) => barStep(context, event as MessageEvent<'market.bar'>, true)),
    watch: assign(({ context, event }) => barStep(context, event as MessageEvent<'market.bar'>, false)),
    sentiment: assign(({ context, event }) =>
      each(context, (i) => onSentiment(i, event as MessageEvent<'sentiment.updated'>)),
    ),
    ended: assign(({ context, event }) =>
      toOwner(context, originOf(event), (i) => {
        switch (event.type) {
          case 'order.rejected':
            return onOrderEnded(i, event.payload.clientOrderId, 0, 'rejected');
          case 'order.failed':
            return onOrderEnded(i, event.payload.clientOrderId, 0);
          case 'order.cancelled':
            return onOrderEnded(i, event.payload.clientOrderId, event.payload.filledQty);
          case 'order.filled':
            return onOwnFill(i, event);
          default:
            return { outbox: NO_OUTPUT };
        }
      }),
    ),
    emitOutbox: emitOutbox<StrategyAgentContext, StrategyEvent>(),
  },
}).createMachine({
  id: 'strategy',
  context: ({ input }) => ({
    instances: Object.fromEntries(instancesOf(input).map((i) => [i.id, instanceContext(i)])),
    outbox: NO_OUTPUT,
  }),
  initial: 'active',
  on: {
    'partition.adopt': { actions: assign(({ context, event }) => withSlice(context, event.key, event.slice)) },
    'partition.drop': { actions: assign(({ context, event }) => withSlice(context, event.key, undefined)) },
    'order.rejected': { actions: 'ended' },
    'order.failed': { actions: 'ended' },
    'order.cancelled': { actions: 'ended' },
    'order.filled': { actions: ['ended', 'emitOutbox'] },
    'sentiment.updated': { actions: ['sentiment', 'emitOutbox'] },
  },
  states: {
    active: {
      on: {
        'market.bar': { actions: ['trade', 'emitOutbox'] },
        'strategy.pause': 'paused',
      },
    },
    paused: {
      on: {
        'market.bar': { actions: ['watch', 'emitOutbox'] },
        'strategy.resume': 'active',
      },
    },
  },
});
