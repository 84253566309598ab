import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { recordingStreamName } from '../../bus/create-bus.js';
import { DB_FILE } from '../../src/infra/store/embedded/sqlite-db.js';
import type { Bus } from '../../src/core/messaging/bus.js';
import { patterns, subjects } from '../../src/core/messaging/subjects.js';
import { createRegistry } from '../../src/core/domain/messages.js';
import {
  killHard,
  orclRunEnv,
  removeNamespaces,
  startAgentProcess,
  type AgentProcess,
} from '../helpers/agent-process.js';
import { makeBus, natsUrl, testPrefix } from '../helpers/buses.js';
import { eventually } from '../helpers/eventually.js';

const ORCL_BARS = 5036;

/** Every envelope id in the recording stream, in stream order (what was published on a Sextant subject). */
async function streamIds(stream: string): Promise<string[]> {
  const nc = await connect({ servers: natsUrl });
  try {
    const consumer = await jetstream(nc).consumers.get(stream);
    const ids: string[] = [];
    for (;;) {
      let pending = 0;
      let got = 0;
      for await (const m of await consumer.fetch({ max_messages: 5000, expires: 1000 })) {
        got++;
        ids.push(m.json<{ id: string }>().id);
        pending = m.info.pending;
        if (pending === 0) break;
      }
      if (got === 0 || pending === 0) return ids;
    }
  } finally {
    await nc.close();
  }
}

/** Every envelope id in an embedded event log, in append order. */
function logIds(dir: string, type?: string): string[] {
  const file = join(dir, DB_FILE);
  if (!existsSync(file)) return [];
  // read-only next to the recorder that writes it (WAL readers do not block the writer)
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = type
      ? db.prepare('SELECT id FROM events WHERE type = ? ORDER BY seq').all(type)
      : db.prepare('SELECT id FROM events ORDER BY seq').all();
    return (rows as { id: string }[]).map((r) => r.id);
  } finally {
    db.close();
  }
}

/**
 * Issue #27: over NATS the event log reads the JetStream recording stream through a durable consumer,
 * so a recorder killed with SIGKILL mid-run and started again continues where its log stood: every
 * message published (on any Sextant subject, core NATS included) is in the log exactly once,
 * also those published while it was down.
 */
describe('the event log over NATS reads the recording stream [nats]', () => {
  const namespace = testPrefix();
  const dir = mkdtempSync(join(tmpdir(), 'sextant-evlog-'));
  const procs: AgentProcess[] = [];
  let observer: Bus | undefined;

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await observer?.close();
    await removeNamespaces(natsUrl, [namespace]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('recorder killed with SIGKILL during the ORCL run and restarted: the log holds every published message exactly once', async () => {
    const env = { ...orclRunEnv(natsUrl), SEXTANT_NAMESPACE: namespace, RECORDING_JETSTREAM: 'true' };
    const recorderEnv = {
      ...env,
      STORE: 'embedded',
      SEXTANT_DATA_DIR: join(dir, 'recorder'),
      SEXTANT_INSTANCE: 'recorder',
      BUS_ACK_WAIT_MS: '2000',
    };
    observer = await makeBus('nats', { registry: createRegistry(), prefix: namespace, durable: false });
    let bars = 0;
    let completed = false;
    observer.subscribe(patterns.marketBars, () => void bars++);
    observer.subscribe(subjects.feedCompleted(), () => void (completed = true));
    await observer.flush();

    let recorder = await startAgentProcess('recorder', ['recorder'], recorderEnv);
    procs.push(recorder);
    for (const agent of ['portfolio', 'execution', 'risk', 'strategy'] as const)
      procs.push(await startAgentProcess(agent, ['agent', agent], { ...env, SEXTANT_INSTANCE: `${agent}-1` }));
    procs.push(await startAgentProcess('data', ['agent', 'data'], { ...env, SEXTANT_INSTANCE: 'data-1' }));

    // mid-run, once the log has taken part of it
    await eventually(
      () => {
        expect(bars).toBeGreaterThan(ORCL_BARS * 0.25);
        expect(logIds(recorderEnv.SEXTANT_DATA_DIR).length).toBeGreaterThan(100);
      },
      60_000,
      5,
    );
    await killHard(recorder);
    const killedAt = bars;
    const loggedBeforeKill = logIds(recorderEnv.SEXTANT_DATA_DIR).length;
    expect(killedAt).toBeLessThan(ORCL_BARS);
    recorder = await startAgentProcess('recorder again', ['recorder'], recorderEnv);
    procs.push(recorder);

    await eventually(() => expect(completed).toBe(true), 120_000, 50);
    const stream = recordingStreamName(namespace);
    // the log catches up with the stream; then every id of the stream is in it once, and nothing else
    const ids = await eventually(
      async () => {
        const published = await streamIds(stream);
        const logged = logIds(recorderEnv.SEXTANT_DATA_DIR);
        expect(new Set(logged).size).toBe(logged.length);
        expect(new Set(logged)).toEqual(new Set(published));
        return { published, logged };
      },
      120_000,
      500,
    );
    const barsLogged = logIds(recorderEnv.SEXTANT_DATA_DIR, 'market.bar').length;
    console.info(
      `event log: recorder killed at bar ${killedAt} of ${ORCL_BARS} with ${loggedBeforeKill} messages logged; after its restart the log holds ${ids.logged.length} messages, the stream ${ids.published.length}`,
    );
    expect(barsLogged).toBe(ORCL_BARS);
    expect(ids.logged.length).toBeGreaterThan(loggedBeforeKill);
    expect(recorder.output()).toContain('the event log reads the JetStream recording stream');
  }, 360_000);
});
