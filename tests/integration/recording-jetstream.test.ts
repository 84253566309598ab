import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { rootEnvelope } from '../../src/core/messaging/envelope.js';
import { subjects } from '../../src/core/messaging/subjects.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { recordingStreamName, streamName } from '../../bus/create-bus.js';
import { readRecording, readRecordingBatches, type RecordedLine } from '../../src/infra/recording/recording.js';
import { readStreamRecordingBatches } from '../../src/infra/recording/stream-recording.js';
import { loadConfig } from '../../config/load.js';
import { main } from '../../src/cli/main.js';
import { createRegistry } from '../../src/core/domain/messages.js';
import { startSystem } from '../../src/cli/start-system.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { checkInputPayloads, decisionLog, replay, UNUSED_SUBJECTS } from '../../src/app/replay/replay.js';
import { natsUrl } from '../helpers/buses.js';
import { randomWalkCsv } from '../helpers/csv.js';

/**
 * A JetStream recording: the system runs over NATS with RECORDING_JETSTREAM=true, its stream
 * captures every Sextant subject; `sextant record export` writes it as NDJSON, and both the
 * stream and the export replay to the decisions the system made.
 */
describe('recording over JetStream [nats]', () => {
  const namespace = `rec${process.pid}x${Date.now().toString(36)}`;
  const dir = mkdtempSync(join(tmpdir(), 'sextant-js-rec-'));
  let nc: NatsConnection | undefined;
  afterAll(async () => {
    nc ??= await connect({ servers: natsUrl });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(recordingStreamName(namespace)).catch(() => undefined);
    await jsm.streams.delete(streamName(namespace)).catch(() => undefined);
    await nc.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('captures a run; the stream and its NDJSON export both replay to the decisions the run made', async () => {
    const env = {
      NATS_URL: natsUrl,
      SEXTANT_NAMESPACE: namespace,
      RECORDING_JETSTREAM: 'true',
      STORE: 'off',
      DATA_FEED: 'csv',
      DATA_FILE: randomWalkCsv(500, 31),
      DATA_SYMBOLS: 'WALK',
      DATA_PACE_MS: '0',
      STRATEGY_FAST: '5',
      STRATEGY_SLOW: '20',
      HEARTBEAT_INTERVAL_MS: '60000',
      RISK_MAX_DAILY_LOSS: '1000000',
      RISK_MAX_DRAWDOWN: '1',
    };
    const config = loadConfig({ env });
    const system = await startSystem(config, silentLogger, config.runtime.agents);
    await system.feedDone();
    // a request on a recorded subject gets its responder's answer (the recording never acknowledges)
    const reply = await system.bus.request(
      subjects.query('portfolio'),
      rootEnvelope({ ids: sequentialIds('q'), clock: new VirtualClock(0), source: 'test' }, 'query.request', {
        params: {},
      }),
    );
    expect(reply.type).toBe('query.result');
    expect((reply.payload as { data: { cash: number } }).data.cash).toEqual(expect.any(Number));
    await system.stop();

    nc = await connect({ servers: natsUrl });
    const registry = createRegistry();
    const fromStream = await replay({
      source: readStreamRecordingBatches({ nc, stream: recordingStreamName(namespace), prefix: namespace, registry }),
      speed: 'max',
    });
    expect(fromStream.inputs).toBe(500);
    expect(fromStream.header.runs?.map((r) => r.agents.length)).toEqual([5]);
    expect(fromStream.recordedDecisions).toBeGreaterThan(20);
    expect(fromStream.divergences).toEqual([]);
    // read as sextant replay stream:NAME does (a worker thread with a connection of its own takes
    // over once connected, skipping what a replay never uses; the hand-over itself is covered in
    // stream-reader.test.ts): the same messages counted, the same decisions
    const viaWorker = await replay({
      source: readStreamRecordingBatches({
        nc,
        servers: natsUrl,
        stream: recordingStreamName(namespace),
        prefix: namespace,
        registry,
        checkPayload: checkInputPayloads,
        skip: UNUSED_SUBJECTS,
      }),
      speed: 'max',
    });
    expect(viaWorker.events).toBe(fromStream.events);
    expect(viaWorker.divergences).toEqual([]);
    expect(decisionLog(viaWorker.decisions)).toBe(decisionLog(fromStream.decisions));

    const out = join(dir, 'export.ndjson.gz');
    const saved = { url: process.env.NATS_URL, ns: process.env.SEXTANT_NAMESPACE };
    process.env.NATS_URL = natsUrl;
    process.env.SEXTANT_NAMESPACE = namespace;
    try {
      expect(await main(['record', 'export', '--stream', recordingStreamName(namespace), '--out', out])).toBe(0);
    } finally {
      if (saved.url === undefined) delete process.env.NATS_URL;
      else process.env.NATS_URL = saved.url;
      if (saved.ns === undefined) delete process.env.SEXTANT_NAMESPACE;
      else process.env.SEXTANT_NAMESPACE = saved.ns;
    }
    const lines: RecordedLine[] = [];
    for await (const item of readRecording(out, { registry })) if ('seq' in item) lines.push(item);
    expect(lines.map((l) => l.seq)).toEqual([...lines.map((l) => l.seq)].sort((a, b) => a - b)); // stream order
    // the namespace is the stream's, not the recording's
    expect(lines.every((l) => !l.subject.startsWith(namespace))).toBe(true);
    const fromFile = await replay({ source: readRecordingBatches(out, { registry }), speed: 'max' });
    expect(fromFile.divergences).toEqual([]);
    expect(fromFile.decisions.length).toBe(fromStream.decisions.length);
    expect(readFileSync(out).length).toBeGreaterThan(1000);
  }, 60_000);

  it('a stream that does not exist is an error naming it, from the worker reader too', async () => {
    const { readStreamInWorker } = await import('../../src/infra/recording/stream-read-worker.js');
    const read = async () => {
      for await (const batch of readStreamInWorker({ servers: natsUrl, stream: 'SEXTANT_NO_SUCH_STREAM' })) void batch;
    };
    await expect(read()).rejects.toThrow(/reading stream SEXTANT_NO_SUCH_STREAM: .*stream not found/i);
  });
});
