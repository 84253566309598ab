import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootEnvelope, type Envelope } from '../../src/core/messaging/envelope.js';
import { RemoteRequestError } from '../../bus/errors.js';
import { subjects } from '../../src/core/messaging/subjects.js';
import { loadConfig } from '../../config/load.js';
import { startSystem, type RunningSystem } from '../../src/cli/start-system.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import type { FillDoc } from '../../src/infra/store/ports.js';
import { sharedFile } from '../helpers/test-data.js';

/** The embedded system's store answers "why did we trade?" over the bus, from the event log. */
describe('store queries over the bus (embedded system)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-queries-'));
  let system: RunningSystem;
  const deps = { ids: sequentialIds('q'), clock: new VirtualClock(0), source: 'test/queries' };
  const ask = async (what: 'trace' | 'fills' | 'events', params: Record<string, unknown>) =>
    (
      (await system.bus.request(subjects.query(what), rootEnvelope(deps, 'query.request', { params }))).payload as {
        data: unknown;
      }
    ).data;

  beforeAll(async () => {
    const csv = join(dir, 'orcl.csv');
    writeFileSync(
      csv,
      readFileSync(sharedFile('market/orcl-1995-2014.csv'), 'utf8').split('\n').slice(0, 301).join('\n') + '\n',
    );
    const config = loadConfig({
      env: {
        DATA_FEED: 'csv',
        DATA_FILE: csv,
        DATA_SYMBOLS: 'ORCL',
        DATA_PACE_MS: '0',
        SEXTANT_DATA_DIR: join(dir, 'data'),
        HEARTBEAT_INTERVAL_MS: '60000',
      },
    });
    system = await startSystem(config, silentLogger, config.runtime.agents);
    await system.feedDone();
    await system.recorder!.flush();
  });
  afterAll(async () => {
    await system?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('query.trace returns the whole chain of a fill in causal order, from the bar that started it', async () => {
    const fills = (await ask('fills', { symbol: 'ORCL' })) as FillDoc[];
    expect(fills.length).toBeGreaterThan(2);
    const sell = fills.find((f) => f.side === 'sell')!;
    const { messages } = (await ask('trace', { correlationId: sell.correlationId })) as {
      messages: (Envelope & { subject: string })[];
    };
    const decisions = messages.filter((m) => m.type !== 'portfolio.updated').map((m) => m.type);
    expect(decisions).toEqual([
      'market.bar',
      'signal.generated',
      'order.intent',
      'order.approved',
      'order.submitted',
      'order.filled',
    ]);
    expect(messages.every((m) => m.correlationId === sell.correlationId)).toBe(true);
    const byId = new Map(messages.map((m, i) => [m.id, i]));
    for (const [i, m] of messages.entries()) if (m.causationId) expect(byId.get(m.causationId)!).toBeLessThan(i);
    expect(messages.find((m) => m.type === 'signal.generated')!.payload).toMatchObject({
      side: 'sell',
      reasons: expect.any(Array) as unknown,
    });
  });

  it('query.events filters the audit log by type and time', async () => {
    const bars = (await ask('events', { type: 'market.bar', limit: 5 })) as Envelope[];
    expect(bars.map((b) => b.type)).toEqual(Array(5).fill('market.bar'));
    expect(bars.map((b) => b.time)).toEqual([...bars.map((b) => b.time)].sort((a, b) => a - b));
  });

  it('bad parameters get a clear refusal naming the parameter, not a timeout', async () => {
    const err = await ask('trace', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteRequestError);
    expect((err as RemoteRequestError).message).toMatch(/query\.trace: correlationId/);
    await expect(ask('fills', { limit: 'lots' })).rejects.toThrow(/query\.fills: limit/);
  });
});

describe('causal order of a chain', () => {
  it('puts every message after its cause even when it was recorded first (NATS delivers subjects independently)', async () => {
    const { causalOrder } = await import('../../src/infra/store/store-queries.js');
    const e = (id: string, time: number, causationId?: string) => ({
      subject: 's',
      env: {
        id,
        type: 't',
        v: 1,
        source: 'x',
        correlationId: 'c',
        time,
        payload: {},
        ...(causationId ? { causationId } : {}),
      },
    });
    const recorded = [
      e('fill', 5, 'sub'),
      e('bar', 1),
      e('sub', 5, 'appr'),
      e('sig', 1, 'bar'),
      e('appr', 1, 'int'),
      e('int', 1, 'sig'),
      e('mark', 5, 'fill'),
    ];
    expect(causalOrder(recorded).map((x) => x.env.id)).toEqual(['bar', 'sig', 'int', 'appr', 'sub', 'fill', 'mark']);
  });
});
