import { randomBytes } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Bus } from '../src/core/messaging/bus.js';
import { encodeEnvelope } from '../bus/codec.js';
import { createBus } from '../bus/create-bus.js';
import { rootEnvelope, type EnvelopeDeps } from '../src/core/messaging/envelope.js';
import { subjects } from '../src/core/messaging/subjects.js';
import { createRegistry, type Bar } from '../src/core/domain/messages.js';
import { silentLogger } from '../src/core/ports/logger.js';
import { systemClock } from '../src/core/ports/clock.js';
import { ulidSource } from '../src/core/ports/ids.js';
import { formatTable, median, perSecond, RssSampler, toMB, writeResults } from './harness.js';

/**
 * Bus throughput: raw nats.js pub/sub vs the same flow through the Bus over NATS vs the
 * in-memory Bus, in one run on one machine. Publisher and subscriber share this process (one
 * thread), so a figure is the cost of publishing *and* receiving a message.
 *
 * All three flows use the same publish loop: flush every {@link FLUSH_EVERY} messages and never
 * run more than {@link MAX_IN_FLIGHT} messages ahead of the subscriber (so a fast publisher
 * cannot get the subscriber disconnected as a slow consumer). Rounds are interleaved
 * (raw, bus, memory, raw, ...) so drift on a shared machine hits every flow alike; the figure
 * reported is the median round.
 */

export interface BusBenchOptions {
  /** NATS server; unset (or unreachable) means only the in-memory figure is measured. */
  natsUrl?: string;
  /** Messages per measured round; default 200 000. */
  messages?: number;
  /** Measured rounds per flow; default 3. */
  rounds?: number;
  /** Progress lines; default none. */
  log?: (line: string) => void;
}

export interface FlowFigures {
  /** Median round, messages per second (publish + receive). */
  readonly msgPerSec: number;
  /** Each round, messages per second, in run order. */
  readonly roundsMsgPerSec: readonly number[];
  /** Median round wall time, ms. */
  readonly roundMs: number;
  /** Wall microseconds per message at the median rate. */
  readonly usPerMsg: number;
  /**
   * This process's CPU (user + system) per message, µs, median round: steadier than wall time
   * on a busy machine. Excludes the NATS server's own CPU.
   */
  readonly cpuUsPerMsg: number;
  /** Peak RSS sampled during this flow's rounds, MB. */
  readonly peakRssMB: number;
  /** Encoded message body, bytes (without NATS headers). */
  readonly bodyBytes: number;
}

export interface BusBenchResult {
  readonly bench: 'bus';
  readonly messages: number;
  readonly rounds: number;
  readonly flushEvery: number;
  readonly maxInFlight: number;
  /** The NATS URL used, or null when the NATS flows did not run. */
  readonly natsUrl: string | null;
  readonly natsServerVersion: string | null;
  /** Why the NATS flows did not run, when they did not. */
  readonly natsError: string | null;
  /** Baseline: one pre-encoded body published N times; the subscriber parses each. */
  readonly rawNats: FlowFigures | null;
  /** Context: like rawNats, but the publisher JSON-encodes an object per message. */
  readonly rawNatsEncode: FlowFigures | null;
  readonly busNats: FlowFigures | null;
  readonly memoryBus: FlowFigures;
  /** busNats / rawNats: the figure the goal applies to. */
  readonly ratio: number | null;
  /** busNats / rawNatsEncode, for context. */
  readonly ratioVsRawEncode: number | null;
  readonly ratioGoal: number;
  readonly meetsGoal: boolean | null;
}

const FLUSH_EVERY = 1000;
const MAX_IN_FLIGHT = 20_000;
const WARMUP_MESSAGES = 20_000;
const STALL_MS = 15_000;
const RATIO_GOAL = 0.5;

/** A realistic payload: one daily bar. */
const BAR: Bar = {
  symbol: 'BENCH',
  time: 1_700_000_000_000,
  open: 101.25,
  high: 103.5,
  low: 100.75,
  close: 102.875,
  volume: 1_234_567,
  intervalMs: 86_400_000,
};

/** Counts receipts and lets the publisher wait until a count is reached. */
class Counter {
  count = 0;
  #want = Number.POSITIVE_INFINITY;
  #resolve: (() => void) | undefined;

  inc(): void {
    if (++this.count >= this.#want) {
      const resolve = this.#resolve!;
      this.#want = Number.POSITIVE_INFINITY;
      this.#resolve = undefined;
      resolve();
    }
  }

  /** Resolves once `count >= n`; rejects if the count stops moving for {@link STALL_MS}. */
  reached(n: number): Promise<void> {
    if (this.count >= n) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let last = this.count;
      const watchdog = setInterval(() => {
        if (this.count === last) {
          clearInterval(watchdog);
          reject(
            new Error(
              `subscriber stalled at ${this.count} of ${n} messages for ${STALL_MS} ms (slow consumer? server gone?)`,
            ),
          );
        }
        last = this.count;
      }, STALL_MS);
      this.#want = n;
      this.#resolve = () => {
        clearInterval(watchdog);
        resolve();
      };
    });
  }
}

/** One thing to measure: publish `n` messages and wait until the subscriber has all of them. */
interface Flow {
  readonly name: string;
  readonly bodyBytes: number;
  readonly received: Counter;
  publish(i: number): void;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** The publish loop every flow shares; returns wall ms from first publish to last receipt. */
async function runRound(flow: Flow, n: number): Promise<number> {
  flow.received.count = 0;
  const started = performance.now();
  for (let i = 0; i < n;) {
    flow.publish(i);
    if (++i % FLUSH_EVERY === 0) {
      await flow.flush();
      if (i - flow.received.count > MAX_IN_FLIGHT) await flow.received.reached(i - MAX_IN_FLIGHT);
      // Lets timers (RSS sampler, watchdogs) run even when the transport never yields.
      if (i % (FLUSH_EVERY * 16) === 0) await yieldToLoop();
    }
  }
  await flow.flush();
  await flow.received.reached(n);
  return performance.now() - started;
}

/**
 * Plain nats.js: the baseline. `encodeEach` false publishes one pre-encoded body (the transport
 * alone); true JSON-encodes an object per message, as any real publisher of JSON must (context
 * for the ratio: the Bus also encodes per message).
 */
async function rawNatsFlow(url: string, subject: string, encodeEach: boolean): Promise<Flow> {
  const servers = url.split(',').map((s) => s.trim());
  const pub = await connect({ servers, name: 'bench-raw-pub', timeout: 3000 });
  const sub = await connect({ servers, name: 'bench-raw-sub', timeout: 3000 });
  const sample = rootEnvelope(benchDeps('data/bench'), 'market.bar', BAR, { time: BAR.time });
  const body = encodeEnvelope(sample);
  const received = new Counter();
  let sink = 0;
  sub.subscribe(subject, {
    callback: (err, msg) => {
      if (err) throw err;
      sink += msg.json<{ time: number }>().time & 1; // parse like a real subscriber would
      received.inc();
    },
  });
  await sub.flush(); // the subscription is registered on the server before the first publish
  return {
    name: encodeEach ? 'raw + encode' : 'raw nats.js',
    bodyBytes: body.byteLength,
    received,
    publish: encodeEach
      ? () => pub.publish(subject, Buffer.from(JSON.stringify(sample)))
      : () => pub.publish(subject, body),
    flush: () => pub.flush(),
    close: async () => {
      if (sink < 0) console.log(sink); // keeps the parse from being optimised away
      await Promise.all([pub.close(), sub.close()]);
    },
  };
}

function benchDeps(source: string): EnvelopeDeps {
  return { ids: ulidSource(), clock: systemClock, source };
}

function makeBus(natsUrl: string | undefined, name: string, prefix: string): Promise<Bus> {
  return createBus({
    natsUrl,
    name,
    registry: createRegistry(),
    envelopeDeps: benchDeps(`bench/${name}`),
    logger: silentLogger,
    maxPayloadBytes: 1024 * 1024,
    requestTimeoutMs: 5000,
    prefix,
  });
}

/** The same flow through the Bus: two buses over NATS, or one in-memory bus. */
async function busFlow(name: string, natsUrl: string | undefined, prefix: string): Promise<Flow> {
  const pubBus = await makeBus(natsUrl, 'bench-bus-pub', prefix);
  const subBus = natsUrl ? await makeBus(natsUrl, 'bench-bus-sub', prefix) : pubBus;
  const subject = subjects.marketBar('BENCH');
  const deps = benchDeps('data/bench');
  const received = new Counter();
  let sink = 0;
  subBus.subscribe(
    subject,
    (env) => {
      sink += (env.payload as Bar).time & 1;
      received.inc();
    },
    { name: 'bench' },
  );
  await subBus.flush();
  const sample = rootEnvelope(deps, 'market.bar', BAR, { time: BAR.time });
  return {
    name,
    bodyBytes: encodeEnvelope(sample).byteLength,
    received,
    publish: () => pubBus.publish(subject, rootEnvelope(deps, 'market.bar', BAR, { time: BAR.time })),
    flush: () => pubBus.flush(),
    close: async () => {
      if (sink < 0) console.log(sink);
      const dead = pubBus.stats.deadLettered + subBus.stats.deadLettered;
      await Promise.all(natsUrl ? [pubBus.close(), subBus.close()] : [pubBus.close()]);
      if (dead > 0) throw new Error(`${name}: ${dead} messages were dead-lettered; the figure is not valid`);
    },
  };
}

/** Checks that a NATS server answers; returns its version or throws. */
async function probeNats(url: string): Promise<string> {
  const nc: NatsConnection = await connect({
    servers: url.split(',').map((s) => s.trim()),
    name: 'bench-probe',
    timeout: 3000,
  });
  const version = nc.info?.version ?? 'unknown';
  await nc.close();
  return version;
}

function figures(roundsMs: number[], cpuUs: number[], n: number, peakRss: number, bodyBytes: number): FlowFigures {
  const roundMs = median(roundsMs);
  const msgPerSec = perSecond(n, roundMs);
  return {
    msgPerSec,
    roundsMsgPerSec: roundsMs.map((ms) => perSecond(n, ms)),
    roundMs: Math.round(roundMs),
    usPerMsg: Math.round((1e6 / msgPerSec) * 100) / 100,
    cpuUsPerMsg: Math.round((median(cpuUs) / n) * 100) / 100,
    peakRssMB: toMB(peakRss),
    bodyBytes,
  };
}

/** Runs the three flows and returns their figures. */
export async function runBusBench(opts: BusBenchOptions = {}): Promise<BusBenchResult> {
  const n = opts.messages ?? 200_000;
  const rounds = opts.rounds ?? 3;
  const log = opts.log ?? (() => {});
  const runId = `bench${process.pid}x${randomBytes(4).toString('hex')}`;

  let natsUrl: string | null = opts.natsUrl ?? null;
  let natsServerVersion: string | null = null;
  let natsError: string | null = natsUrl ? null : 'no NATS URL given';
  if (natsUrl) {
    try {
      natsServerVersion = await probeNats(natsUrl);
    } catch (err) {
      natsError = `no NATS server answered at ${natsUrl}: ${(err as Error).message}`;
      natsUrl = null;
    }
  }

  const flows: { key: 'rawNats' | 'rawNatsEncode' | 'busNats' | 'memoryBus'; flow: Flow }[] = [];
  try {
    if (natsUrl) {
      flows.push({ key: 'rawNats', flow: await rawNatsFlow(natsUrl, `${runId}.raw.market.bar.BENCH`, false) });
      flows.push({ key: 'rawNatsEncode', flow: await rawNatsFlow(natsUrl, `${runId}.rawenc.market.bar.BENCH`, true) });
      flows.push({ key: 'busNats', flow: await busFlow('Bus over NATS', natsUrl, `${runId}.bus`) });
    }
    flows.push({ key: 'memoryBus', flow: await busFlow('in-memory Bus', undefined, `${runId}.mem`) });

    for (const { flow } of flows) {
      log(`warm-up: ${flow.name}`);
      await runRound(flow, Math.min(WARMUP_MESSAGES, n));
    }
    const times = new Map<Flow, number[]>(flows.map(({ flow }) => [flow, []]));
    const cpu = new Map<Flow, number[]>(flows.map(({ flow }) => [flow, []]));
    const peaks = new Map<Flow, number>();
    for (let r = 1; r <= rounds; r++) {
      for (const { flow } of flows) {
        const sampler = new RssSampler().start();
        const cpu0 = process.cpuUsage();
        const ms = await runRound(flow, n);
        const used = process.cpuUsage(cpu0);
        cpu.get(flow)!.push(used.user + used.system);
        peaks.set(flow, Math.max(peaks.get(flow) ?? 0, sampler.stop()));
        times.get(flow)!.push(ms);
        log(
          `round ${r}/${rounds}: ${flow.name.padEnd(14)} ${perSecond(n, ms).toLocaleString('en-US').padStart(9)} msg/s (${Math.round(ms)} ms)`,
        );
      }
    }
    const get = (key: string): FlowFigures | null => {
      const entry = flows.find((f) => f.key === key);
      return entry
        ? figures(times.get(entry.flow)!, cpu.get(entry.flow)!, n, peaks.get(entry.flow)!, entry.flow.bodyBytes)
        : null;
    };
    const rawNats = get('rawNats');
    const rawNatsEncode = get('rawNatsEncode');
    const busNats = get('busNats');
    const ratioOf = (a: FlowFigures | null, b: FlowFigures | null) =>
      a && b ? Math.round((a.msgPerSec / b.msgPerSec) * 1000) / 1000 : null;
    const ratio = ratioOf(busNats, rawNats);
    return {
      bench: 'bus',
      messages: n,
      rounds,
      flushEvery: FLUSH_EVERY,
      maxInFlight: MAX_IN_FLIGHT,
      natsUrl,
      natsServerVersion,
      natsError,
      rawNats,
      rawNatsEncode,
      busNats,
      memoryBus: get('memoryBus')!,
      ratio,
      ratioVsRawEncode: ratioOf(busNats, rawNatsEncode),
      ratioGoal: RATIO_GOAL,
      meetsGoal: ratio === null ? null : ratio >= RATIO_GOAL,
    };
  } finally {
    for (const { flow } of flows) await flow.close();
  }
}

/** The human summary: a table and the ratio line. */
export function formatBusBench(r: BusBenchResult): string {
  const rows: (string | number)[][] = [
    ['flow', 'msg/s (median)', 'rounds msg/s', 'wall µs/msg', 'CPU µs/msg', 'body B', 'peak RSS MB'],
  ];
  const add = (name: string, f: FlowFigures | null) => {
    if (f)
      rows.push([
        name,
        f.msgPerSec,
        f.roundsMsgPerSec.map((x) => x.toLocaleString('en-US')).join(' / '),
        f.usPerMsg,
        f.cpuUsPerMsg,
        f.bodyBytes,
        f.peakRssMB,
      ]);
    else rows.push([name, 'not run', '', '', '', '', '']);
  };
  add('raw nats.js pub/sub', r.rawNats);
  add('raw + JSON encode/msg', r.rawNatsEncode);
  add('Bus over NATS', r.busNats);
  add('in-memory Bus', r.memoryBus);
  const lines = [
    `bus bench: ${r.messages.toLocaleString('en-US')} messages x ${r.rounds} rounds, flush every ${r.flushEvery}, at most ${r.maxInFlight.toLocaleString('en-US')} in flight` +
      (r.natsUrl ? `, NATS ${r.natsServerVersion} at ${r.natsUrl}` : ''),
    formatTable(rows),
  ];
  if (r.ratio !== null) {
    lines.push(
      `ratio Bus over NATS / raw nats.js = ${r.ratio.toFixed(3)} (goal >= ${r.ratioGoal}): ${r.meetsGoal ? 'MET' : 'NOT MET'}`,
    );
    if (r.ratioVsRawEncode !== null)
      lines.push(
        `(for context: Bus over NATS / raw nats.js that JSON-encodes each message = ${r.ratioVsRawEncode.toFixed(3)})`,
      );
  } else {
    lines.push(`ratio: not measured (${r.natsError})`);
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runBusBench({
    natsUrl: process.env.NATS_URL || 'nats://127.0.0.1:4222',
    ...(process.env.BENCH_MESSAGES ? { messages: Number(process.env.BENCH_MESSAGES) } : {}),
    log: (line) => console.log(line),
  });
  if (result.natsError) console.error(`\n!!! NATS flows NOT RUN: ${result.natsError} !!!\n`);
  console.log(formatBusBench(result));
  console.log(`wrote ${await writeResults('bus', result)}`);
}
