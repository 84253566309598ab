import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { AgentTracker } from '../../interfaces/commands/agent-tracker.js';
import { createApi } from '../../interfaces/http/app.js';
import { startSystem, type RunningSystem } from '../../src/cli/start-system.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { Metrics } from '../../src/infra/observability/metrics.js';
import { systemClock } from '../../src/core/ports/clock.js';
import { ulidSource } from '../../src/core/ports/ids.js';
import { randomWalkCsv } from '../helpers/csv.js';

const VIEWER = 'viewer-token-dash-0123456789';
const OPERATOR = 'operator-token-dash-0123456789';
const OTHER_OPERATOR = 'operator-token-dash-other-0123';

/**
 * What the dashboard needs from the API besides the existing routes: the page, the command layer's preview and
 * confirm, newest-first history, prefix filters on the stream.
 */
describe('HTTP API for the dashboard', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-dash-api-'));
  let system: RunningSystem;
  let app: ReturnType<typeof createApi>;
  let metrics: Metrics;

  beforeAll(async () => {
    const config = loadConfig({
      env: {
        DATA_FEED: 'csv',
        DATA_FILE: randomWalkCsv(200, 9),
        DATA_SYMBOLS: 'WALK',
        DATA_PACE_MS: '0',
        SEXTANT_DATA_DIR: join(dir, 'data'),
        HEARTBEAT_INTERVAL_MS: '60000',
      },
    });
    system = await startSystem(config, silentLogger, config.runtime.agents);
    await system.feedDone();
    metrics = new Metrics();
    app = createApi({
      bus: system.bus,
      store: system.store,
      metrics,
      agents: new AgentTracker(config.runtime.agents, 60_000),
      commands: system.commands,
      envelope: { ids: ulidSource(), clock: systemClock, source: 'api/test' },
      log: silentLogger,
      tokens: [
        { token: VIEWER, role: 'viewer', name: 'viewer-1' },
        { token: OPERATOR, role: 'operator', name: 'operator-1' },
        { token: OTHER_OPERATOR, role: 'operator', name: 'operator-2' },
      ],
      metricsOpen: true,
      rateLimitPerMinute: 0,
      corsOrigins: [],
      requestTimeoutMs: 2000,
    });
  });
  afterAll(async () => {
    await system?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = (path: string, init: { method?: string; token?: string; body?: unknown } = {}) =>
    app.request(path, {
      method: init.method ?? 'GET',
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  const state = async () => ((await (await call('/api/v1/risk', { token: VIEWER })).json()) as { state: string }).state;

  it('serves the page without a token (no data in it) under a strict CSP, and its assets by content hash, cached for good', async () => {
    const page = await call('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self';/);
    const html = await page.text();
    const assets = [...html.matchAll(/"(\/dashboard\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.map((a) => a.replace(/\.[0-9a-f]{12}\./, '.H.'))).toEqual([
      '/dashboard/assets/uplot.H.css',
      '/dashboard/assets/app.H.css',
      '/dashboard/assets/uplot.H.js',
      '/dashboard/assets/app.H.js',
    ]);
    for (const a of assets) {
      const res = await call(a);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await res.text()).length).toBeGreaterThan(1000);
    }
    expect((await call('/dashboard/assets/app.000000000000.js')).status).toBe(404);
  });

  it('halt through the command layer: a preview first, executed once on confirm, only by the token it was shown to', async () => {
    expect((await call('/api/v1/commands/halt', { method: 'POST', token: VIEWER, body: {} })).status).toBe(403);
    const made = await call('/api/v1/commands/halt', {
      method: 'POST',
      token: OPERATOR,
      body: { args: { reason: 'test halt' } },
    });
    const preview = ((await made.json()) as { preview: { id: string; command: string; summary: string } }).preview;
    expect(preview).toMatchObject({ command: 'halt', summary: 'halt trading (test halt)' });
    expect(await state()).toBe('ACTIVE'); // nothing sent yet
    const stranger = await call(`/api/v1/commands/confirm/${preview.id}`, { method: 'POST', token: OTHER_OPERATOR });
    expect(stranger.status).toBe(404);
    const confirmed = await call(`/api/v1/commands/confirm/${preview.id}`, { method: 'POST', token: OPERATOR });
    expect(await confirmed.json()).toMatchObject({ ok: true, data: { accepted: true, state: 'HALTED' } });
    expect(await state()).toBe('HALTED');
    const again = await call(`/api/v1/commands/confirm/${preview.id}`, { method: 'POST', token: OPERATOR });
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ error: { code: 'no_preview' } });

    const resume = (
      (await (await call('/api/v1/commands/resume', { method: 'POST', token: OPERATOR, body: {} })).json()) as {
        preview: { id: string };
      }
    ).preview;
    expect((await call(`/api/v1/commands/cancel/${resume.id}`, { method: 'POST', token: OPERATOR })).status).toBe(200);
    expect((await call(`/api/v1/commands/confirm/${resume.id}`, { method: 'POST', token: OPERATOR })).status).toBe(404);
    expect(await state()).toBe('HALTED');
    const resume2 = (
      (await (await call('/api/v1/commands/resume', { method: 'POST', token: OPERATOR, body: {} })).json()) as {
        preview: { id: string };
      }
    ).preview;
    await call(`/api/v1/commands/confirm/${resume2.id}`, { method: 'POST', token: OPERATOR });
    expect(await state()).toBe('ACTIVE');
  });

  it('refuses unknown commands, bad arguments and bad names in the one error shape', async () => {
    expect(
      await (await call('/api/v1/commands/explode', { method: 'POST', token: OPERATOR, body: {} })).json(),
    ).toMatchObject({ error: { code: 'unknown_command' } });
    const bad = await call('/api/v1/commands/halt', {
      method: 'POST',
      token: OPERATOR,
      body: { args: { reason: 'x'.repeat(400) } },
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'bad_arguments' } });
    expect((await call('/api/v1/commands/HALT!', { method: 'POST', token: OPERATOR, body: {} })).status).toBe(400);
    expect(
      (await call('/api/v1/commands/halt', { method: 'POST', token: OPERATOR, body: { reason: 'not in args' } }))
        .status,
    ).toBe(400);
  });

  it("a person's mistake in a command is a 4xx, never a 5xx: closing what is not held is 422, an unknown trace 404", async () => {
    const close = await call('/api/v1/commands/close', {
      method: 'POST',
      token: OPERATOR,
      body: { args: { target: 'NOPE' } },
    });
    expect(close.status).toBe(422);
    expect(await close.json()).toMatchObject({
      error: { code: 'no_position', message: 'there is no open position in NOPE' },
    });
    const trace = await call('/api/v1/commands/trace', {
      method: 'POST',
      token: OPERATOR,
      body: { args: { id: 'no-such-chain' } },
    });
    expect(trace.status).toBe(404);
    expect(await trace.json()).toMatchObject({ error: { code: 'not_found' } });
    const why = await call('/api/v1/commands/why', {
      method: 'POST',
      token: OPERATOR,
      body: { args: { symbol: 'NOPE' } },
    });
    expect(why.status).toBe(404);
    // a number nobody can trade is a bad argument, named, at once
    const buy = await call('/api/v1/commands/buy', {
      method: 'POST',
      token: OPERATOR,
      body: { args: { symbol: 'WALK', qty: 5e-324 } },
    });
    expect(buy.status).toBe(400);
    expect(await buy.json()).toMatchObject({
      error: { code: 'bad_arguments', message: expect.stringContaining('qty:') },
    });
  });

  it('gives the newest events first on request', async () => {
    const oldest = (await (await call('/api/v1/events?type=market.bar&limit=3', { token: VIEWER })).json()) as {
      time: number;
    }[];
    const newest = (await (
      await call('/api/v1/events?type=market.bar&limit=3&newest=true', { token: VIEWER })
    ).json()) as { time: number }[];
    expect(oldest.map((e) => e.time)).toEqual([...oldest.map((e) => e.time)].sort((a, b) => a - b));
    expect(newest.map((e) => e.time)).toEqual([...newest.map((e) => e.time)].sort((a, b) => b - a));
    expect(newest[0]!.time).toBeGreaterThan(oldest[2]!.time);
    expect((await call('/api/v1/events?newest=maybe', { token: VIEWER })).status).toBe(400);
  });

  it('streams every order event for type=order.* (and no query, bar or portfolio traffic)', async () => {
    const res = await call('/api/v1/stream?type=order.*', { token: OPERATOR });
    const reader = res.body!.getReader();
    const placed = await call('/api/v1/orders', {
      method: 'POST',
      token: OPERATOR,
      body: { symbol: 'WALK', side: 'buy', qty: 1 },
    });
    expect(placed.status).toBe(202);
    const seen: string[] = [];
    const dec = new TextDecoder();
    while (!seen.includes('order.submitted') && !seen.includes('order.rejected')) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const m of dec.decode(value).matchAll(/^event: (.+)$/gm)) seen.push(m[1]!);
    }
    await reader.cancel();
    // the feed has ended: the market order waits for a next bar that never comes
    expect(seen).toEqual(['order.intent', 'order.approved', 'order.submitted']);
  });
});
