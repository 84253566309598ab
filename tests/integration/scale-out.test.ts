import { afterAll, describe, expect, it } from 'vitest';
import { ndjsonFeed } from '../../agents/data/feeds/ndjson-feed.js';
import type { Bus } from '../../src/core/messaging/bus.js';
import type { Envelope } from '../../src/core/messaging/envelope.js';
import { patterns, subjects } from '../../src/core/messaging/subjects.js';
import { runBacktest } from '../../src/app/backtest/run-backtest.js';
import { createRegistry, type Signal } from '../../src/core/domain/messages.js';
import {
  killHard,
  OPEN_LIMITS,
  removeNamespaces,
  startAgentProcess,
  type AgentProcess,
} from '../helpers/agent-process.js';
import { makeBus, natsUrl, testPrefix } from '../helpers/buses.js';
import { multiSymbolNdjson } from '../helpers/csv.js';
import { eventually } from '../helpers/eventually.js';
import { startTestSystem } from '../helpers/system.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Strategies } from '../../src/app/kernel/index.js';
import { rootEnvelope } from '../../src/core/messaging/envelope.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import type { PortfolioSnapshot } from '../../src/core/domain/messages.js';

const SYMBOLS = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF', 'GGG', 'HHH'];
const STRATEGY = { kind: 'sma-cross' as const, id: 'sma-cross', fast: 3, slow: 8, size: 1 };

/**
 * A signal independent of who made it: symbol, bar time, and its whole payload. The payload
 * carries the indicator values, so a bar lost or handled twice around a hand-over changes the
 * signals of that symbol for the next `slow` bars and shows up here.
 */
const factOf = (e: Envelope) => `${(e.payload as Signal).symbol}@${e.time}:${JSON.stringify(e.payload)}`;

/**
 * Scale-out of the stateful strategy agent (PARTITIONED_AGENTS=strategy): several strategy
 * processes share the symbols, each symbol's indicators and open orders living in exactly one
 * of them at a time, while instances join and leave. Checked against the single-process run of
 * the same bars: the same signals, none twice, none missing.
 */
describe('scale-out: strategy instances sharing the symbols [nats]', () => {
  const procs: AgentProcess[] = [];
  const namespaces: string[] = [];
  let observer: Bus | undefined;

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await observer?.close();
    await removeNamespaces(natsUrl, namespaces);
  });

  /** The other agents as processes, strategy instances as asked, then the data agent; signals collected. */
  async function deployment(file: string, paceMs: number, extra: Record<string, string> = {}) {
    const namespace = testPrefix();
    namespaces.push(namespace);
    const env = {
      NATS_URL: natsUrl,
      SEXTANT_NAMESPACE: namespace,
      STORE: 'off',
      PORT: '0',
      HEARTBEAT_INTERVAL_MS: '60000',
      BUS_REQUEST_TIMEOUT_MS: '20000',
      PARTITIONED_AGENTS: 'strategy',
      STRATEGY: 'sma-cross',
      STRATEGY_FAST: String(STRATEGY.fast),
      STRATEGY_SLOW: String(STRATEGY.slow),
      STRATEGY_SIZE: String(STRATEGY.size),
      DATA_FEED: 'ndjson',
      DATA_FILE: file,
      DATA_PACE_MS: String(paceMs),
      ...OPEN_LIMITS,
      ...extra,
    };
    observer = await makeBus('nats', { registry: createRegistry(), prefix: namespace, durable: false });
    const signals: Envelope[] = [];
    let completed = false;
    let bars = 0;
    observer.subscribe(patterns.signals, (e) => void signals.push(e));
    observer.subscribe(patterns.marketBars, () => void bars++);
    observer.subscribe(subjects.feedCompleted(), () => void (completed = true));
    await observer.flush();
    for (const agent of ['portfolio', 'execution', 'risk'] as const)
      procs.push(await startAgentProcess(agent, ['agent', agent], { ...env, SEXTANT_INSTANCE: agent }));
    const strategy = (instance: string, own: Record<string, string> = {}) =>
      startAgentProcess(`strategy ${instance}`, ['agent', 'strategy'], {
        ...env,
        SEXTANT_INSTANCE: instance,
        ...own,
      }).then((p) => (procs.push(p), p));
    const data = () =>
      startAgentProcess('data', ['agent', 'data'], { ...env, SEXTANT_INSTANCE: 'data' }).then(
        (p) => (procs.push(p), p),
      );
    /** The data agent in this process instead, the market held by `gate` before each bar where it must wait. */
    const dataHere = (gate: () => Promise<void>) =>
      startTestSystem('nats', {
        agents: ['data'],
        feed: ndjsonFeed({ file }),
        paceMs,
        gate,
        bus: { prefix: namespace, durable: false },
      });
    return { namespace, signals, bars: () => bars, completed: () => completed, strategy, data, dataHere };
  }

  function expectSameSignals(actual: Envelope[], expected: Envelope[]) {
    const facts = actual.map(factOf);
    expect(new Set(facts).size, 'no signal twice').toBe(facts.length);
    expect([...facts].sort()).toEqual(expected.map(factOf).sort());
  }

  async function singleProcess(file: string, strategy: Strategies = STRATEGY): Promise<Envelope[]> {
    const signals: Envelope[] = [];
    await runBacktest({
      data: ndjsonFeed({ file }),
      symbol: '',
      strategy,
      cash: 100_000,
      transport: 'memory',
      onEnvelope: (e) => void (e.type === 'signal.generated' && signals.push(e)),
    });
    expect(signals.length).toBeGreaterThan(100);
    return signals;
  }

  it('two instances split the symbols between them and together make exactly the signals of one process', async () => {
    const file = multiSymbolNdjson(SYMBOLS, 250, 7);
    const expected = await singleProcess(file);
    const d = await deployment(file, 1);
    await d.strategy('s1');
    await d.strategy('s2');
    await d.data();
    await eventually(() => expect(d.completed()).toBe(true), 60_000, 50);
    await eventually(() => expect(d.signals.length).toBeGreaterThanOrEqual(expected.length), 30_000, 50);
    await new Promise((r) => setTimeout(r, 500));
    expectSameSignals(d.signals, expected);
    // each symbol was decided by one instance only, and both instances had symbols
    const bySymbol = new Map<string, Set<string>>();
    for (const e of d.signals)
      bySymbol.set(
        (e.payload as Signal).symbol,
        (bySymbol.get((e.payload as Signal).symbol) ?? new Set()).add(e.source),
      );
    for (const [symbol, sources] of bySymbol) expect(sources.size, symbol).toBe(1);
    expect(new Set(d.signals.map((e) => e.source))).toEqual(new Set(['strategy/s1', 'strategy/s2']));
  }, 120_000);

  it('an instance joining mid-run takes symbols over, one leaving hands its symbols back: still no signal twice, none missing', async () => {
    const file = multiSymbolNdjson(SYMBOLS, 500, 11);
    const expected = await singleProcess(file);
    const d = await deployment(file, 2);
    const s1 = await d.strategy('s1');
    // The data agent runs in this process, so the market can be held at two points until the
    // hand-over it needs has happened (under load a process can take many seconds to start; a
    // market that runs on regardless would end before the join): bars keep flowing while s2
    // starts and while s1 drains, but bar 2,500 waits for s2 to run and bar 3,000 for s1 to be gone.
    let s2: Promise<AgentProcess> | undefined;
    let s1Gone: Promise<void> | undefined;
    let published = 0;
    const gate = async () => {
      published++;
      if (published === 1000) s2 = d.strategy('s2'); // joins: takes about half the symbols over from s1
      if (published === 2500) {
        await s2;
        s1Gone = s1.stop(); // leaves: hands its symbols to s2
      }
      if (published === 3000) await s1Gone;
    };
    const data = await d.dataHere(gate);
    try {
      await eventually(() => expect(d.completed()).toBe(true), 120_000, 50);
      await eventually(() => expect(d.signals.length).toBeGreaterThanOrEqual(expected.length), 30_000, 50);
    } finally {
      await data.stop();
    }
    await new Promise((r) => setTimeout(r, 500)); // nothing more arrives
    expectSameSignals(d.signals, expected);
    expect(s1.output()).toMatch(/handed a symbol over/);
    expect((await s2!).output()).toMatch(/took a symbol over with its state/);
    expect(d.signals.some((e) => e.source === 'strategy/s2')).toBe(true);
    const late = d.signals.filter(
      (e) => e.time > Math.max(...d.signals.filter((x) => x.source === 'strategy/s1').map((x) => x.time)),
    );
    expect(late.length).toBeGreaterThan(0);
    expect(new Set(late.map((e) => e.source))).toEqual(new Set(['strategy/s2']));
  }, 150_000);

  it('an instance killed with SIGKILL and restarted under its name keeps its symbols, replays what it missed, and the signals are those of one process', async () => {
    const file = multiSymbolNdjson(SYMBOLS, 500, 17);
    const expected = await singleProcess(file);
    const dir = mkdtempSync(join(tmpdir(), 'sextant-scale-kill-'));
    // the recording stream to replay from, and a ttl that outlasts the restart: s2 leaves s1's symbols alone
    const d = await deployment(file, 2, { RECORDING_JETSTREAM: 'true', PARTITION_TTL_MS: '120000' });
    const own = (instance: string) => ({
      STORE: 'embedded',
      SEXTANT_DATA_DIR: join(dir, instance),
      STORE_CHECKPOINT_MS: '100',
    });
    const s1 = await d.strategy('s1', own('s1'));
    const s2 = await d.strategy('s2', own('s2'));
    // bars flow while s1 is dead and while it starts again; bar 2,500 waits until it runs
    let again: Promise<AgentProcess> | undefined;
    let published = 0;
    const gate = async () => {
      published++;
      if (published === 1500) {
        await killHard(s1);
        again = d.strategy('s1', own('s1'));
      }
      if (published === 2500) await again;
    };
    const data = await d.dataHere(gate);
    // the replay publishes again, with their ids, the signals s1 had made after its checkpoint
    const unique = () => [...new Map(d.signals.map((e) => [e.id, e])).values()];
    try {
      await eventually(() => expect(d.completed()).toBe(true), 120_000, 50);
      await eventually(() => expect(unique().length).toBeGreaterThanOrEqual(expected.length), 30_000, 50);
    } finally {
      await data.stop();
    }
    expectSameSignals(unique(), expected);
    const restarted = (await again!).output();
    expect(restarted).toContain('resuming from the last checkpoint');
    const line = /"read":(\d+),"replayed":(\{[^}]*\})[^\n]*replayed the recording stream/.exec(restarted);
    expect(line, restarted.slice(0, 4000)).not.toBeNull();
    expect((JSON.parse(line![2]!) as { strategy: number }).strategy).toBeGreaterThan(0);
    // s1 kept its symbols: s2 took none over, and both decided
    expect(s2.output()).not.toMatch(/took a symbol over/);
    expect(new Set(unique().map((e) => e.source))).toEqual(new Set(['strategy/s1', 'strategy/s2']));
    console.info(`scale-out kill: s1 killed at bar 1500 of 4000; read ${line![1]}, replayed ${line![2]}`);
  }, 180_000);

  it('a strategies file of two instances on overlapping symbols, over two processes: the signals of one process, and per-strategy PnL that adds up to the account', async () => {
    const file = multiSymbolNdjson(SYMBOLS, 250, 13);
    const instances = [
      { id: 'fast', strategy: 'sma-cross', params: { fast: 3, slow: 8, size: 1 } },
      { id: 'slow', strategy: 'sma-cross', params: { fast: 5, slow: 13, size: 2 }, symbols: SYMBOLS.slice(0, 4) },
    ];
    const expected = await singleProcess(file, instances);
    const strategiesFile = join(mkdtempSync(join(tmpdir(), 'sextant-strategies-')), 'strategies.json');
    writeFileSync(strategiesFile, JSON.stringify({ strategies: instances }));
    const d = await deployment(file, 1, { STRATEGIES_FILE: strategiesFile });
    await d.strategy('s1');
    await d.strategy('s2');
    await d.data();
    await eventually(() => expect(d.completed()).toBe(true), 60_000, 50);
    await eventually(() => expect(d.signals.length).toBeGreaterThanOrEqual(expected.length), 30_000, 50);
    expectSameSignals(d.signals, expected);
    expect(new Set(d.signals.map((e) => (e.payload as Signal).strategy))).toEqual(new Set(['fast', 'slow']));
    expect(new Set(d.signals.map((e) => e.source))).toEqual(new Set(['strategy/s1', 'strategy/s2']));
    const ask = async <T>(what: 'portfolio' | 'strategies') =>
      (
        (
          await observer!.request(
            subjects.query(what),
            rootEnvelope(
              { ids: sequentialIds(`q-${what}`), clock: new VirtualClock(0), source: 'test/1' },
              'query.request',
              {
                params: {},
              },
            ),
          )
        ).payload as { data: T }
      ).data;
    // every order filled: the account's PnL is the sum of the instances'
    await eventually(
      async () => {
        const account = await ask<PortfolioSnapshot>('portfolio');
        const books = await ask<(PortfolioSnapshot & { origin: { id: string } })[]>('strategies');
        expect(books.map((b) => b.origin.id).sort()).toEqual(['fast', 'slow']);
        const sum = books.reduce((t, b) => t + b.pnl!.all, 0);
        expect(Math.abs(sum - account.pnl!.all)).toBeLessThan(0.01);
        expect(books.every((b) => b.positions.length > 0 || b.realizedPnl !== 0)).toBe(true);
      },
      30_000,
      100,
    );
  }, 120_000);
});
