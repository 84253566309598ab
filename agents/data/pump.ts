import { type AgentApi, subjects, type Bar, type Envelope, type Subject } from '../../src/core/index.js';
import { quiesce } from '../../bus/index.js';
import { isLiveFeed, type AnyFeed, type FeedItem } from './feeds/feed.js';
import type { DataContext, DataEvent } from './machine.js';
import { defaultBarGuard, guardBar, type BarGuardOptions, type SymbolGuard } from './bar-guard.js';

export interface PumpOptions {
  /** Wall-clock pause between items (real-time pacing); 0 = as fast as the agents go. */
  readonly paceMs: number;
  /** Items between yields to the event loop (and bus flushes) when not paced. */
  readonly batch?: number;
  /** Called after every batch with the number of items published so far. */
  readonly onProgress?: (items: number) => void;
  /**
   * Items of the feed already published by an earlier run of this process (recovery): they are
   * read again into the market cache, not published. Only replayable (file, seeded) feeds.
   */
  readonly skip?: number;
  /** Counts the feed's items handled so far, skipped ones included (what a checkpoint records). */
  readonly cursor?: FeedCursor;
  /** Awaited before each batch (paced: each item): the store's back-pressure. */
  readonly gate?: () => Promise<void>;
  /**
   * Every item's consequences handled (the bus quiet) before the next item goes out, as the
   * in-memory bus does by itself: a NATS backtest whose orders rest (brackets, limits, stops), where
   * execution must not match a resting order against a bar before the strategy's reaction to the
   * bar before it (an exit that cancels it) has arrived, nor the strategy decide on a bar before
   * that bar's fills have reached it. Costs a bus round trip or two per item.
   */
  readonly lockstep?: boolean;
  /** A live feed: closed candles a symbol may miss before the agent reports itself degraded (default 3). */
  readonly staleAfterBars?: number;
  /** What a bar must pass to be published (default: defaultBarGuard). */
  readonly guard?: BarGuardOptions;
  /**
   * A restart catching up (src/app/kernel/catch-up.ts): the first `items` feed items after `skip` are
   * the ones published before the crash; they go out unpaced, each once the bus is quiet, with
   * the outside messages `inject(i)` published before item i (and `inject(items)` after the last);
   * then `done()`, and the feed goes on as usual.
   */
  readonly catchUp?: {
    readonly items: number;
    inject(at: number): readonly { readonly subject: string; readonly env: Envelope }[];
    done(): void;
  };
}

/** The position of a feed: how many of its items have been published, over all runs. */
export interface FeedCursor {
  published: number;
  /** A live feed: the time of the last bar published per symbol (where a restart resumes). */
  lastBars?: Record<string, number>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Publishes every item of a feed in order as `market.bar.<sym>` / `market.tick.<sym>` roots
 * with the item's own time as event time. Unpaced runs wait after every batch until the bus is
 * quiet (every consequence of the batch handled), which bounds the work in flight: a NATS
 * subscriber that falls far behind is cut off as a slow consumer, and a decision must not fall
 * further behind the bars than the market cache remembers.
 */
export async function pumpFeed(api: AgentApi, feed: AnyFeed, options: PumpOptions): Promise<void> {
  const batch = options.batch ?? 1000;
  const send = (event: DataEvent) => api.send(event);
  send({ type: 'feed.started', feed: feed.name });
  let bars = 0;
  let ticks = 0;
  let last = 0;
  // ticks of one symbol may share a time: their key counts them
  let tickKey = '';
  let tickSeq = 0;
  const cursor = options.cursor ?? { published: 0 };
  let skip = options.skip ?? 0;
  const guardOptions = options.guard ?? defaultBarGuard;
  const guards = new Map<string, SymbolGuard>();
  /** True when the bar may be published; a refused one is dead-lettered, counted and logged. */
  const passes = (bar: Bar, quiet: boolean): boolean => {
    const prev = guards.get(bar.symbol);
    let v = guardBar(prev, bar, guardOptions);
    // beyond the band: an operator's acceptance (data.accept-price) waits in the machine's context
    // (read only then: the context is not looked at for every bar)
    if (!v.ok && v.code === 'price_band') {
      const accepted = (api.context() as DataContext).acceptJumps?.[bar.symbol];
      if (accepted) v = guardBar(prev, bar, guardOptions, accepted);
    }
    guards.set(bar.symbol, v.next);
    if (v.ok) {
      if (v.note && !quiet) api.log.warn({ symbol: bar.symbol }, v.note);
      if (v.operator) send({ type: 'price.accepted', symbol: bar.symbol });
      return true;
    }
    // on a resumed run the refusals before the restart were reported then
    if (!quiet) {
      api.deadLetter(subjects.marketBar(bar.symbol), v.code, v.reason, bar);
      send({ type: 'feed.refused', code: v.code });
    }
    return false;
  };
  // catching up after a restart: items published before the crash go out again before anything new
  const catchUp = options.catchUp;
  let caught = 0;
  const injectAt = (at: number) => {
    for (const m of catchUp!.inject(at)) api.bus.publish(m.subject as Subject, m.env);
  };
  const caughtUp = async () => {
    injectAt(catchUp!.items);
    await quiesce(api.bus);
    caught = Infinity;
    catchUp!.done();
  };
  if (catchUp && catchUp.items === 0) await caughtUp();
  /** One item: published (or skipped, refused); a promise only when the loop must wait (batch end, pacing). */
  const handle = (item: FeedItem): Promise<void> | undefined => {
    let key: string;
    if (item.kind === 'bar') key = `${item.bar.symbol}@${item.bar.time}`;
    else {
      const at = `${item.tick.symbol}@${item.tick.time}`;
      tickSeq = at === tickKey ? tickSeq + 1 : 0;
      tickKey = at;
      key = `${at}#${tickSeq}`;
    }
    cursor.published++;
    if (skip > 0) {
      skip--;
      if (item.kind === 'bar') {
        if (passes(item.bar, true)) api.market.onBar(item.bar);
      } else api.market.onTick(item.tick);
      return undefined;
    }
    const catching = catchUp !== undefined && caught < catchUp.items;
    if (catching) injectAt(caught);
    if (item.kind === 'bar') {
      if (!passes(item.bar, false)) {
        if (catching && ++caught === catchUp.items) return caughtUp();
        return undefined;
      }
      api.clock.observe(item.bar.time);
      api.publishRoot('market.bar', item.bar, item.bar.time, key);
      if (lastBars) lastBars[item.bar.symbol] = item.bar.time;
      bars++;
      last = item.bar.time;
    } else {
      api.clock.observe(item.tick.time);
      api.publishRoot('market.tick', item.tick, item.tick.time, key);
      ticks++;
      last = item.tick.time;
    }
    if (catching)
      // each item's consequences (broker calls included) as they were before the next one
      return (async () => {
        await quiesce(api.bus);
        if (++caught === catchUp.items) await caughtUp();
      })();
    const atBatchEnd = (bars + ticks) % batch === 0;
    if (options.paceMs === 0 && !atBatchEnd && !options.lockstep) return undefined;
    return (async () => {
      if (options.paceMs > 0) await sleep(options.paceMs);
      else await quiesce(api.bus);
      await options.gate?.();
      if (atBatchEnd) {
        send({ type: 'feed.progress', bars, ticks, skipped: feed.skipped });
        options.onProgress?.(bars + ticks);
      }
    })();
  };
  // a live feed resumes after these (the feed knows them from the checkpoint it was opened with)
  const lastBars = isLiveFeed(feed) ? (cursor.lastBars ??= {}) : undefined;
  if (lastBars && isLiveFeed(feed))
    for (const [symbol, s] of Object.entries(feed.stats().symbols))
      if (s.lastBarTime !== undefined) lastBars[symbol] = s.lastBarTime;
  try {
    if (isLiveFeed(feed))
      // a live feed: each item when it happens; close() (the agent stopping) ends the iteration
      for await (const item of feed) {
        if (api.stopping) break;
        const wait = handle(item);
        if (wait) await wait;
      }
    else
      for (const item of feed) {
        if (api.stopping) break;
        const wait = handle(item);
        if (wait) await wait;
      }
  } catch (err) {
    send({ type: 'feed.failed', error: (err as Error).message });
    throw err;
  }
  if (catchUp && caught < catchUp.items) {
    api.log.warn(
      { caught, expected: catchUp.items },
      'the feed ended before the catch-up did: it has fewer items than the event log after the checkpoint',
    );
    await caughtUp();
  }
  await api.bus.flush();
  if (api.stopping) send({ type: 'feed.stopped', bars, ticks, skipped: feed.skipped });
  else send({ type: 'feed.completed', bars, ticks, skipped: feed.skipped, time: last });
  options.onProgress?.(bars + ticks);
}
