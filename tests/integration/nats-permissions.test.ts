import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBus } from '../../bus/create-bus.js';
import { ADMIN_USER, BACKTEST_USER, inboxPrefix, passwordVariable } from '../../bus/nats-permissions.js';
import { encodeEnvelope } from '../../bus/codec.js';
import { BUS_ROLES, type BusRole } from '../../src/core/messaging/bus-roles.js';
import type { Bus } from '../../src/core/messaging/bus.js';
import { rootEnvelope, type Envelope } from '../../src/core/messaging/envelope.js';
import { patterns, subjects, type Subject } from '../../src/core/messaging/subjects.js';
import { createRegistry, versionOf, type MessageType, type OrderFilled } from '../../src/core/domain/messages.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { killHard, orclRunEnv, startAgentProcess, type AgentProcess } from '../helpers/agent-process.js';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/free-port.js';
import { startOwnNatsServer, type OwnNatsServer } from '../helpers/nats-server.js';

/**
 * Issue #27: "anyone on the bus is everyone". A real nats-server runs the committed configuration
 * (deploy/nats/nats.conf, generated from the message catalog): a client with another role's
 * credentials cannot make the forgeries that took effect before, and the whole system, one process per
 * agent, each signed in as its own role, still trades end to end with nothing refused.
 */
const CONFIG = resolve(import.meta.dirname, '../../deploy/nats/nats.conf');
const USERS = [...BUS_ROLES, ADMIN_USER, BACKTEST_USER];
const password = Object.fromEntries(USERS.map((u) => [u, `${u}-${randomBytes(12).toString('hex')}`]));
const serverEnv = Object.fromEntries(USERS.map((u) => [passwordVariable(u), password[u]!]));

const deps = { ids: sequentialIds('forger'), clock: new VirtualClock(Date.now()), source: 'risk/1' };
const envelope = <T extends MessageType>(type: T, payload: unknown, source = 'risk/1'): Envelope =>
  rootEnvelope({ ...deps, source }, type, payload as never, { v: versionOf(type) });

/** A plain nats.js client signed in as `user` (undefined: no credentials), collecting the errors the server sends. */
async function client(user: string | undefined): Promise<{ nc: NatsConnection; errors: string[] }> {
  const nc = await connect({
    servers: server.url,
    ...(user ? { user, pass: password[user]!, inboxPrefix: inboxPrefix(user as BusRole) } : {}),
  });
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') errors.push(String(s.error));
  })();
  return { nc, errors };
}

function adminBus(name: string): Promise<Bus> {
  return createBus({
    natsUrl: server.url,
    natsAuth: { kind: 'password', user: ADMIN_USER, password: password[ADMIN_USER]! },
    name,
    registry: createRegistry(),
    envelopeDeps: { ids: sequentialIds(name), clock: new VirtualClock(Date.now()), source: `test/${name}` },
    logger: silentLogger,
    maxPayloadBytes: 1024 * 1024,
    requestTimeoutMs: 20_000,
  });
}

let server: OwnNatsServer;
const serverLog = () => readFileSync(join(server.dir, 'nats-1.log'), 'utf8');

beforeAll(async () => {
  server = await startOwnNatsServer({ config: CONFIG, env: serverEnv });
});
afterAll(async () => {
  await server?.dispose();
});

describe('the NATS server of a deployment refuses what a role may not do [nats]', () => {
  it('a client without credentials, or with a wrong password, is not let in', async () => {
    await expect(connect({ servers: server.url })).rejects.toThrow(/Authorization Violation/i);
    await expect(connect({ servers: server.url, user: 'risk', pass: 'guess' })).rejects.toThrow(
      /Authorization Violation/i,
    );
  });

  it('an agent process with a wrong password stops at start-up naming the keys to look at', async () => {
    const err = await startAgentProcess('risk', ['agent', 'risk'], {
      NATS_URL: server.url,
      NATS_USER: 'risk',
      NATS_PASSWORD: 'not-the-password',
      STORE: 'off',
      PORT: '0',
    }).catch((e: unknown) => e as Error);
    expect(String(err)).toMatch(
      /NATS_USER\/NATS_PASSWORD: the NATS server at nats:\/\/127\.0\.0\.1:\d+ refused to sign/,
    );
    expect(String(err)).not.toContain('not-the-password');
  });

  /** Each forgery of issue #27, made with the credentials of a role that may not publish it. */
  const forgeries: { what: string; as: BusRole; subject: Subject; env: Envelope }[] = [
    {
      what: 'order.approved posing as risk/1 for 50,000 SYN',
      as: 'strategy',
      subject: subjects.orderApproved(),
      env: envelope('order.approved', {
        order: {
          clientOrderId: 'forged-1',
          symbol: 'SYN',
          side: 'buy',
          qty: 50_000,
          type: 'market',
          tif: 'DAY',
          origin: { kind: 'strategy', id: 'strategy/1' },
          decidedAt: Date.now(),
        },
        checks: [],
      }),
    },
    {
      what: 'order.approved from the API (people go through risk)',
      as: 'api',
      subject: subjects.orderApproved(),
      env: envelope('order.approved', { order: {}, checks: [] }),
    },
    {
      what: 'a made-up order.filled (GHOST 1000 @ 0.01)',
      as: 'portfolio',
      subject: subjects.orderFilled(),
      env: envelope(
        'order.filled',
        {
          clientOrderId: 'ghost',
          brokerOrderId: 'ghost',
          symbol: 'GHOST',
          side: 'buy',
          qty: 1000,
          price: 0.01,
          fee: 0,
          cumQty: 1000,
          leavesQty: 0,
          status: 'filled',
          origin: { kind: 'person', id: 'x' },
        } satisfies OrderFilled,
        'execution/1',
      ),
    },
    {
      what: 'risk.command set-limits',
      as: 'strategy',
      subject: subjects.riskCommand('set-limits'),
      env: envelope('risk.command', { command: 'set-limits', reason: 'x', by: 'api:admin', limits: {} }),
    },
    {
      what: 'risk.command halt from a role that takes no people',
      as: 'data',
      subject: subjects.riskCommand('halt'),
      env: envelope('risk.command', { command: 'halt', reason: 'x', by: 'api:admin' }),
    },
    {
      what: 'risk.command resume',
      as: 'execution',
      subject: subjects.riskCommand('resume'),
      env: envelope('risk.command', { command: 'resume', reason: 'x', by: 'api:admin' }),
    },
    {
      what: 'an order.intent posing as strategy/1',
      as: 'data',
      subject: subjects.orderIntent(),
      env: envelope('order.intent', {}, 'strategy/1'),
    },
    {
      what: 'a forged market bar (issue #21)',
      as: 'strategy',
      subject: subjects.marketBar('SYN'),
      env: envelope('market.bar', {}, 'data/1'),
    },
    {
      what: "another agent's heartbeat",
      as: 'strategy',
      subject: subjects.agentHealth('risk'),
      env: envelope('agent.health', {}, 'risk/1'),
    },
  ];

  it.each(forgeries)(
    '$what, published as $as, is refused by the server and reaches no one',
    async ({ as, subject, env }) => {
      const admin = await client(ADMIN_USER);
      const arrived: string[] = [];
      const sub = admin.nc.subscribe(subject, { callback: (_e, m) => void arrived.push(m.subject) });
      await admin.nc.flush();
      const forger = await client(as);
      forger.nc.publish(subject, encodeEnvelope(env));
      await forger.nc.flush();
      await eventually(() =>
        expect(forger.errors.join('\n')).toMatch(new RegExp(`Permissions Violation for Publish to "${subject}"`)),
      );
      // a message the admin publishes on the same subject does arrive: the subscription was listening
      admin.nc.publish(subject, encodeEnvelope(env));
      await eventually(() => expect(arrived).toHaveLength(1));
      sub.unsubscribe();
      await forger.nc.close();
      await admin.nc.close();
      expect(serverLog()).toContain(`"SEXTANT/user:${as}" - Publish Violation - Subject "${subject}"`);
    },
  );

  it("a role cannot answer another role's queries or read another role's replies", async () => {
    const strategy = await client('strategy');
    strategy.nc.subscribe(subjects.query('portfolio'));
    strategy.nc.subscribe(`${inboxPrefix('api')}.>`);
    await strategy.nc.flush().catch(() => undefined);
    await eventually(() => {
      expect(strategy.errors.join('\n')).toMatch(/Permissions Violation for Subscription to "query.portfolio"/);
      expect(strategy.errors.join('\n')).toMatch(/Permissions Violation for Subscription to "_INBOX.api.>"/);
    });
    await strategy.nc.close();
  });

  it('a role may not change the order stream (a subject transform could turn intents into approvals)', async () => {
    const admin = await client(ADMIN_USER);
    const strategy = await client('strategy');
    // the stream exists (made by the admin here, by the first process in a deployment)
    await admin.nc.request('$JS.API.STREAM.CREATE.SEXTANT', JSON.stringify({ name: 'SEXTANT', subjects: ['order.>'] }));
    const update = JSON.stringify({
      name: 'SEXTANT',
      subjects: ['order.>'],
      subject_transform: { src: 'order.intent', dest: 'order.approved' },
    });
    await expect(strategy.nc.request('$JS.API.STREAM.UPDATE.SEXTANT', update, { timeout: 2000 })).rejects.toThrow(
      /Permissions Violation|timeout/i,
    );
    await expect(strategy.nc.request('$JS.API.STREAM.DELETE.SEXTANT', '', { timeout: 2000 })).rejects.toThrow(
      /Permissions Violation|timeout/i,
    );
    await admin.nc.request('$JS.API.STREAM.DELETE.SEXTANT', '');
    await strategy.nc.close();
    await admin.nc.close();
  });

  it('the backtest user works in an account of its own: it sees nothing of trading', async () => {
    const admin = await client(ADMIN_USER);
    const backtest = await client(BACKTEST_USER);
    const seen: string[] = [];
    backtest.nc.subscribe('>', { callback: (_e, m) => void seen.push(m.subject) });
    await backtest.nc.flush();
    admin.nc.publish(subjects.orderFilled(), 'x');
    await admin.nc.flush();
    backtest.nc.publish('bt1.order.approved', 'y');
    await eventually(() => expect(seen).toContain('bt1.order.approved'));
    expect(seen).not.toContain('order.filled');
    await backtest.nc.close();
    await admin.nc.close();
  });
});

describe('the whole system over that server, one process per agent, each signed in as its role [nats]', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-perm-'));
  const procs: AgentProcess[] = [];
  let observer: Bus | undefined;

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await observer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an order from the API and the strategy orders of a CSV run go through risk, execution and portfolio; nothing is refused', async () => {
    const logFrom = serverLog().length;
    const token = `op-${randomBytes(12).toString('hex')}`;
    const apiPort = await freePort();
    const env = {
      ...orclRunEnv(server.url),
      // the strategy shares its symbols through the key-value bucket, as in the compose file
      PARTITIONED_AGENTS: 'strategy',
      // the recording stream, as in the compose file: the recorder's event log and the portfolio's replay read it
      RECORDING_JETSTREAM: 'true',
    };
    const as = (role: BusRole) => ({ NATS_USER: role, NATS_PASSWORD: password[role]! });
    observer = await adminBus('perm-observer');
    const fills: OrderFilled[] = [];
    const deadLetters: string[] = [];
    let completed = false;
    observer.subscribe(patterns.dlq, (e) => void deadLetters.push(JSON.stringify(e.payload).slice(0, 300)));
    observer.subscribe(subjects.orderFilled(), (e) => void fills.push(e.payload as OrderFilled));
    observer.subscribe(subjects.feedCompleted(), () => void (completed = true));
    await observer.flush();

    procs.push(
      await startAgentProcess('recorder', ['recorder'], {
        ...env,
        ...as('recorder'),
        STORE: 'embedded',
        SEXTANT_DATA_DIR: join(dir, 'recorder'),
        SEXTANT_INSTANCE: 'recorder',
      }),
    );
    // the portfolio keeps checkpoints: killed mid-run, it replays the recording stream with its role's permissions
    const portfolioEnv = {
      ...env,
      ...as('portfolio'),
      SEXTANT_INSTANCE: 'portfolio-1',
      STORE: 'embedded',
      SEXTANT_DATA_DIR: join(dir, 'portfolio'),
      STORE_CHECKPOINT_MS: '100',
    };
    const portfolioProc = await startAgentProcess('portfolio', ['agent', 'portfolio'], portfolioEnv);
    procs.push(portfolioProc);
    for (const agent of ['execution', 'risk', 'strategy'] as const)
      procs.push(
        await startAgentProcess(agent, ['agent', agent], { ...env, ...as(agent), SEXTANT_INSTANCE: `${agent}-1` }),
      );
    procs.push(
      await startAgentProcess('api', ['api'], {
        ...env,
        ...as('api'),
        PORT: String(apiPort),
        SEXTANT_API_TOKENS: `${token}:operator`,
        SEXTANT_INSTANCE: 'api',
      }),
    );
    procs.push(
      await startAgentProcess('data', ['agent', 'data'], { ...env, ...as('data'), SEXTANT_INSTANCE: 'data-1' }),
    );

    // a person's order through the API, once the market has ORCL
    await eventually(() => expect(fills.length).toBeGreaterThan(0), 60_000, 50);
    await killHard(portfolioProc);
    const portfolioAgain = await startAgentProcess('portfolio again', ['agent', 'portfolio'], portfolioEnv);
    procs.push(portfolioAgain);
    expect(portfolioAgain.output()).toContain('replayed the recording stream after the checkpoint');
    const res = await fetch(`http://127.0.0.1:${apiPort}/api/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': 'perm-1' },
      body: JSON.stringify({ symbol: 'ORCL', side: 'buy', qty: 7 }),
    });
    expect(res.status).toBe(202);
    await eventually(() => expect(fills.some((f) => f.origin.kind === 'person' && f.qty === 7)).toBe(true), 60_000, 50);
    await eventually(() => expect(completed).toBe(true), 120_000, 50);
    // the operator's questions: answered by the agents (portfolio) and the event log's writer (trace)
    const ids = { ids: sequentialIds('perm'), clock: new VirtualClock(Date.now()), source: 'test/perm' };
    const portfolio = await observer.request(
      subjects.query('portfolio'),
      rootEnvelope(ids, 'query.request', { params: {} }, { v: versionOf('query.request') }),
    );
    expect((portfolio.payload as { data: { positions: unknown[] } }).data.positions.length).toBeGreaterThan(0);
    expect(deadLetters).toEqual([]);
    // nobody in the system was refused anything it does
    expect(serverLog().slice(logFrom)).not.toMatch(/Violation/);
    for (const p of procs)
      expect({ process: p.name, refused: /Permissions Violation.*/.exec(p.output())?.[0] }).toEqual({
        process: p.name,
        refused: undefined,
      });
  }, 360_000);
});
