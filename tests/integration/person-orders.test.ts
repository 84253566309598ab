import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/messaging/envelope.js';
import { patterns } from '../../src/core/messaging/subjects.js';
import { loadConfig } from '../../config/load.js';
import type { Caller } from '../../interfaces/commands/registry.js';
import type { Bar, OrderApproved, OrderFilled } from '../../src/core/domain/messages.js';
import { startSystem, type RunningSystem } from '../../src/cli/start-system.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { randomWalkCsv } from '../helpers/csv.js';
import { eventually } from '../helpers/eventually.js';

const operator: Caller = { id: 'test:operator', role: 'operator' };

/**
 * A person's order is decided at the market's event time, not the wall clock's: with a feed whose
 * bars are dated 2024 (years behind the wall clock) and paced, a market buy is valued at the
 * latest bar and fills at the open of the bar after it, as a strategy's order does.
 */
describe("people's orders use the market's clock", () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-person-'));
  let system: RunningSystem;
  const seen: Envelope[] = [];

  beforeAll(async () => {
    const config = loadConfig({
      env: {
        DATA_FEED: 'csv',
        DATA_FILE: randomWalkCsv(3000, 5),
        DATA_SYMBOLS: 'WALK',
        DATA_PACE_MS: '3',
        STORE: 'off',
        PORT: '0',
      },
    });
    system = await startSystem(config, silentLogger, config.runtime.agents);
    system.bus.subscribe(patterns.all, (env) => void seen.push(env), { name: 'test' });
  });
  afterAll(async () => {
    await system?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a confirmed market buy is decided at the latest bar and fills at the next bar open', async () => {
    const bars = () => seen.filter((e) => e.type === 'market.bar').map((e) => e.payload as Bar);
    await eventually(() => expect(bars().length).toBeGreaterThan(50), 30_000, 10);
    const preview = await system.commands.handle('buy WALK 3', operator);
    expect(preview.preview?.check).toMatchObject({ wouldPass: true });
    const sent = await system.commands.handle(`confirm ${preview.preview!.id}`, operator);
    expect(sent).toMatchObject({ ok: true, text: expect.stringMatching(/^Risk approved buy 3 WALK/) as unknown });
    const id = (sent.data as { clientOrderId: string }).clientOrderId;
    const approved = seen.find(
      (e) => e.type === 'order.approved' && (e.payload as OrderApproved).order.clientOrderId === id,
    )!;
    const decidedAt = (approved.payload as OrderApproved).order.decidedAt;
    // a bar of the feed's own time (2024), not the wall clock's
    expect(bars().some((b) => b.time === decidedAt)).toBe(true);
    const fill = await eventually(
      () => {
        const f = seen.find((e) => e.type === 'order.filled' && (e.payload as OrderFilled).clientOrderId === id);
        expect(f).toBeDefined();
        return f!.payload as OrderFilled;
      },
      30_000,
      10,
    );
    const next = bars().find((b) => b.time > decidedAt)!;
    expect(fill.price).toBe(next.open);
  }, 60_000);
});
