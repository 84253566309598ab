import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/messaging/envelope.js';
import { csvFeed } from '../../agents/data/feeds/csv-feed.js';
import { patterns } from '../../src/core/messaging/subjects.js';
import { natsUrl } from '../helpers/buses.js';
import { randomWalkCsv } from '../helpers/csv.js';
import { eventually } from '../helpers/eventually.js';
import { expectNothingLostOrDuplicated, orderCounts } from '../helpers/order-audit.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

const BARS = 10_000;
const root = resolve(import.meta.dirname, '../..');

/**
 * Chaos 2: the execution agent runs as a process of its own (`sextant agent execution`, with its
 * embedded store) and is killed with SIGKILL in the middle of a 10,000-bar run, then started
 * again. It resumes from its last checkpoint; the approvals it had not checkpointed are
 * delivered again by JetStream and handled idempotently. Nothing is lost or doubled.
 */
describe('chaos: the execution process killed (SIGKILL) mid-run and restarted [nats]', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-chaos-exec-'));
  const namespace = `chaos${process.pid}x${Date.now().toString(36)}`;
  let child: ChildProcess | undefined;
  /** What the latest execution process said when it started (its resume line). */
  let startLog = '';
  let system: TestSystem | undefined;

  /** Starts `sextant agent execution` in the test's namespace; resolves once it is running. */
  const startExecution = () =>
    new Promise<ChildProcess>((resolveStart, reject) => {
      const p = spawn(
        process.execPath,
        ['--max-semi-space-size=64', join(root, 'src/cli/sextant.mjs'), 'agent', 'execution'],
        {
          cwd: root,
          env: {
            PATH: process.env.PATH,
            HOME: process.env.HOME,
            NATS_URL: natsUrl,
            SEXTANT_NAMESPACE: namespace,
            SEXTANT_INSTANCE: 'exec',
            SEXTANT_DATA_DIR: join(dir, 'execution'),
            STORE_CHECKPOINT_MS: '100',
            BUS_ACK_WAIT_MS: '1500',
            HEARTBEAT_INTERVAL_MS: '60000',
            LOG_LEVEL: 'info',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      const timer = setTimeout(() => reject(new Error(`execution did not start: ${out.slice(-2000)}`)), 20_000);
      p.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('sextant running')) {
          clearTimeout(timer);
          startLog = out;
          resolveStart(p);
        }
        if (out.length > 100_000) out = out.slice(-10_000);
      });
      p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      p.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (signal !== 'SIGKILL' && signal !== 'SIGTERM')
          reject(new Error(`execution exited ${code}: ${out.slice(-2000)}`));
      });
    });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await system?.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses and duplicates no order: every intent ends approved and filled, rejected, or failed', async () => {
    child = await startExecution();
    const audit = new Map<string, Envelope>();
    system = await startTestSystem('nats', {
      agents: ['data', 'strategy', 'risk', 'portfolio'],
      settings: { strategy: { kind: 'sma-cross', id: 'sma-cross', fast: 5, slow: 20, size: 10 } },
      feed: csvFeed({ file: randomWalkCsv(BARS, 11), symbol: 'WALK' }),
      batch: 250,
      paceMs: 1, // the market goes on while execution is down and after it is back
      requestTimeoutMs: 20_000,
      bus: { prefix: namespace, durableOptions: { storage: 'file', ackWaitMs: 1500 } },
      beforeStart: (bus) =>
        void bus.subscribe(patterns.orders, (env) => void audit.set(env.id, env), {
          name: 'auditor',
          durable: 'auditor',
        }),
    });
    const { kernel } = system;
    await eventually(() => expect(kernel.feedCursor.published).toBeGreaterThanOrEqual(BARS * 0.4), 30_000, 5);
    const killedAt = kernel.feedCursor.published;
    const dead = new Promise((r) => child!.once('exit', r));
    child.kill('SIGKILL');
    await dead;
    await new Promise((r) => setTimeout(r, 300));
    child = await startExecution();
    expect(startLog).toContain('resuming from the last checkpoint');
    // the stream that would replay its input is off here: the process says so (the order path recovers it)
    expect(startLog).toContain('RECORDING_JETSTREAM is off');
    const caughtUp = /"read":(\d+),"replayed":(\d+)/.exec(startLog);
    expect(caughtUp, 'the restarted execution read back its own outputs').not.toBeNull();
    await kernel.host('data')!.whenStarted();

    const counts = await eventually(
      () => {
        const c = orderCounts([...audit.values()]);
        expect(c.verdicts).toBe(c.intents);
        expect(c.submitted + c.failed).toBeGreaterThanOrEqual(c.approved);
        expect(c.ended + c.working).toBe(c.approved);
        return c;
      },
      40_000,
      50,
    );
    console.info(
      `chaos execution SIGKILL: killed at bar ${killedAt} of ${BARS}; on restart it read back ${caughtUp![1]} own order messages and replayed ${caughtUp![2]};`,
      JSON.stringify(counts),
    );
    expect(killedAt).toBeLessThan(BARS);
    expect(counts.intents).toBeGreaterThan(100);
    expect(counts.working).toBeLessThanOrEqual(1); // only an order decided on the last bar waits for a next one
    expect(counts.filled + counts.failed).toBe(counts.approved - counts.working);
    expectNothingLostOrDuplicated([...audit.values()]);
  }, 120_000);
});
