import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedLine } from '../../src/infra/recording/recording.js';
import { StreamReader } from '../../src/infra/recording/stream-read-worker.js';
import { readStreamRecordingBatches } from '../../src/infra/recording/stream-recording.js';
import { RECORDED_SUBJECTS, withPrefix } from '../../src/core/messaging/subjects.js';
import { createRegistry } from '../../src/core/domain/messages.js';
import { checkInputPayloads, UNUSED_SUBJECTS } from '../../src/app/replay/replay.js';
import { natsUrl, testPrefix } from '../helpers/buses.js';
import { startOwnNatsServer, type OwnNatsServer } from '../helpers/nats-server.js';

const BARS = 3000;

/**
 * The stream reader a replay uses (`sextant replay stream:NAME`): the first messages are read on
 * the caller's connection while a worker thread starts, the worker goes on from the next
 * sequence; messages on subjects the replay never uses are counted and checked in the worker,
 * not handed over. Every message is accounted for exactly once, in stream order, and the bad
 * ones are reported with their sequence.
 */
describe('stream reader (worker, skipped subjects) [nats]', () => {
  const prefix = testPrefix();
  const stream = `SEXTANT_${prefix}`;
  let nc: NatsConnection;
  /** Stream sequence of each kind of message published. */
  const published = {
    bars: [] as number[],
    marks: [] as number[],
    earlyBadJson: 0,
    badJson: 0,
    unknownType: 0,
    badBar: 0,
  };

  beforeAll(async () => {
    nc = await connect({ servers: natsUrl });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: stream,
      subjects: RECORDED_SUBJECTS.map((s) => withPrefix(prefix, s)),
      storage: StorageType.Memory,
    });
    const enc = new TextEncoder();
    const env = (i: number, type: string, payload: unknown) => ({
      id: `m-${i}`,
      type,
      v: 1,
      source: 'test',
      correlationId: `m-${i}`,
      time: i,
      payload,
    });
    let seq = 0;
    for (let i = 1; i <= BARS; i++) {
      nc.publish(
        withPrefix(prefix, 'market.bar.ACME'),
        enc.encode(
          JSON.stringify(
            env(i, 'market.bar', {
              symbol: 'ACME',
              time: i,
              open: 1,
              high: 2,
              low: 0.5,
              close: 1.5,
              volume: 10,
              intervalMs: 60_000,
            }),
          ),
        ),
      );
      published.bars.push(++seq);
      nc.publish(
        withPrefix(prefix, 'portfolio.updated'),
        enc.encode(JSON.stringify(env(-i, 'portfolio.updated', { any: 'payload, never decoded' }))),
      );
      published.marks.push(++seq);
      if (i === 5) {
        // a broken mark among the first messages, which the caller reads itself
        nc.publish(withPrefix(prefix, 'portfolio.updated'), enc.encode('{"id":"early'));
        published.earlyBadJson = ++seq;
      }
      if (i === 2000) {
        nc.publish(withPrefix(prefix, 'portfolio.updated'), enc.encode('{"id":"cut off'));
        published.badJson = ++seq;
        nc.publish(
          withPrefix(prefix, 'agent.risk.health'),
          enc.encode(JSON.stringify({ ...env(-99_999, 'agent.vitals', {}), v: 7 })),
        );
        published.unknownType = ++seq;
      }
      if (i === 2500) {
        // a broken body among those handed over: reported, and its neighbours still read
        nc.publish(withPrefix(prefix, 'market.bar.ACME'), enc.encode('{"id":"half a bar'));
        published.badBar = ++seq;
      }
    }
    await nc.flush();
  });

  afterAll(async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
  });

  const read = async (waitForWorker: boolean) => {
    const bad: { seq: number; reason: string }[] = [];
    let worker: { whenReady(): Promise<void> } | undefined;
    const lines: RecordedLine[] = [];
    let skipped = 0;
    let batches = 0;
    let handover = 0;
    const source = readStreamRecordingBatches({
      nc,
      servers: natsUrl,
      stream,
      prefix,
      registry: createRegistry(),
      checkPayload: checkInputPayloads,
      skip: UNUSED_SUBJECTS,
      handoverLead: 300,
      onHandover: (seq) => (handover = seq),
      onReader: (r) => (worker = r),
      onBad: (seq, reason) => bad.push({ seq, reason }),
    });
    for await (const batch of source) {
      // the worker is ready before the next batch is asked for, however slow the machine is
      if (batches++ === 1 && waitForWorker) await worker!.whenReady();
      skipped += batch.skipped ?? 0;
      for (const item of batch) if ('seq' in item) lines.push(item);
    }
    return { bad, lines, skipped, handover };
  };

  /** Every message accounted for once, in stream order; the bad ones reported with their sequence. */
  const expectEveryMessageOnce = ({ bad, lines, skipped }: Awaited<ReturnType<typeof read>>) => {
    const seqs = lines.map((l) => l.seq);
    // marks are only counted and checked, wherever they are read
    expect(lines.filter((l) => l.subject === 'portfolio.updated')).toEqual([]);
    // without the namespace, on both sides of the hand-over
    expect(new Set(lines.map((l) => l.subject))).toEqual(new Set(['market.bar.ACME']));
    expect(seqs).toEqual([...new Set(seqs)].sort((a, b) => a - b));
    expect(seqs.filter((s) => published.bars.includes(s))).toEqual(published.bars);
    expect(seqs[seqs.length - 1]).toBeGreaterThan(published.badJson);
    expect(lines.length + skipped).toBe(published.bars.length + published.marks.length + 3);
    expect(bad.map((b) => b.seq).sort((a, b) => a - b)).toEqual([
      published.earlyBadJson,
      published.badJson,
      published.unknownType,
      published.badBar,
    ]);
    expect(bad.find((b) => b.seq === published.badBar)!.reason).toMatch(/json/i);
    expect(bad.find((b) => b.seq === published.earlyBadJson)!.reason).toMatch(/json/i);
    expect(bad.find((b) => b.seq === published.badJson)!.reason).toMatch(/json/i);
    expect(bad.find((b) => b.seq === published.unknownType)!.reason).toMatch(/unknown message type agent\.vitals/);
  };

  it('hands over from the caller to the worker at the next sequence: every message once, in order', async () => {
    const result = await read(true);
    // the caller read the first messages (the broken early mark among them), the worker the rest
    expect(result.handover).toBeGreaterThan(published.earlyBadJson);
    expect(result.handover).toBeLessThan(published.badJson);
    expectEveryMessageOnce(result);
  }, 30_000);

  it('a second read takes the thread the first one left: connected and warm, it reads from the first message', async () => {
    const result = await read(false);
    expect(result.handover).toBe(1);
    expectEveryMessageOnce(result);
  }, 30_000);

  it('a read stopped part-way leaves no thread behind: the next one starts a new thread', async () => {
    const source = readStreamRecordingBatches({
      nc,
      servers: natsUrl,
      stream,
      prefix,
      registry: createRegistry(),
      checkPayload: checkInputPayloads,
      skip: UNUSED_SUBJECTS,
    });
    let batches = 0;
    for await (const batch of source) {
      void batch;
      if (++batches === 3) break; // the thread is reading: stopped, not kept
    }
    const result = await read(true);
    expect(result.handover).toBeGreaterThan(published.earlyBadJson);
    expectEveryMessageOnce(result);
  }, 30_000);
});

/**
 * A reader thread between reads holds a connection of its own. When that connection drops (the
 * server restarts) it leaves rather than wait to be handed a read it might not be able to do.
 */
describe('stream reader thread between reads [nats]', () => {
  let server: OwnNatsServer;
  afterAll(async () => {
    await server?.dispose();
  });

  it('leaves when its server goes away; a read after the restart starts a new thread and reads everything', async () => {
    server = await startOwnNatsServer();
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'READER_IDLE', subjects: ['idle.>'], storage: StorageType.File });
    for (let i = 0; i < 50; i++) nc.publish(`idle.${i}`, new TextEncoder().encode(JSON.stringify({ i })));
    await nc.flush();
    await nc.close();
    const readAll = async (reader = new StreamReader({ servers: server.url, stream: 'READER_IDLE' })) => {
      let count = 0;
      for await (const raw of reader.batches()) count += raw.seqs.length;
      return { warm: reader.warm, count };
    };
    expect(await readAll()).toEqual({ warm: false, count: 50 });
    expect(await readAll()).toEqual({ warm: true, count: 50 });
    await server.kill();
    await server.start();
    // the idle thread saw its connection drop and left: the next reader starts cold, and reads it all
    await new Promise((r) => setTimeout(r, 1000));
    expect(await readAll()).toEqual({ warm: false, count: 50 });
    // taken just as its connection drops (before it has left, or after): the read still gets it all,
    // from a new thread if the one taken leaves
    await server.kill();
    const taken = new StreamReader({ servers: server.url, stream: 'READER_IDLE' });
    await server.start();
    expect((await readAll(taken)).count).toBe(50);
  }, 30_000);
});
