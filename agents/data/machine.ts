import { assign, setup } from 'xstate';
import { emitOutbox, NO_OUTPUT, out, type OutboxEmitted, type WithOutbox } from '../../src/core/index.js';

export interface DataContext extends WithOutbox {
  readonly feed: string;
  readonly bars: number;
  readonly ticks: number;
  readonly skipped: number;
  /** Bars refused before publication (agents/data/bar-guard.ts), by reason code. */
  readonly refused?: Readonly<Record<string, number>>;
  readonly error: string | undefined;
  /**
   * Price jumps an operator accepted, by symbol: the next bar of the symbol beyond the band is
   * published (and the entry cleared) instead of held back for confirming bars.
   */
  readonly acceptJumps?: Readonly<Record<string, { readonly by: string; readonly reason: string }>>;
}

export type DataEvent =
  | { type: 'feed.started'; feed: string }
  | { type: 'feed.progress'; bars: number; ticks: number; skipped: number }
  | { type: 'feed.completed'; bars: number; ticks: number; skipped: number; time: number }
  | { type: 'feed.failed'; error: string }
  | { type: 'feed.refused'; code: string }
  | { type: 'feed.stopped'; bars: number; ticks: number; skipped: number }
  | { type: 'price.accept'; symbol: string; by: string; reason: string }
  | { type: 'price.accepted'; symbol: string };

/**
 * The data agent's machine: the feed's lifecycle (idle -> streaming -> completed | stopped |
 * failed) and
 * its counts. Bars and ticks themselves are published by the feed pump as chain roots: they
 * are facts from the feed, not decisions, so they do not pay for a machine step each.
 */
export const dataMachine = setup({
  types: { context: {} as DataContext, events: {} as DataEvent, emitted: {} as OutboxEmitted },
  actions: {
    started: assign(({ event }) => ({
      feed: (event as Extract<DataEvent, { type: 'feed.started' }>).feed,
      outbox: NO_OUTPUT,
    })),
    progress: assign(({ event }) => {
      const e = event as Extract<DataEvent, { type: 'feed.progress' | 'feed.stopped' }>;
      return { bars: e.bars, ticks: e.ticks, skipped: e.skipped, outbox: NO_OUTPUT };
    }),
    completed: assign(({ context, event }) => {
      const e = event as Extract<DataEvent, { type: 'feed.completed' }>;
      return {
        bars: e.bars,
        ticks: e.ticks,
        skipped: e.skipped,
        outbox: [
          out(
            'market.feed-completed',
            { feed: context.feed, bars: e.bars, ticks: e.ticks, skipped: e.skipped },
            { root: true, time: e.time },
          ),
        ],
      };
    }),
    failed: assign(({ event }) => ({
      error: (event as Extract<DataEvent, { type: 'feed.failed' }>).error,
      outbox: NO_OUTPUT,
    })),
    refused: assign(({ context, event }) => {
      const { code } = event as Extract<DataEvent, { type: 'feed.refused' }>;
      return { refused: { ...context.refused, [code]: (context.refused?.[code] ?? 0) + 1 }, outbox: NO_OUTPUT };
    }),
    acceptJump: assign(({ context, event }) => {
      const e = event as Extract<DataEvent, { type: 'price.accept' }>;
      return {
        acceptJumps: { ...context.acceptJumps, [e.symbol]: { by: e.by, reason: e.reason } },
        outbox: [
          out('data.accept-price-result', {
            symbol: e.symbol,
            accepted: true,
            reason: `the next ${e.symbol} bar beyond the price band will be published, not held back (accepted by ${e.by}: ${e.reason})`,
          }),
        ],
      };
    }),
    jumpTaken: assign(({ context, event }) => {
      const { symbol } = event as Extract<DataEvent, { type: 'price.accepted' }>;
      const { [symbol]: _taken, ...rest } = context.acceptJumps ?? {};
      return { acceptJumps: rest, outbox: NO_OUTPUT };
    }),
    emitOutbox: emitOutbox<DataContext, DataEvent>(),
  },
}).createMachine({
  id: 'data',
  context: { feed: '', bars: 0, ticks: 0, skipped: 0, error: undefined, outbox: NO_OUTPUT },
  initial: 'idle',
  // an operator's acceptance is taken before and while the feed runs (a finished feed answers no more)
  on: {
    'price.accept': { actions: ['acceptJump', 'emitOutbox'] },
    'price.accepted': { actions: 'jumpTaken' },
  },
  states: {
    idle: { on: { 'feed.started': { target: 'streaming', actions: 'started' } } },
    streaming: {
      on: {
        'feed.progress': { actions: 'progress' },
        'feed.refused': { actions: 'refused' },
        'feed.completed': { target: 'completed', actions: ['completed', 'emitOutbox'] },
        'feed.failed': { target: 'failed', actions: 'failed' },
        'feed.stopped': { target: 'stopped', actions: 'progress' },
      },
    },
    stopped: { type: 'final' },
    completed: { type: 'final' },
    failed: { type: 'final' },
  },
});
