import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/messaging/envelope.js';
import { patterns } from '../../src/core/messaging/subjects.js';
import { loadConfig } from '../../config/load.js';
import type { RiskStateChanged } from '../../src/core/domain/messages.js';
import { startSystem } from '../../src/cli/start-system.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { openEmbeddedStore } from '../../src/infra/store/embedded/embedded-store.js';
import { StoreUnavailableError, type Store } from '../../src/infra/store/ports.js';
import { randomWalkCsv } from '../helpers/csv.js';
import { eventually } from '../helpers/eventually.js';

/** `target` with some methods replaced (the rest bound to it: the stores' parts are class instances). */
function overriding<T extends object>(target: T, patch: Partial<T>): T {
  return new Proxy(target, {
    get: (t, k) =>
      k in patch
        ? patch[k as keyof T]
        : (Reflect.get(t, k, t) as unknown) instanceof Function
          ? (Reflect.get(t, k, t) as (...a: unknown[]) => unknown).bind(t)
          : Reflect.get(t, k, t),
  });
}

/** The embedded store, whose writes (event log, checkpoints) fail while `broken` is set: a disk that went read-only. */
function breakable(store: Store) {
  const state = { broken: false };
  const fail = () => Promise.reject(new StoreUnavailableError("EACCES: permission denied, open 'data/events.log'"));
  const wrapped = overriding(store, {
    events: overriding(store.events, { append: (e) => (state.broken ? fail() : store.events.append(e)) }),
    snapshots: overriding(store.snapshots, { save: (d) => (state.broken ? fail() : store.snapshots.save(d)) }),
  });
  return { store: wrapped, state };
}

describe('a store that cannot persist stops trading', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-storefail-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('failing writes halt trading with the cause and fail readiness; when writes succeed again trading resumes and nothing in between is lost', async () => {
    const { store, state } = breakable(await openEmbeddedStore({ dir, fsync: 'never' }));
    const config = loadConfig({
      env: {
        DATA_FEED: 'csv',
        DATA_FILE: randomWalkCsv(1500, 3),
        DATA_SYMBOLS: 'WALK',
        DATA_PACE_MS: '2',
        STORE_CHECKPOINT_MS: '50',
        SEXTANT_DATA_DIR: dir,
        PORT: '0',
        STRATEGY_FAST: '3',
        STRATEGY_SLOW: '8',
      },
    });
    const system = await startSystem(config, silentLogger, config.runtime.agents, { store });
    const states: RiskStateChanged[] = [];
    let bars = 0;
    system.bus.subscribe(
      patterns.all,
      (e: Envelope) => {
        if (e.type === 'risk.state') states.push(e.payload as RiskStateChanged);
        if (e.type === 'market.bar') bars++;
      },
      { name: 'test' },
    );
    try {
      await eventually(() => expect(bars).toBeGreaterThan(100), 30_000, 10);
      expect(system.writes()).toEqual({ ok: true });
      state.broken = true;
      await eventually(
        () =>
          expect(states.at(-1)).toMatchObject({
            state: 'HALTED',
            cause: {
              kind: 'command',
              by: 'system:store',
              reason: expect.stringMatching(
                /^the embedded store is not taking writes \((checkpoint|event log): EACCES/,
              ) as unknown,
            },
          }),
        30_000,
        10,
      );
      expect(system.writes()).toMatchObject({
        ok: false,
        detail: expect.stringMatching(
          /^embedded store not taking writes \(.*EACCES.*\); trading is stopped until it does$/,
        ) as unknown,
      });
      const halted = bars;
      await eventually(() => expect(bars).toBeGreaterThan(halted + 50), 30_000, 10); // the market goes on
      expect((await system.commands.handle('risk', { id: 't', role: 'viewer' })).text).toMatch(/^Trading is HALTED/);
      state.broken = false;
      await eventually(
        () =>
          expect(states.at(-1)).toMatchObject({
            state: 'ACTIVE',
            cause: {
              by: 'system:store',
              reason: expect.stringMatching(/^the embedded store takes writes again/) as unknown,
            },
          }),
        30_000,
        10,
      );
      expect(system.writes()).toEqual({ ok: true });
      await system.feedDone();
      await system.recorder!.flush();
      // nothing written while the store failed was lost: every bar is in the event log
      expect((await store.events.query({ type: 'market.bar', limit: 10_000 })).length).toBe(1500);
    } finally {
      await system.stop();
    }
  }, 90_000);
});
