import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliverPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import {
  readRecording,
  readRecordingBatches,
  type RecordedLine,
  type RecordingHeader,
} from '../src/infra/recording/recording.js';
import { readStreamRecordingBatches } from '../src/infra/recording/stream-recording.js';
import { RECORDED_SUBJECTS, withPrefix } from '../src/core/messaging/subjects.js';
import { runBacktest } from '../src/app/backtest/run-backtest.js';
import { createRegistry } from '../src/core/domain/messages.js';
import { checkInputPayloads, replay, UNUSED_SUBJECTS } from '../src/app/replay/replay.js';
import { writeSeries } from './backtest.bench.js';
import { formatTable } from './harness.js';

/**
 * Record and replay: a recording of a 50,000-bar backtest replayed `--speed max` from NDJSON and
 * from a JetStream stream, next to a raw JetStream ordered consumer reading (and parsing) the same
 * stream in the same run (goal: replay >= 50% of the raw rate; five rounds of raw reads and a
 * replay one after the other, medians compared). The first round's replay starts a reader thread
 * (loading and compiling the NATS client, as a one-off `sextant replay` does); the later ones take
 * the thread it left, as a later replay in the same process does, and as the raw reads run on a
 * client already compiled; the first round's ratio is reported on its own too. And the recorder: the recording
 * published on core NATS into a stream capturing every Sextant subject, count in = count out
 * (goal: >= 20,000 events/s).
 */
export interface ReplayBenchResult {
  readonly bars: number;
  readonly events: number;
  readonly rows: { flow: string; events: number; elapsedMs: number; eventsPerSecond: number }[];
  /** Median replay from JetStream over the faster median raw read (goal >= 0.5). */
  readonly replayVsRaw?: number;
  /** The first round's ratio: its replay started a new reader thread (the later rounds reuse it). */
  readonly newThreadReplayVsRaw?: number;
  /** The same for the replay from NDJSON. */
  readonly ndjsonVsRaw?: number;
  /** Every round's figures (events/s) and ratio. */
  readonly rounds?: {
    count: number;
    replayVsRaw: number[];
    ndjson: number[];
    fetch: number[];
    consume: number[];
    stream: number[];
  };
  readonly recorder?: { published: number; stored: number; eventsPerSecond: number };
  readonly natsSkipped?: string;
  readonly goals: { replayVsRaw: number; recorderEventsPerSecond: number };
}

/** Rounds of each measurement; figures are medians (single rounds on this shared VM range ±25%). */
const ROUNDS = 5;

const median = <T extends { eventsPerSecond: number }>(runs: readonly T[]): T =>
  [...runs].sort((a, b) => a.eventsPerSecond - b.eventsPerSecond)[Math.floor(runs.length / 2)]!;
const ratio = (a: number, b: number) => Math.round((100 * a) / b) / 100;

export async function runReplayBench(options: {
  natsUrl?: string | undefined;
  bars?: number;
}): Promise<ReplayBenchResult> {
  const bars = options.bars ?? 50_000;
  const dir = mkdtempSync(join(tmpdir(), 'sextant-replay-bench-'));
  const file = join(dir, 'run.ndjson');
  const registry = createRegistry();
  await runBacktest({
    data: writeSeries(bars),
    symbol: 'BENCH',
    strategy: { kind: 'sma-cross', id: 'sma-cross', fast: 10, slow: 30, size: 100 },
    cash: 100_000,
    transport: 'memory',
    recording: file,
  });
  let lines: RecordedLine[] = [];
  let header!: RecordingHeader;
  for await (const item of readRecording(file, { registry })) {
    if ('seq' in item) lines.push(item);
    else header = item;
  }
  const events = lines.length;
  const rows: ReplayBenchResult['rows'] = [];
  const fileRuns: ReplayBenchResult['rows'] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const fromFile = await replay({
      source: readRecordingBatches(file, { registry, checkPayload: checkInputPayloads }),
      speed: 'max',
    });
    if (fromFile.divergences.length > 0) throw new Error(`the NDJSON replay diverged: ${fromFile.divergences.length}`);
    fileRuns.push({
      flow: 'replay from NDJSON',
      events: fromFile.events,
      elapsedMs: fromFile.elapsedMs,
      eventsPerSecond: Math.round(fromFile.events / (fromFile.elapsedMs / 1000)),
    });
  }
  rows.push(median(fileRuns));

  let result: ReplayBenchResult = { bars, events, rows, goals: { replayVsRaw: 0.5, recorderEventsPerSecond: 20_000 } };
  if (!options.natsUrl) {
    rmSync(dir, { recursive: true, force: true });
    return { ...result, natsSkipped: 'no NATS server answered' };
  }
  const nc = await connect({ servers: options.natsUrl, noAsyncTraces: true });
  const jsm = await jetstreamManager(nc);
  const prefix = `rb${process.pid}x${Date.now().toString(36)}`;
  const stream = `SEXTANT_${prefix}`;
  await jsm.streams.add({
    name: stream,
    subjects: RECORDED_SUBJECTS.map((s) => withPrefix(prefix, s)),
    storage: StorageType.File,
  });
  try {
    // the recorder: every message published on core NATS, stored by the server
    const enc = new TextEncoder();
    const runStarted = {
      id: `${header.runId}-run`,
      type: 'run.started',
      v: 1,
      source: 'bench',
      correlationId: `${header.runId}-run`,
      time: 0,
      payload: {
        runId: header.runId,
        instance: header.instance ?? 'bench',
        agents: ['portfolio', 'execution', 'risk', 'strategy', 'data'],
        settings: header.settings,
        resumed: false,
      },
    };
    const all = [{ subject: 'run.started', env: runStarted }, ...lines];
    const t0 = performance.now();
    for (let i = 0; i < all.length; i++) {
      const h = headers();
      h.set('Nats-Msg-Id', all[i]!.env.id);
      nc.publish(withPrefix(prefix, all[i]!.subject), enc.encode(JSON.stringify(all[i]!.env)), { headers: h });
      if (i % 5000 === 4999) await nc.flush();
    }
    await nc.flush();
    lines = []; // what the replays below hold is theirs alone
    let stored = 0;
    for (let i = 0; i < 500 && stored < all.length; i++) {
      stored = (await jsm.streams.info(stream)).state.messages;
      if (stored < all.length) await new Promise((r) => setTimeout(r, 20));
    }
    const recMs = performance.now() - t0;
    const recorder = { published: all.length, stored, eventsPerSecond: Math.round(all.length / (recMs / 1000)) };

    // raw: an ordered consumer reading and parsing the whole stream, both ways the client offers
    // (fetch in batches, consume with a running buffer); the faster is the baseline
    const js = jetstream(nc);
    const dec = new TextDecoder();
    const rawRead = async (how: 'fetch' | 'consume') => {
      const t = performance.now();
      const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
      let n = 0;
      if (how === 'consume') {
        const messages = await consumer.consume({ max_messages: 5000 });
        for await (const m of messages) {
          JSON.parse(dec.decode(m.data));
          n++;
          if (m.info.pending === 0) break;
        }
        await messages.close();
      } else {
        for (let pending = 1; pending > 0;) {
          let got = 0;
          for await (const m of await consumer.fetch({ max_messages: 5000, expires: 1000 })) {
            JSON.parse(dec.decode(m.data));
            n++;
            got++;
            pending = m.info.pending;
            if (pending === 0) break;
          }
          if (got === 0) break;
        }
      }
      const ms = performance.now() - t;
      return {
        flow: `raw JetStream ordered consumer (${how}, parse)`,
        events: n,
        elapsedMs: Math.round(ms),
        eventsPerSecond: Math.round(n / (ms / 1000)),
      };
    };
    // rounds of raw reads and a replay, one after the other, so a slow moment of the machine
    // falls on both; each figure is the median of its rounds
    const fetches: ReplayBenchResult['rows'] = [];
    const consumes: ReplayBenchResult['rows'] = [];
    const streamRuns: ReplayBenchResult['rows'] = [];
    const roundRatios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      fetches.push(await rawRead('fetch'));
      consumes.push(await rawRead('consume'));
      const t2 = performance.now();
      const fromStream = await replay({
        source: readStreamRecordingBatches({
          nc,
          servers: options.natsUrl,
          stream,
          prefix,
          registry,
          checkPayload: checkInputPayloads,
          skip: UNUSED_SUBJECTS,
        }),
        speed: 'max',
      });
      const streamMs = performance.now() - t2;
      if (fromStream.divergences.length > 0)
        throw new Error(`the stream replay diverged: ${fromStream.divergences.length}`);
      if (fromStream.events !== stored)
        throw new Error(`the stream replay read ${fromStream.events} of ${stored} messages`);
      streamRuns.push({
        flow: 'replay from JetStream',
        events: fromStream.events,
        elapsedMs: Math.round(streamMs),
        eventsPerSecond: Math.round(fromStream.events / (streamMs / 1000)),
      });
      roundRatios.push(
        ratio(
          streamRuns[round]!.eventsPerSecond,
          Math.max(fetches[round]!.eventsPerSecond, consumes[round]!.eventsPerSecond),
        ),
      );
    }
    const raws = [median(fetches), median(consumes)];
    rows.push(...raws, median(streamRuns));
    const rawBest = Math.max(...raws.map((r) => r.eventsPerSecond));
    result = {
      ...result,
      recorder,
      replayVsRaw: ratio(median(streamRuns).eventsPerSecond, rawBest),
      newThreadReplayVsRaw: roundRatios[0]!,
      ndjsonVsRaw: ratio(rows[0]!.eventsPerSecond, rawBest),
      rounds: {
        count: ROUNDS,
        replayVsRaw: roundRatios,
        ndjson: fileRuns.map((r) => r.eventsPerSecond),
        fetch: fetches.map((r) => r.eventsPerSecond),
        consume: consumes.map((r) => r.eventsPerSecond),
        stream: streamRuns.map((r) => r.eventsPerSecond),
      },
    };
  } finally {
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    formatTable([
      ['flow', 'events', 'ms', 'events/s'],
      ...rows.map((r) => [r.flow, r.events, r.elapsedMs, r.eventsPerSecond]),
    ]),
  );
  return result;
}
