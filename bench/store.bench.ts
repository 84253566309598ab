import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Envelope } from '../src/core/messaging/envelope.js';
import { derivedId } from '../src/core/ports/ids.js';
import { openEmbeddedStore } from '../src/infra/store/embedded/embedded-store.js';
import type { RecordedEvent, Store } from '../src/infra/store/ports.js';
import { formatTable } from './harness.js';

/**
 * Event-store append throughput: N recorded bar envelopes (the commonest message), appended in
 * batches as the recorder does, then counted back (count in = count out). The embedded store
 * runs with each fsync policy; MongoDB runs when MONGODB_URI is set and answers.
 */

export interface StoreBenchRow {
  readonly store: string;
  readonly events: number;
  readonly batch: number;
  readonly elapsedMs: number;
  readonly eventsPerSecond: number;
  readonly counted: number;
}

export interface StoreBenchResult {
  readonly rows: StoreBenchRow[];
  readonly mongoSkipped?: string;
}

function events(n: number): RecordedEvent[] {
  const t0 = Date.UTC(2020, 0, 1);
  return Array.from({ length: n }, (_, i) => {
    const time = t0 + i * 60_000;
    const id = derivedId(time, ['bench', 'data', 'root', 'market.bar', i]);
    const env: Envelope = {
      id,
      type: 'market.bar',
      v: 1,
      source: 'data/bench',
      correlationId: id,
      time,
      payload: { symbol: 'BENCH', time, open: 100.25, high: 101.5, low: 99.75, close: 100.5, volume: 12_345 },
    };
    return { subject: 'market.bar.BENCH', env };
  });
}

async function measure(name: string, store: Store, all: RecordedEvent[], batch: number): Promise<StoreBenchRow> {
  const started = performance.now();
  for (let i = 0; i < all.length; i += batch) await store.events.append(all.slice(i, i + batch));
  await store.flush();
  const elapsedMs = performance.now() - started;
  const counted = await store.events.count();
  if (counted !== all.length) throw new Error(`${name}: appended ${all.length} events, counted ${counted}`);
  return {
    store: name,
    events: all.length,
    batch,
    elapsedMs: Math.round(elapsedMs),
    eventsPerSecond: Math.round(all.length / (elapsedMs / 1000)),
    counted,
  };
}

export async function runStoreBench(
  options: { events?: number; mongoUri?: string | undefined } = {},
): Promise<StoreBenchResult> {
  const n = options.events ?? 200_000;
  const batch = 2000;
  const all = events(n);
  const rows: StoreBenchRow[] = [];
  for (const fsync of ['never', 'interval', 'always'] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-store-bench-'));
    const store = await openEmbeddedStore({ dir, fsync });
    try {
      rows.push(await measure(`embedded (fsync ${fsync})`, store, all, batch));
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  let mongoSkipped: string | undefined;
  if (options.mongoUri) {
    const { openMongoStore } = await import('../src/infra/store/mongo/mongo-store.js');
    const dbName = `sextant_bench_${Date.now().toString(36)}`;
    try {
      const store = await openMongoStore({ uri: options.mongoUri, dbName, serverSelectionTimeoutMS: 3000 });
      try {
        rows.push(await measure('mongodb (w majority, journaled)', store, all, batch));
      } finally {
        const { MongoClient } = await import('mongodb');
        const client = await MongoClient.connect(options.mongoUri);
        await client.db(dbName).dropDatabase();
        await client.close();
        await store.close();
      }
    } catch (err) {
      mongoSkipped = `MongoDB at MONGODB_URI did not answer: ${(err as Error).message}`;
    }
  } else mongoSkipped = 'MONGODB_URI is unset';
  console.log(
    formatTable([
      ['store', 'events', 'batch', 'ms', 'events/s', 'counted'],
      ...rows.map((r) => [r.store, r.events, r.batch, r.elapsedMs, r.eventsPerSecond, r.counted]),
    ]),
  );
  return { rows, ...(mongoSkipped ? { mongoSkipped } : {}) };
}
