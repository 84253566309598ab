import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Bus } from '../../src/core/messaging/bus.js';
import { rootEnvelope } from '../../src/core/messaging/envelope.js';
import { patterns, subjects, type QueryName } from '../../src/core/messaging/subjects.js';
import { createRegistry, versionOf, type OrderFilled, type PortfolioSnapshot } from '../../src/core/domain/messages.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import {
  killHard,
  orclRunEnv,
  removeNamespaces,
  startAgentProcess,
  type AgentProcess,
} from '../helpers/agent-process.js';
import { collectDeadLetters, makeBus, natsUrl, testPrefix } from '../helpers/buses.js';
import { eventually } from '../helpers/eventually.js';
import { sharedFile } from '../helpers/test-data.js';

interface Reference {
  final_value: number;
  fills: { date: string; side: 'buy' | 'sell'; size: number; price: number }[];
}

const ORCL_BARS = 5036;
const STATEFUL = ['portfolio', 'risk', 'strategy'] as const;

/**
 * Issue #21 item 5, distributed: one process per agent over NATS, the portfolio, risk and strategy
 * processes (each with its own store and checkpoints every 100 ms) killed with SIGKILL in the middle
 * of the ORCL reference run and started again. Each comes back from its last checkpoint and replays,
 * from the JetStream recording stream, every message of its inlets after the checkpoint's cut (the
 * bars, fills and intents it handled before the crash and those published while it was down) before
 * it takes new input. The run must end exactly as the reference: the same 195 fills, each booked once
 * by portfolio and risk, the same final value. Without the replay the strategy would miss the bars
 * published while it was down and trade differently.
 */
describe('crash recovery over NATS: agents replay the recording stream after their checkpoint [nats]', () => {
  const namespace = testPrefix();
  const dir = mkdtempSync(join(tmpdir(), 'sextant-replay-'));
  const procs: AgentProcess[] = [];
  let observer: Bus | undefined;

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await observer?.close();
    await removeNamespaces(natsUrl, [namespace]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('portfolio, risk and strategy killed with SIGKILL mid-run and restarted end with the reference fills, each booked once', async () => {
    const reference = JSON.parse(readFileSync(sharedFile('market/orcl-sma-10-30-reference.json'), 'utf8')) as Reference;
    const env = {
      ...orclRunEnv(natsUrl),
      SEXTANT_NAMESPACE: namespace,
      RECORDING_JETSTREAM: 'true',
      BUS_ACK_WAIT_MS: '2000',
    };
    const stateful = (agent: string) => ({
      ...env,
      STORE: 'embedded',
      SEXTANT_DATA_DIR: join(dir, agent),
      STORE_CHECKPOINT_MS: '100',
      SEXTANT_INSTANCE: `${agent}-1`,
    });
    observer = await makeBus('nats', {
      registry: createRegistry(),
      prefix: namespace,
      durable: false,
      requestTimeoutMs: 20_000,
    });
    const fills = new Map<string, { date: string; side: string; size: number; price: number; time: number }>();
    let fillsSeen = 0;
    let bars = 0;
    let lastBar = 0;
    let completed = false;
    const deadLetters = collectDeadLetters(observer);
    observer.subscribe(patterns.marketBars, (e) => {
      bars++;
      lastBar = Math.max(lastBar, e.time);
    });
    observer.subscribe(subjects.orderFilled(), (e) => {
      const f = e.payload as OrderFilled;
      fillsSeen++;
      fills.set(e.id, {
        date: new Date(e.time).toISOString().slice(0, 10),
        side: f.side,
        size: f.qty,
        price: f.price,
        time: e.time,
      });
    });
    observer.subscribe(subjects.feedCompleted(), () => void (completed = true));
    await observer.flush();

    const byName = new Map<string, AgentProcess>();
    for (const agent of ['portfolio', 'execution', 'risk', 'strategy'] as const) {
      const p = await startAgentProcess(
        agent,
        ['agent', agent],
        agent === 'execution' ? { ...env, SEXTANT_INSTANCE: 'execution-1' } : stateful(agent),
      );
      procs.push(p);
      byName.set(agent, p);
    }
    procs.push(await startAgentProcess('data', ['agent', 'data'], { ...env, SEXTANT_INSTANCE: 'data-1' }));

    // mid-run, after some checkpoints and some trades
    await eventually(
      () => {
        expect(bars).toBeGreaterThan(ORCL_BARS * 0.3);
        expect(fills.size).toBeGreaterThan(10);
      },
      60_000,
      5,
    );
    await Promise.all(STATEFUL.map((a) => killHard(byName.get(a)!)));
    const killedAt = bars;
    const fillsAtKill = fills.size;
    const restarted = await Promise.all(
      STATEFUL.map((a) => startAgentProcess(`${a} again`, ['agent', a], stateful(a))),
    );
    procs.push(...restarted);
    const replayed = restarted.map((p) => {
      expect(p.output(), `${p.name} resumed from its checkpoint:\n${p.output().slice(0, 4000)}`).toContain(
        'resuming from the last checkpoint',
      );
      const line = /"read":(\d+),"replayed":(\{[^}]*\})[^\n]*replayed the recording stream/.exec(p.output());
      expect(line, `${p.name} replayed the recording stream`).not.toBeNull();
      return `${p.name}: read ${line![1]}, replayed ${line![2]}`;
    });

    await eventually(() => expect(completed).toBe(true), 120_000, 50);
    await eventually(() => expect(fills.size).toBe(reference.fills.length), 60_000, 50);
    const ordered = [...fills.values()].sort((a, b) => a.time - b.time);
    ordered.forEach((f, i) => {
      const e = reference.fills[i]!;
      expect({ i, date: f.date, side: f.side, size: f.size }).toEqual({ i, date: e.date, side: e.side, size: e.size });
      expect(Math.abs(f.price - e.price)).toBeLessThan(1e-6);
    });
    // what the fills make: each booked once
    let cash = 100_000;
    let qty = 0;
    for (const f of ordered) {
      const signed = f.side === 'buy' ? f.size : -f.size;
      qty += signed;
      cash -= signed * f.price;
    }

    const ids = { ids: sequentialIds('replay'), clock: new VirtualClock(Date.now()), source: 'test/replay' };
    const ask = async <T>(what: QueryName): Promise<T> => {
      const reply = await observer!.request(
        subjects.query(what),
        rootEnvelope(ids, 'query.request', { params: {} }, { v: versionOf('query.request') }),
        { timeoutMs: 20_000 },
      );
      return (reply.payload as { data: T }).data;
    };
    const portfolio = await eventually(
      async () => {
        const p = await ask<PortfolioSnapshot>('portfolio');
        expect(p.asOf).toBe(lastBar);
        return p;
      },
      30_000,
      100,
    );
    expect(Math.round(portfolio.equity * 100) / 100).toBe(reference.final_value);
    expect(portfolio.cash).toBeCloseTo(cash, 6);
    expect(portfolio.positions.find((p) => p.symbol === 'ORCL')?.qty ?? 0).toBe(qty);
    const risk = await eventually(
      async () => {
        const r = await ask<{ cash: number; positions: Record<string, number>; openOrders: number }>('risk');
        expect(r.openOrders).toBe(0);
        return r;
      },
      30_000,
      100,
    );
    expect(risk.cash).toBeCloseTo(cash, 6);
    expect(risk.positions.ORCL ?? 0).toBe(qty);
    expect(deadLetters).toEqual([]);
    console.info(
      `replay recovery: portfolio, risk and strategy killed at bar ${killedAt} of ${ORCL_BARS} after ${fillsAtKill} fills; ${replayed.join('; ')}; ${fills.size} fills (${fillsSeen} deliveries), final value ${portfolio.equity.toFixed(2)}`,
    );
  }, 360_000);
});
