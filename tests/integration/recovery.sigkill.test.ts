import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MongoClient } from 'mongodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { openEmbeddedStore } from '../../src/infra/store/embedded/embedded-store.js';
import { openMongoStore } from '../../src/infra/store/mongo/mongo-store.js';
import type { ProcessCheckpoint } from '../../src/app/kernel/checkpointer.js';
import { fromStoredJson } from '../../src/infra/store/json.js';
import type { Store } from '../../src/infra/store/ports.js';
import { sharedFile } from '../helpers/test-data.js';

/**
 * Crash recovery of the single-process system: `sextant start` is killed with SIGKILL in the
 * middle of a run, started again on the same store, and must end with exactly what an
 * uninterrupted run ends with: positions, cash, risk state, open orders, and every fill and
 * decision once. On both stores: the embedded files, and MongoDB (STORE=mongodb).
 */

// Chosen so the run ends just after the daily-loss breach (bar 1391 trips REDUCING) with an
// order still filling: every part of the state that recovery must restore is non-trivial.
const BARS = 1395;
const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'sextant-recovery-'));
const csv = join(work, 'orcl.csv');
writeFileSync(
  csv,
  readFileSync(sharedFile('market/orcl-1995-2014.csv'), 'utf8')
    .split('\n')
    .slice(0, BARS + 1)
    .join('\n') + '\n',
);

const env = (dir: string, store: Record<string, string>): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  DATA_FEED: 'csv',
  DATA_FILE: csv,
  DATA_SYMBOLS: 'ORCL',
  DATA_PACE_MS: '1',
  SEXTANT_DATA_DIR: dir,
  STORE_CHECKPOINT_MS: '100',
  LOG_LEVEL: 'warn',
  PORT: '0', // two runs side by side: no HTTP API
  HEARTBEAT_INTERVAL_MS: '60000',
  PORTFOLIO_START_CASH: '1000000',
  STRATEGY_SIZE: '20000',
  RISK_MAX_POSITION_QTY: '100000',
  RISK_MAX_DRAWDOWN: '0.5',
  RISK_MAX_DAILY_LOSS: '60000',
  EXEC_MAX_PARTICIPATION: '0.0002', // orders fill over several bars: open orders at any moment
  EXEC_FEE_BPS: '1',
  ...store,
});

function start(run: RunStore): ChildProcess {
  const child = spawn(
    process.execPath,
    ['--max-semi-space-size=64', join(root, 'src/cli/sextant.mjs'), 'start', '--until-feed-end'],
    { cwd: root, env: env(run.dir, run.env), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGKILL') console.error(`sextant exited ${code ?? signal}: ${err}`);
  });
  return child;
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((res) =>
    child.exitCode !== null ? res(child.exitCode) : child.once('exit', (code) => res(code)),
  );

type Checkpoint = { seq: number; state: ProcessCheckpoint };

/** Where one run keeps its state: how to point `sextant start` at it, read it back, remove it. */
interface RunStore {
  readonly dir: string;
  readonly env: Record<string, string>;
  /** The process checkpoint saved last, if any yet. */
  checkpoint(): Promise<Checkpoint | undefined>;
  open(): Promise<Store>;
  cleanup(): Promise<void>;
}

function embeddedRun(dir: string): RunStore {
  return {
    dir,
    env: { STORE: 'embedded' },
    checkpoint: async () => {
      const snapDir = join(dir, 'snapshots');
      let names: string[];
      try {
        names = readdirSync(snapDir).filter((n) => n.endsWith('.json'));
      } catch {
        return undefined;
      }
      if (names.length === 0) return undefined;
      try {
        return JSON.parse(readFileSync(join(snapDir, names[0]!), 'utf8')) as Checkpoint;
      } catch {
        return undefined; // being replaced right now
      }
    },
    open: () => openEmbeddedStore({ dir, fsync: 'never' }),
    cleanup: async () => undefined,
  };
}

const mongoUri = inject('mongoUri');
let mongo: MongoClient | undefined;

/** STORE=mongodb: events, orders, fills and the process checkpoint in a database of the run's own. */
function mongoRun(dir: string, name: string): RunStore {
  const dbName = `sextant_recovery_${process.pid}_${Date.now().toString(36)}_${name}`;
  return {
    dir,
    // paced slower: FerretDB takes a few hundred events a second, and a checkpoint waits for the
    // event log to be written, so at 1 ms a bar the run ends with only two or three checkpoints
    env: { STORE: 'mongodb', MONGODB_URI: mongoUri, MONGODB_DB: dbName, DATA_PACE_MS: '5' },
    checkpoint: async () => {
      mongo ??= await MongoClient.connect(mongoUri);
      const doc = await mongo
        .db(dbName)
        .collection<{ _id: string; seq: number; state: string }>('snapshots')
        .findOne({ _id: { $regex: '^process:' } });
      return doc ? { seq: doc.seq, state: fromStoredJson(doc.state) as ProcessCheckpoint } : undefined;
    },
    open: () => openMongoStore({ uri: mongoUri, dbName }),
    cleanup: async () => {
      mongo ??= await MongoClient.connect(mongoUri);
      await mongo.db(dbName).dropDatabase();
    },
  };
}

/** What a trader checks after a restart, read from the store the run left. */
async function outcome(run: RunStore) {
  const store: Store = await run.open();
  try {
    const cp = (await run.checkpoint())!;
    const agents = cp.state.agents as Record<string, { value: unknown; context: Record<string, unknown> }>;
    const book = agents.portfolio!.context.book as {
      cash: number;
      holdings: Record<string, { qty: number; avgPrice: number; realizedPnl: number }>;
      realizedPnl: number;
    };
    const risk = agents.risk!;
    const events = await store.events.query({ limit: 1_000_000 });
    const decisions = events.filter((e) => /^(signal|order)\./.test(e.env.type));
    return {
      cash: book.cash,
      positions: book.holdings,
      realizedPnl: book.realizedPnl,
      riskState: risk.value,
      riskContext: {
        limits: risk.context.limits,
        positions: risk.context.positions,
        working: Object.keys(risk.context.working as object).length,
        counts: risk.context.counts,
      },
      openOrders: Object.values(
        agents.execution!.context.orders as Record<
          string,
          { status: string; filledQty: number; order: { qty: number } }
        >,
      ).map((o) => `${o.status} ${o.filledQty}/${o.order.qty}`),
      storedOpenOrders: (await store.orders.list({ status: 'open' })).map((o) => `${o.status} ${o.filledQty}/${o.qty}`),
      // ids differ between the two runs (each has its own run id); content and order must not
      fills: (await store.fills.list({ limit: 1_000_000 })).map(
        (f) => `${f.time} ${f.clientOrderId.slice(0, 9)} ${f.side} ${f.qty}@${f.price} fee ${f.fee}`,
      ),
      fillIds: new Set((await store.fills.list({ limit: 1_000_000 })).map((f) => f.id)).size,
      decisions: decisions.map(
        (e) =>
          `${e.env.time} ${e.env.type} ${JSON.stringify(e.env.payload, (k, v: unknown) => (k === 'clientOrderId' || k === 'brokerOrderId' ? undefined : v))}`,
      ),
      feedPosition: cp.state.feed?.published,
    };
  } finally {
    await store.close();
  }
}

const stores = {
  embedded: (name: string) => embeddedRun(join(work, name)),
  mongodb: (name: string) => mongoRun(join(work, name), name),
};

afterAll(async () => {
  await mongo?.close();
  rmSync(work, { recursive: true, force: true });
});

for (const [kind, makeRun] of Object.entries(stores)) {
  describe(`crash recovery of the single-process system (SIGKILL) [${kind}]`, () => {
    it('a run killed mid-way and restarted ends with the same positions, cash, risk state, open orders and fills as an uninterrupted run', async () => {
      const straight = makeRun('straight');
      const crashed = makeRun('crashed');
      try {
        await recoveryScenario(straight, crashed);
      } finally {
        await Promise.all([straight.cleanup(), crashed.cleanup()]);
      }
    }, 90_000);
  });
}

async function recoveryScenario(straight: RunStore, crashed: RunStore): Promise<void> {
  const a = start(straight);
  const b = start(crashed);

  // kill b once it has checkpointed a good part of the feed, between checkpoints
  let killedAt: number | undefined;
  while (killedAt === undefined) {
    await new Promise((r) => setTimeout(r, 15));
    const published = (await crashed.checkpoint())?.state.feed?.published ?? 0;
    if (published >= BARS * 0.3) {
      await new Promise((r) => setTimeout(r, 37)); // land between two checkpoints
      b.kill('SIGKILL');
      killedAt = (await crashed.checkpoint())!.state.feed!.published;
    }
    if (b.exitCode !== null) throw new Error('the run ended before it could be killed');
  }
  await exited(b);
  expect(killedAt).toBeLessThan(BARS);
  expect(await exited(start(crashed))).toBe(0);
  expect(await exited(a)).toBe(0);

  const want = await outcome(straight);
  const got = await outcome(crashed);
  console.log(
    `recovery: killed with the last checkpoint at bar ${killedAt} of ${BARS}; after restart ${got.fills.length} fills, ${got.decisions.length} decisions, risk ${JSON.stringify(got.riskState)}, ${got.openOrders.length} open orders (uninterrupted: ${want.fills.length} fills, ${want.decisions.length} decisions)`,
  );
  expect(want.feedPosition).toBe(BARS);
  expect(got.feedPosition).toBe(BARS);
  expect(want.fills.length).toBeGreaterThan(20);
  expect(want.riskState).toBe('REDUCING');
  expect(want.openOrders.length).toBeGreaterThan(0);
  expect(got.cash).toBe(want.cash);
  expect(Object.keys(want.positions)).toEqual(['ORCL']);
  expect(got.positions).toEqual(want.positions);
  expect(got.realizedPnl).toBe(want.realizedPnl);
  expect(got.riskState).toEqual(want.riskState);
  expect(got.riskContext).toEqual(want.riskContext);
  expect(got.openOrders).toEqual(want.openOrders);
  expect(got.storedOpenOrders).toEqual(want.storedOpenOrders);
  expect(got.fills).toEqual(want.fills);
  expect(got.fillIds).toBe(got.fills.length);
  expect(got.decisions).toEqual(want.decisions);
}
