import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Envelope } from '../src/core/messaging/envelope.js';
import { derivedId } from '../src/core/ports/ids.js';
import { openEmbeddedStore } from '../src/infra/store/embedded/embedded-store.js';
import type { EventQuery, RecordedEvent, Store } from '../src/infra/store/ports.js';
import { causalOrder } from '../src/infra/store/store-queries.js';
import { formatTable, toMB } from './harness.js';

/**
 * The embedded store's soak: appends N events (default 200,000; `--soak-events=5000000` for the
 * full run) as the recorder does (batches of 2,000, fsync interval), made like a live run's:
 * minute bars for three symbols, each bar with its portfolio mark, every tenth bar a signal
 * whose chain goes intent, approval, submission, fill, portfolio update, agent heartbeats every
 * five minutes and a conversation an hour. At 20 points along the way it asks the three read
 * paths of the interfaces, each timed alone:
 * - `trace`: a chain by correlation id (a random order chain from the whole history), causal order;
 * - `why`: the latest signal of a symbol (events, type + symbol, newest, limit 1), then its trace;
 * - `events`: the audit-log queries of `GET /api/v1/events` (by type, by symbol and time window,
 *   the newest page of a person's view, a window with an offset).
 * It reports p50/p99 per query over all points and at each point, and RSS at each point (the
 * store keeps nothing per event in memory, so it should stay flat while the file grows).
 */

export interface SoakPoint {
  readonly events: number;
  readonly rssMB: number;
  readonly fileMB: number;
  readonly appendEventsPerSecond: number;
  readonly p99Ms: Record<QueryName, number>;
}

export interface SoakResult {
  readonly events: number;
  readonly symbols: readonly string[];
  readonly minutes: number;
  readonly elapsedMs: number;
  readonly appendEventsPerSecond: number;
  readonly queries: Record<QueryName, { samples: number; p50Ms: number; p99Ms: number; maxMs: number }>;
  readonly points: SoakPoint[];
  readonly rssMB: { first: number; last: number; max: number };
  readonly fileMB: number;
  readonly goalP99Ms: number;
  readonly met: boolean;
}

type QueryName = 'trace' | 'why' | 'events';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'ORCL'] as const;
const BATCH = 2000;
const POINTS = 20;
const SAMPLES_PER_POINT = 40;
const GOAL_P99_MS = 50;
const AGENTS = ['data', 'strategy', 'risk', 'execution', 'portfolio', 'sentiment'] as const;

/** A deterministic pseudo-random sequence (mulberry32): the same run every time. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Makes the events of a live run minute by minute; remembers the order chains and signals for the queries. */
class RunMaker {
  /**
   * A uniform sample of the order chains made so far (reservoir sampling, bounded: the bench's own
   * memory must not grow with the run, or RSS would say nothing of the store's): the correlation
   * id and how many events had been made when the chain was complete.
   */
  readonly chains: { id: string; madeBy: number }[] = [];
  #seen = 0;
  made = 0;
  readonly t0 = Date.UTC(2025, 0, 1);
  minute = 0;
  readonly #price = new Map<string, number>(SYMBOLS.map((s) => [s, 100]));
  readonly #rand = random(7);
  #n = 0;

  #env(time: number, type: string, payload: unknown, parent?: Envelope): Envelope {
    const id = derivedId(time, ['soak', type, this.#n++]);
    return {
      id,
      type,
      v: 1,
      source: `${type.split('.')[0]}/soak`,
      correlationId: parent?.correlationId ?? id,
      ...(parent ? { causationId: parent.id } : {}),
      time,
      payload,
    } as Envelope;
  }

  #keep(chain: { id: string; madeBy: number }): void {
    this.#seen++;
    if (this.chains.length < 4096) this.chains.push(chain);
    else {
      const at = Math.floor(this.#rand() * this.#seen);
      if (at < this.chains.length) this.chains[at] = chain;
    }
  }

  /** The events of the next minute. */
  next(): RecordedEvent[] {
    const out: RecordedEvent[] = [];
    const time = this.t0 + this.minute * 60_000;
    const push = (subject: string, env: Envelope) => {
      out.push({ subject, env });
      return env;
    };
    for (const symbol of SYMBOLS) {
      const open = this.#price.get(symbol)!;
      const close = Math.max(1, open * (1 + (this.#rand() - 0.5) * 0.004));
      this.#price.set(symbol, close);
      const bar = push(
        `market.bar.${symbol}`,
        this.#env(time, 'market.bar', {
          symbol,
          time,
          open,
          high: Math.max(open, close) * 1.0005,
          low: Math.min(open, close) * 0.9995,
          close,
          volume: 1234,
        }),
      );
      const mark = {
        cash: 100_000,
        equity: 100_000 + close,
        positions: [{ symbol, qty: 1, avgPrice: open, lastPrice: close }],
      };
      push('portfolio.updated', this.#env(time + 1, 'portfolio.updated', mark, bar));
      if ((this.minute + symbol.length) % 10 !== 0) continue;
      const side = this.#rand() < 0.5 ? 'buy' : 'sell';
      const clientOrderId = `sma-cross-${bar.id}`;
      const signal = push(
        `signal.${symbol}`,
        this.#env(
          time + 2,
          'signal.generated',
          {
            symbol,
            side,
            strategy: 'sma-cross',
            reasons: ['SMA10 crossed above SMA30'],
            indicators: { fast: close, slow: open },
          },
          bar,
        ),
      );
      const intent = push(
        'order.intent',
        this.#env(time + 3, 'order.intent', { symbol, side, qty: 10, type: 'market', clientOrderId }, signal),
      );
      const approved = push(
        'order.approved',
        this.#env(
          time + 4,
          'order.approved',
          { clientOrderId, symbol, side, qty: 10, checks: ['buying_power', 'position'] },
          intent,
        ),
      );
      const submitted = push(
        'order.submitted',
        this.#env(time + 5, 'order.submitted', { clientOrderId, symbol, brokerOrderId: `paper-${this.#n}` }, approved),
      );
      const filled = push(
        'order.filled',
        this.#env(
          time + 60_000,
          'order.filled',
          { clientOrderId, symbol, side, qty: 10, price: close, fee: 0.1 },
          submitted,
        ),
      );
      push('portfolio.updated', this.#env(time + 60_001, 'portfolio.updated', mark, filled));
      this.#keep({ id: bar.correlationId, madeBy: this.made + out.length });
    }
    if (this.minute % 5 === 0) {
      for (const agent of AGENTS)
        push(`agent.health.${agent}`, this.#env(time + 10, 'agent.health', { agent, state: 'running' }));
    }
    if (this.minute % 60 === 0) {
      const user = this.minute % 120 === 0 ? 'api:alice' : 'telegram:42';
      push(
        'chat.exchange',
        this.#env(time + 20, 'chat.exchange', { user, question: 'why ORCL?', answer: 'The SMA crossed.' }),
      );
    }
    this.minute++;
    this.made += out.length;
    return out;
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! * 100) / 100;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  const result = await fn();
  const ms = performance.now() - started;
  if (Array.isArray(result) && result.length === 0) throw new Error('a soak query found nothing: the bench is wrong');
  return ms;
}

/** One sample of each query at the store's current size. */
function queries(
  store: Store,
  maker: RunMaker,
  stored: { events: number; lastTime: number },
  rand: () => number,
): Record<QueryName, () => Promise<unknown>> {
  const now = stored.lastTime;
  const symbol = SYMBOLS[Math.floor(rand() * SYMBOLS.length)]!;
  const complete = maker.chains.filter((c) => c.madeBy <= stored.events);
  const chain = complete[Math.floor(rand() * complete.length)]!.id;
  const trace = async (correlationId: string) =>
    causalOrder(await store.events.query({ correlationId, limit: 10_000 }));
  // a window starting in the first 80% of what is stored, so that it holds a page and its offset
  const from = maker.t0 + Math.floor(rand() * 0.8 * ((now - maker.t0) / 60_000)) * 60_000;
  const eventQueries: EventQuery[] = [
    { type: 'order.filled', limit: 100, newest: true },
    { symbol, from, to: from + 86_400_000, limit: 100 },
    { type: 'market.bar', symbol, limit: 100, newest: true },
    { visibleTo: 'api:alice', limit: 100, newest: true },
    { from, to: now, limit: 100, offset: 200 },
  ];
  const eventQuery = eventQueries[Math.floor(rand() * eventQueries.length)]!;
  return {
    trace: () => trace(chain),
    why: async () => {
      const last = (await store.events.query({ type: 'signal.generated', symbol, limit: 1, newest: true }))[0];
      if (!last) return [];
      return trace(last.env.correlationId);
    },
    events: () => store.events.query(eventQuery),
  };
}

export async function runStoreSoakBench(
  options: { events?: number; log?: (line: string) => void } = {},
): Promise<SoakResult> {
  const target = options.events ?? 200_000;
  const log = options.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'sextant-soak-'));
  const store = await openEmbeddedStore({ dir, fsync: 'interval' });
  const maker = new RunMaker();
  const rand = random(11);
  const all: Record<QueryName, number[]> = { trace: [], why: [], events: [] };
  const points: SoakPoint[] = [];
  const file = join(dir, 'sextant.db');
  let appended = 0;
  let lastTime = 0;
  let appendMs = 0;
  let pending: RecordedEvent[] = [];
  const started = performance.now();
  try {
    for (let point = 1; point <= POINTS; point++) {
      const until = Math.round((target * point) / POINTS);
      const pointStart = performance.now();
      const pointFrom = appended;
      while (appended < until) {
        while (pending.length < BATCH) pending.push(...maker.next());
        const batch = pending.slice(0, Math.min(BATCH, until - appended));
        pending = pending.slice(batch.length);
        const t = performance.now();
        await store.events.append(batch);
        appendMs += performance.now() - t;
        appended += batch.length;
        lastTime = Math.max(lastTime, ...batch.map((e) => e.env.time));
      }
      const pointAppendMs = performance.now() - pointStart;
      const samples: Record<QueryName, number[]> = { trace: [], why: [], events: [] };
      for (let i = 0; i < SAMPLES_PER_POINT; i++) {
        const q = queries(store, maker, { events: appended, lastTime }, rand);
        for (const name of ['trace', 'why', 'events'] as const) samples[name].push(await timed(q[name]));
      }
      for (const name of ['trace', 'why', 'events'] as const) all[name].push(...samples[name]);
      const p99 = (name: QueryName) =>
        percentile(
          [...samples[name]].sort((a, b) => a - b),
          99,
        );
      const walMB = (() => {
        try {
          return statSync(`${file}-wal`).size;
        } catch {
          return 0;
        }
      })();
      const sample: SoakPoint = {
        events: appended,
        rssMB: toMB(process.memoryUsage.rss()),
        fileMB: toMB(statSync(file).size + walMB),
        appendEventsPerSecond: Math.round((appended - pointFrom) / (pointAppendMs / 1000)),
        p99Ms: { trace: p99('trace'), why: p99('why'), events: p99('events') },
      };
      points.push(sample);
      log(
        `${appended.toLocaleString('en-US')} events: p99 trace ${sample.p99Ms.trace} ms, why ${sample.p99Ms.why} ms, events ${sample.p99Ms.events} ms; RSS ${sample.rssMB} MB; file ${sample.fileMB} MB`,
      );
    }
    const count = await store.events.count();
    if (count !== appended) throw new Error(`appended ${appended} events, the store counts ${count}`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const stats = (name: QueryName) => {
    const sorted = [...all[name]].sort((a, b) => a - b);
    return {
      samples: sorted.length,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: Math.round(sorted[sorted.length - 1]! * 100) / 100,
    };
  };
  const q = { trace: stats('trace'), why: stats('why'), events: stats('events') };
  const rss = points.map((p) => p.rssMB);
  const result: SoakResult = {
    events: appended,
    symbols: SYMBOLS,
    minutes: maker.minute,
    elapsedMs: Math.round(performance.now() - started),
    appendEventsPerSecond: Math.round(appended / (appendMs / 1000)),
    queries: q,
    points,
    rssMB: { first: rss[0]!, last: rss[rss.length - 1]!, max: Math.max(...rss) },
    fileMB: points[points.length - 1]!.fileMB,
    goalP99Ms: GOAL_P99_MS,
    met: q.trace.p99Ms < GOAL_P99_MS && q.why.p99Ms < GOAL_P99_MS && q.events.p99Ms < GOAL_P99_MS,
  };
  console.log(
    formatTable([
      ['query', 'samples', 'p50 ms', 'p99 ms', 'max ms'],
      ...(['trace', 'why', 'events'] as const).map((n) => [n, q[n].samples, q[n].p50Ms, q[n].p99Ms, q[n].maxMs]),
    ]),
  );
  return result;
}
