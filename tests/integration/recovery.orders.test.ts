import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ProcessCheckpoint } from '../../src/app/kernel/checkpointer.js';
import { openEmbeddedStore } from '../../src/infra/store/embedded/embedded-store.js';
import { randomWalkCsv } from '../helpers/csv.js';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/free-port.js';

/**
 * A person's order and its retry across crashes: `sextant start` with the HTTP API takes an
 * order (Idempotency-Key), is killed with SIGKILL 0-500 ms later, restarts, and is sent the same
 * order again. Each time exactly one order fills, and afterwards portfolio, risk, the fills
 * store and the event log agree: the restart caught up with what it had done before the crash
 * (src/app/kernel/catch-up.ts) before it took the retry.
 */
const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'sextant-recovery-orders-'));
const TOKEN = 'recovery-test-token-0123456789';
const DELAYS_MS = [0, 60, 150, 300, 500];

describe("crash recovery of people's orders (SIGKILL, retried with the same Idempotency-Key)", () => {
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('across kill -9 at 0-500 ms after an order, each order fills once, and portfolio, risk, fills and the event log agree', async () => {
    const dir = join(work, 'data');
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATA_FEED: 'csv',
      DATA_FILE: randomWalkCsv(20_000, 9),
      DATA_SYMBOLS: 'WALK',
      DATA_PACE_MS: '5',
      SEXTANT_DATA_DIR: dir,
      // a checkpoint a second (the default): a crash lands between the fill reaching the event log and the next
      // checkpoint
      STORE_CHECKPOINT_MS: '1000',
      LOG_LEVEL: 'warn',
      PORT: String(port),
      SEXTANT_API_TOKENS: `${TOKEN}:operator`,
      HEARTBEAT_INTERVAL_MS: '60000',
      PORTFOLIO_START_CASH: '1000000',
    };
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`http://127.0.0.1:${port}/api/v1${path}`, {
        ...init,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers },
      });
    const start = async (): Promise<ChildProcess> => {
      const child = spawn(process.execPath, ['--max-semi-space-size=64', join(root, 'src/cli/sextant.mjs'), 'start'], {
        cwd: root,
        env,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      await eventually(
        async () => {
          if (child.exitCode !== null) throw new Error(`sextant exited ${child.exitCode}: ${err}`);
          expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
        },
        60_000,
        25,
      );
      return child;
    };
    const kill = async (child: ChildProcess, signal: NodeJS.Signals) => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    };
    const order = (key: string) =>
      api('/orders', {
        method: 'POST',
        headers: { 'idempotency-key': key },
        body: JSON.stringify({ symbol: 'WALK', side: 'buy', qty: 1 }),
      });
    const filledQty = async (clientOrderId: string) =>
      ((await (await api(`/fills?clientOrderId=${clientOrderId}`)).json()) as { qty: number }[]).reduce(
        (s, f) => s + f.qty,
        0,
      );

    let child = await start();
    const ids: string[] = [];
    try {
      for (const [i, delay] of DELAYS_MS.entries()) {
        const first = await order(`dbl-${i}`);
        expect(first.status).toBe(202);
        const { clientOrderId, correlationId } = (await first.json()) as {
          clientOrderId: string;
          correlationId: string;
        };
        ids.push(clientOrderId);
        await new Promise((r) => setTimeout(r, delay)); // the crash lands 0-500 ms after the order
        await kill(child, 'SIGKILL');
        child = await start();
        const retry = await order(`dbl-${i}`);
        expect(retry.status).toBe(202);
        // the original order, not a second one: the key was written to the event log before the 202
        expect(await retry.json()).toMatchObject({ clientOrderId, correlationId });
        const other = await api('/orders', {
          method: 'POST',
          headers: { 'idempotency-key': `dbl-${i}` },
          body: JSON.stringify({ symbol: 'WALK', side: 'sell', qty: 2 }),
        });
        expect(other.status).toBe(409); // the same key for another order is still a mistake after the crash
        // filled once: never more than its quantity, and it does fill
        await eventually(async () => expect(await filledQty(clientOrderId)).toBe(1), 30_000, 50);
      }
      // nothing more arrives for any of them
      await new Promise((r) => setTimeout(r, 300));
      for (const id of ids) expect(await filledQty(id)).toBe(1);
    } finally {
      await kill(child, 'SIGTERM'); // drains and saves a last checkpoint
    }

    // what the agents hold equals what the stores say happened
    const cp = JSON.parse(
      readFileSync(
        join(
          dir,
          'snapshots',
          readdirSync(join(dir, 'snapshots')).find((n) => n.endsWith('.json'))!,
        ),
        'utf8',
      ),
    ) as { state: ProcessCheckpoint };
    const agents = cp.state.agents as Record<string, { context: Record<string, unknown> }>;
    const book = agents.portfolio!.context.book as { holdings: Record<string, { qty: number }> };
    const risk = agents.risk!.context as { held: Record<string, number>; working: Record<string, unknown> };
    const store = await openEmbeddedStore({ dir, fsync: 'never' });
    try {
      const fills = await store.fills.list({ limit: 1_000_000 });
      const net = fills.reduce((s, f) => s + (f.side === 'buy' ? f.qty : -f.qty), 0);
      expect(book.holdings.WALK?.qty ?? 0).toBe(net);
      expect(risk.held.WALK ?? 0).toBe(net);
      const logged = await store.events.query({ type: 'order.filled', limit: 1_000_000 });
      expect(new Set(logged.map((e) => e.env.id)).size).toBe(fills.length);
      for (const id of ids) expect(fills.filter((f) => f.clientOrderId === id).reduce((s, f) => s + f.qty, 0)).toBe(1);
    } finally {
      await store.close();
    }
  }, 240_000);
});
