import {
  type Envelope,
  matchesPattern,
  patterns,
  subjects,
  type SubjectPattern,
  type RiskStateChanged,
  silentLogger,
  type Logger,
  VirtualClock,
  sequentialIds,
  subjectFor,
  type MessageType,
} from '../../core/index.js';
import type { RecordedLine, RecordingBatch, RecordingHeader } from '../../infra/recording/index.js';
import { unboundedLimits } from '../../../agents/risk/index.js';
import { type TradingSettings, buildSystem, loadStrategies } from '../kernel/index.js';

/**
 * What a replay feeds the agents: facts from outside (market data, news, people's commands) and
 * the recorded scores of news items (`sentiment.scored`). Scores are fed, not made again: the
 * replay's sentiment agent scores nothing (an LLM is never asked twice, and a scorer changed since
 * the recording cannot make the replay diverge); it aggregates the recorded scores exactly as the
 * recorded run did, and its per-symbol sentiment (`sentiment.updated`) is compared as a decision.
 */
export const INPUT_TYPES: ReadonlySet<string> = new Set([
  'market.bar',
  'market.tick',
  'news.item',
  'sentiment.scored',
  'risk.command',
]);

/**
 * What a replay's reader checks in full: the inputs it feeds the agents. Everything else (the
 * recorded decisions it only compares, portfolio marks, heartbeats) is checked as an envelope.
 */
export const checkInputPayloads = (type: string): boolean => INPUT_TYPES.has(type);

/**
 * Subjects whose messages a replay neither feeds nor compares (portfolio marks, health, queries,
 * chat, dead letters, run announcements). A reader may count them without decoding them (the
 * stream reader checks them in its worker and hands over only the rest). No input or decision
 * type is published under them (a test holds this).
 */
export const UNUSED_SUBJECTS: readonly string[] = [
  patterns.portfolio,
  patterns.agents,
  patterns.queries,
  patterns.chat,
  patterns.dlq,
  patterns.runs,
];

/** What a replay compares: the agents' decisions. */
export const DECISION_TYPES: ReadonlySet<string> = new Set([
  'signal.generated',
  'order.intent',
  'order.approved',
  'order.rejected',
  'order.submitted',
  'order.filled',
  'order.cancelled',
  'order.failed',
  'order.cancel',
  'order.cancel-approved',
  'order.cancel-rejected',
  'risk.state',
  'sentiment.updated',
]);

/**
 * Where decisions are published: the replay listens there only, not to every bar and mark (a
 * test holds that each decision type's subject matches one of them).
 */
export const DECISION_PATTERNS: readonly SubjectPattern[] = [
  patterns.signals,
  patterns.orders,
  patterns.exact(subjects.riskState()),
  patterns.sentimentUpdates,
];

export interface ReplayOptions {
  /**
   * The recording in batches: its header first, then its lines (see src/infra/recording/recording.ts); a batch's
   * `skipped` counts lines read but not handed over.
   */
  readonly source: AsyncIterable<RecordingBatch>;
  /** `max`: as fast as the agents go; N: N times the recorded pacing (1 = as recorded). */
  readonly speed: 'max' | number;
  /** Event-time range of the inputs to feed (epoch ms, inclusive). */
  readonly from?: number;
  readonly to?: number;
  /** Only inputs on subjects matching one of these patterns. */
  readonly subjects?: readonly string[];
  /** Changes to the recorded settings (today's limits against yesterday's data). */
  readonly settings?: Partial<TradingSettings>;
  readonly logger?: Logger;
}

/** One decision, placed by its chain (correlation id), type and position among its kind there. */
export interface Decision {
  readonly key: string;
  readonly id: string;
  readonly type: string;
  readonly correlationId: string;
  readonly time: number;
  readonly payload: unknown;
}

export interface Divergence {
  readonly kind: 'missing' | 'extra' | 'different';
  readonly key: string;
  readonly recorded?: Decision;
  readonly replayed?: Decision;
  /** The input that started the chain, when it was replayed. */
  readonly input?: Envelope;
}

export interface ReplayResult {
  readonly header: RecordingHeader;
  /** Messages read from the recording (inputs, recorded decisions and the rest). */
  readonly events: number;
  readonly inputs: number;
  readonly recordedDecisions: number;
  readonly decisions: readonly Decision[];
  readonly divergences: readonly Divergence[];
  readonly elapsedMs: number;
  readonly inputsPerSecond: number;
}

/** JSON with keys in sorted order, so equal values print equally. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, (v as Record<string, unknown>)[k]]),
    );
  });
}

/** The decision log a replay writes: one canonical line per decision, byte-identical across replays. */
export function decisionLog(decisions: readonly Decision[]): string {
  return (
    decisions
      .map((d) => canonical({ key: d.key, id: d.id, type: d.type, time: d.time, payload: d.payload }))
      .join('\n') + (decisions.length > 0 ? '\n' : '')
  );
}

/** Places decisions by chain: `<correlationId>|<type>|<n>`, n counting that type within the chain. */
class Placer {
  /** Per chain, how many decisions of each type it has had. */
  readonly #counts = new Map<string, Record<string, number>>();
  place(env: Envelope): Decision {
    let chain = this.#counts.get(env.correlationId);
    if (!chain) this.#counts.set(env.correlationId, (chain = {}));
    const n = chain[env.type] ?? 0;
    chain[env.type] = n + 1;
    return {
      key: `${env.correlationId}|${env.type}|${n}`,
      id: env.id,
      type: env.type,
      correlationId: env.correlationId,
      time: env.time,
      payload: env.payload,
    };
  }
}

/**
 * The inputs a replay fed, to tell whether a decision's chain was fed (only those are compared)
 * and to show the input of a divergent chain. A decision comes after its input, in the recording
 * as in the replay: a replayed one while its input is fed, a recorded one a few messages later
 * (more in a recording of a distributed run), so an input is looked for among the last NEAR fed
 * first, and in an index of every id fed only when not found there (the index is brought up to
 * date then: most replays never build it). The envelope of one of the last RECENT inputs is kept
 * once a decision pins it; older unpinned ones are let go. In a replay of 50,000 bars most chains
 * decide nothing, and a bar kept for longer than a minor GC's interval is promoted and dies in the
 * old generation (4,096 kept cost a fifth of what survived minor GCs).
 */
class InputMemory {
  static readonly RECENT = 1024;
  static readonly NEAR = 64;
  /** The last RECENT inputs, input n at n % RECENT. */
  readonly #ring: (Envelope | undefined)[] = new Array<Envelope | undefined>(InputMemory.RECENT);
  #count = 0;
  /** Every id fed, in feeding order; the index holds the first `#indexed` of them (id -> number). */
  readonly #ids: string[] = [];
  readonly #index = new Map<string, number>();
  #indexed = 0;
  readonly #pinned = new Map<string, Envelope>();

  fed(env: Envelope): void {
    this.#ids.push(env.id);
    this.#ring[this.#count++ % InputMemory.RECENT] = env;
  }

  /** The feeding number of the latest input with this id, or -1. */
  #numberOf(id: string): number {
    const near = Math.min(this.#count, InputMemory.NEAR);
    for (let n = this.#count - 1; n >= this.#count - near; n--)
      if (this.#ring[n % InputMemory.RECENT]!.id === id) return n;
    for (; this.#indexed < this.#count; this.#indexed++) this.#index.set(this.#ids[this.#indexed]!, this.#indexed);
    return this.#index.get(id) ?? -1;
  }

  #recent(id: string): Envelope | undefined {
    const n = this.#numberOf(id);
    return n >= 0 && this.#count - n <= InputMemory.RECENT ? this.#ring[n % InputMemory.RECENT] : undefined;
  }

  /** Keeps input `id` for a divergence report (while it is one of the last RECENT); true when it was fed. */
  pin(id: string): boolean {
    if (this.#pinned.has(id)) return true;
    const n = this.#numberOf(id);
    if (n < 0) return false;
    if (this.#count - n <= InputMemory.RECENT) this.#pinned.set(id, this.#ring[n % InputMemory.RECENT]!);
    return true;
  }

  get(id: string): Envelope | undefined {
    return this.#pinned.get(id) ?? this.#recent(id);
  }
}

/** A risk agent's start announcement is a root with a fresh id: not a decision about the data. */
const isDecision = (env: Envelope) =>
  DECISION_TYPES.has(env.type) &&
  !(env.type === 'risk.state' && (env.payload as RiskStateChanged).cause.kind === 'start');

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Replays a recording through fresh agents: the recorded inputs (market data, news, people's
 * commands) are published, in recorded order, on a bus of the replay's own (in memory: it can
 * reach no live execution or broker; the broker is always the paper one), on a virtual clock
 * set from event time, with the recorded run id so every derived id is made again as it was.
 * The decisions made are compared with the recorded ones, matched by their place in their chain.
 */
export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const iterator = options.source[Symbol.asyncIterator]();
  const first = await iterator.next();
  const head = first.done ? undefined : first.value[0];
  if (!head || !('sextantRecording' in head)) throw new Error('the recording has no header');
  const header = head;
  const firstLines = (first.value as RecordingBatch).slice(1) as RecordedLine[];
  const recorded = header.settings as Partial<TradingSettings> | undefined;
  // never a live broker: whatever the recording used, the paper broker fills
  const { broker: _ignored, ...override } = options.settings ?? {};
  const settings: TradingSettings = {
    // a strategy file is loaded again from where it was recorded (the code under test)
    strategy: await loadStrategies(
      recorded?.strategy ?? { kind: 'sma-cross', id: 'sma-cross', fast: 10, slow: 30, size: 100 },
    ),
    // a recording made before buying power was checked decided without it (maxLeverage absent)
    limits: recorded?.limits
      ? { ...recorded.limits, maxLeverage: recorded.limits.maxLeverage ?? Number.MAX_VALUE }
      : unboundedLimits,
    costs: recorded?.costs ?? { feeBps: 0, feePerShare: 0, slippageBps: 0 },
    startCash: recorded?.startCash ?? 100_000,
    ...(recorded?.sentiment ? { sentiment: recorded.sentiment } : {}),
    ...override,
  };
  const clock = new VirtualClock(0);
  const ids = sequentialIds(`replay-${header.runId}`);
  const placer = new Placer();
  const decisions: Decision[] = [];
  const inputs = new InputMemory();
  const onDecision = (env: Envelope) => {
    if (!isDecision(env)) return;
    decisions.push(placer.place(env));
    inputs.pin(env.correlationId);
  };
  const system = await buildSystem({
    mode: 'replay',
    clock,
    ids,
    logger: options.logger ?? silentLogger,
    source: 'replay',
    bus: { name: 'sextant-replay', maxPayloadBytes: 16 * 1024 * 1024, requestTimeoutMs: 30_000, trustLocal: true },
    links: ({ bus }) => {
      for (const pattern of DECISION_PATTERNS) bus.subscribe(pattern, onDecision, { name: 'replay-decisions' });
      return [];
    },
    agents: () => ({
      instance: header.instance ?? 'replay',
      runId: header.runId,
      runIds: Object.fromEntries(
        (header.runs ?? []).filter((r) => !r.resumed).flatMap((r) => r.agents.map((a) => [a, r.runId])),
      ),
      heartbeatMs: 0,
      agents: ['portfolio', 'execution', 'risk', 'strategy', 'sentiment'],
      settings,
      sentiment: { mode: 'replay' },
    }),
  });
  const { bus } = system;

  const recordedPlacer = new Placer();
  const recordedDecisions: Decision[] = [];
  let fed = 0;
  let read = 0;
  let lastTime: number | undefined;
  const started = performance.now();
  try {
    await system.start();
    /** A recorded decision is kept for the comparison; an input that passes the filters is returned. */
    const accept = (line: RecordedLine): Envelope | undefined => {
      const { env } = line;
      read++;
      if (isDecision(env)) {
        // comparable only when its chain's input was fed (read before it: a decision follows its input)
        if (inputs.pin(env.correlationId)) recordedDecisions.push(recordedPlacer.place(env));
        return undefined;
      }
      if (!INPUT_TYPES.has(env.type)) return undefined;
      if (options.from !== undefined && env.time < options.from) return undefined;
      if (options.to !== undefined && env.time > options.to) return undefined;
      if (options.subjects && !options.subjects.some((p) => matchesPattern(p, line.subject))) return undefined;
      return env;
    };
    const run = async (batch: RecordingBatch<RecordedLine>) => {
      read += batch.skipped ?? 0;
      for (const line of batch) {
        const env = accept(line);
        if (!env) continue;
        // at max speed there is no await in this loop: a batch is fed in one go
        if (options.speed !== 'max' && lastTime !== undefined && env.time > lastTime)
          await sleep((env.time - lastTime) / options.speed);
        lastTime = env.time;
        clock.observe(env.time);
        inputs.fed(env);
        // on the subject the catalog gives it today (a risk command recorded on `risk.command` before the
        // command was part of its subject goes where risk reads it); the in-memory bus handles the whole chain
        // before returning
        bus.publish(subjectFor(env.type as MessageType, env.payload as never), env);
        fed++;
      }
      await new Promise((r) => setImmediate(r));
    };
    await run(Object.assign(firstLines, { skipped: (first.value as RecordingBatch).skipped ?? 0 }));
    for (let next = await iterator.next(); !next.done; next = await iterator.next())
      await run(next.value as RecordingBatch<RecordedLine>);
  } finally {
    await iterator.return?.(undefined); // a reader stopped early (an error) lets go of its file or worker
    await system.stop();
  }
  const elapsedMs = performance.now() - started;
  return {
    header,
    events: read,
    inputs: fed,
    recordedDecisions: recordedDecisions.length,
    decisions,
    divergences: compare(recordedDecisions, decisions, inputs),
    elapsedMs: Math.round(elapsedMs),
    inputsPerSecond: Math.round(fed / (elapsedMs / 1000)),
  };
}

const isPlainObject = (v: object): v is Record<string, unknown> => {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * Equal as plain data (objects, arrays, primitives), key order aside, a key set to undefined
 * counting as absent (as JSON prints it). False for anything else (a Date, NaN), which the
 * caller then compares as JSON.
 */
export function samePlainData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!samePlainData(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b) || !isPlainObject(a) || !isPlainObject(b)) return false;
  let keys = 0;
  for (const k in a) {
    if (a[k] === undefined) continue;
    keys++;
    if (!samePlainData(a[k], b[k])) return false;
  }
  for (const k in b) if (b[k] !== undefined) keys--;
  return keys === 0;
}

/** Every recorded decision without an equal replayed one at its place, and every new one. */
export function compare(
  recorded: readonly Decision[],
  replayed: readonly Decision[],
  inputs: { get(id: string): Envelope | undefined },
): Divergence[] {
  // the replayed decisions not (yet) matched, in the order they were made (keys are unique)
  const unmatched = new Map<string, Decision>();
  for (const d of replayed) unmatched.set(d.key, d);
  const out: Divergence[] = [];
  const input = (d: Decision) => inputs.get(d.correlationId);
  for (const r of recorded) {
    const n = unmatched.get(r.key);
    if (n) unmatched.delete(r.key);
    // equal as plain data almost always; canonical JSON decides only when they are not (a value
    // that prints alike but is not the same data: NaN and null, a class instance)
    if (n && (samePlainData(n.payload, r.payload) || canonical(n.payload) === canonical(r.payload))) continue;
    const at = input(r);
    out.push(
      n
        ? { kind: 'different', key: r.key, recorded: r, replayed: n, ...(at ? { input: at } : {}) }
        : { kind: 'missing', key: r.key, recorded: r, ...(at ? { input: at } : {}) },
    );
  }
  for (const n of unmatched.values()) {
    const at = input(n);
    out.push({ kind: 'extra', key: n.key, replayed: n, ...(at ? { input: at } : {}) });
  }
  return out;
}
