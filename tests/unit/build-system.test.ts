import { describe, expect, it } from 'vitest';
import { buildSystem, type Part, type StopStage, type SystemMode } from '../../src/app/kernel/build-system.js';
import { unboundedLimits } from '../../agents/risk/limits.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { subjects } from '../../src/core/messaging/subjects.js';

const settings = {
  strategy: { kind: 'sma-cross' as const, id: 'sma-cross', fast: 2, slow: 4, size: 1 },
  limits: unboundedLimits,
  costs: { feeBps: 0, feePerShare: 0, slippageBps: 0 },
  startCash: 1_000,
};

/** A part that notes when it starts and stops. */
const part = (log: string[], name: string, stage: StopStage): Part => ({
  name,
  stage,
  start: () => void log.push(`start ${name}`),
  stop: () => void log.push(`stop ${name}`),
});

function plan(mode: SystemMode, log: string[], extra: { failOpen?: boolean } = {}) {
  return {
    mode,
    clock: new VirtualClock(0),
    ids: sequentialIds('b'),
    logger: silentLogger,
    source: 'test/build',
    bus: { name: 'build-test', maxPayloadBytes: 65_536, requestTimeoutMs: 500 },
    links: () => [
      part(log, 'store', 'store'),
      part(log, 'recording', 'persistence'),
      part(log, 'recorder', 'persistence'),
      part(log, 'metrics', 'observers'),
    ],
    agents: () => ({ instance: 'b', heartbeatMs: 0, agents: ['portfolio', 'risk'] as const, settings }),
    interfaces: () => {
      if (extra.failOpen) return Promise.reject(new Error('port 8080 in use'));
      return Promise.resolve([part(log, 'http', 'intake'), part(log, 'tracker', 'observers')]);
    },
    started: () => [part(log, 'checkpointer', 'checkpoint'), part(log, 'bots', 'services')],
    busEnd: mode === 'live' ? ('drain' as const) : ('close' as const),
  };
}

describe('one builder for every mode (src/app/kernel/build-system.ts)', () => {
  it('a live system stops in named steps: intake, feed, settle, checkpoint, services, agents, observers, persistence, store, bus', async () => {
    const log: string[] = [];
    const system = await buildSystem(plan('live', log));
    await system.start();
    expect(log).toEqual([
      'start store',
      'start recording',
      'start recorder',
      'start metrics',
      'start checkpointer',
      'start bots',
    ]);
    expect(system.kernel.hosts.map((h) => h.lifecycle)).toEqual(['running', 'running']);
    expect(system.shutdown()).toEqual([
      'http',
      'stop the feed',
      'let the bus settle',
      'checkpointer',
      'bots',
      'stop the agents',
      'tracker',
      'metrics',
      'recorder',
      'recording',
      'store',
      'drain the bus',
    ]);
    log.length = 0;
    await system.stop();
    await system.stop(); // idempotent
    expect(log).toEqual([
      'stop http',
      'stop checkpointer',
      'stop bots',
      'stop tracker',
      'stop metrics',
      'stop recorder',
      'stop recording',
      'stop store',
    ]);
    expect(system.kernel.hosts.map((h) => h.lifecycle)).toEqual(['stopped', 'stopped']);
  });

  it('a backtest, replay or test system stops without waiting for the bus to settle, and closes the bus', async () => {
    for (const mode of ['backtest', 'replay', 'test'] as const) {
      const system = await buildSystem(plan(mode, []));
      await system.start();
      expect(system.shutdown()).toEqual([
        'http',
        'checkpointer',
        'bots',
        'stop the agents',
        'tracker',
        'metrics',
        'recorder',
        'recording',
        'store',
        'close the bus',
      ]);
      await system.stop();
    }
  });

  it('links hear the bus before any agent starts; nothing runs before start', async () => {
    const seen: string[] = [];
    const system = await buildSystem({
      ...plan('test', []),
      links: ({ bus }) => {
        bus.subscribe(subjects.riskState(), (env) => void seen.push(env.type));
        return [];
      },
    });
    await system.bus.flush();
    expect(seen).toEqual([]);
    await system.start();
    await system.bus.flush();
    // the risk agent announces its trading state as it starts: the link heard it
    expect(seen).toEqual(['risk.state']);
    await system.stop();
  });

  it('an interface that cannot open stops what had started, and the caller gets the error', async () => {
    const log: string[] = [];
    const system = await buildSystem(plan('live', log, { failOpen: true }));
    await expect(system.start()).rejects.toThrow('port 8080 in use');
    expect(log).toEqual([
      'start store',
      'start recording',
      'start recorder',
      'start metrics',
      'stop metrics',
      'stop recorder',
      'stop recording',
      'stop store',
    ]);
    // no agent ever ran: the port was refused before anything could trade
    expect(system.kernel.hosts.some((h) => h.lifecycle === 'running')).toBe(false);
  });
});
