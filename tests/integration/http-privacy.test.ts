import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { startSystem, type RunningSystem } from '../../src/cli/start-system.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { randomWalkCsv } from '../helpers/csv.js';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/free-port.js';

const ALICE = 'viewer-token-alice-0123456789';
const BOB = 'viewer-token-bob-0123456789ab';
const ADMIN = 'admin-token-privacy-0123456789';

interface Exchange {
  id: string;
  correlationId: string;
  type: string;
  payload: { user: string; question: string; answer: string };
}

/** An open `/api/v1/stream`: every event it has delivered so far, parsed. */
function readStream(response: Response): { events: Exchange[] } {
  const out = { events: [] as Exchange[] };
  void (async () => {
    const reader = response.body!.getReader();
    const dec = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += dec.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (data) out.events.push(JSON.parse(data) as Exchange);
      }
    }
  })();
  return out;
}

/**
 * Who reads whose conversations (#27): a person sees the account's events and their own chat
 * exchanges; an admin sees everyone's. Over a listening server with the real chat agent (the
 * offline parser: no model key), recorder and store.
 */
describe('HTTP API privacy: conversations by person', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-privacy-'));
  let system: RunningSystem;
  let base: string;
  const aborts: AbortController[] = [];
  const ids: Record<string, string> = {};

  const get = (path: string, token: string) =>
    fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const ask = async (token: string, message: string) =>
    (await (
      await fetch(`${base}/api/v1/chat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ message }),
      })
    ).json()) as { ok: boolean; text: string; code?: string };
  const stream = async (token: string) => {
    const abort = new AbortController();
    aborts.push(abort);
    const res = await fetch(`${base}/api/v1/stream?type=chat.exchange`, {
      headers: { authorization: `Bearer ${token}` },
      signal: abort.signal,
    });
    expect(res.status).toBe(200);
    return readStream(res);
  };

  beforeAll(async () => {
    const port = await freePort();
    const config = loadConfig({
      env: {
        PORT: String(port),
        SEXTANT_API_TOKENS: `${ALICE}:viewer,${BOB}:viewer,${ADMIN}:admin`,
        DATA_FEED: 'csv',
        DATA_FILE: randomWalkCsv(120, 4),
        DATA_SYMBOLS: 'WALK',
        DATA_PACE_MS: '0',
        SEXTANT_DATA_DIR: join(dir, 'data'),
      },
    });
    system = await startSystem(config, silentLogger, config.runtime.agents, { api: true });
    await system.feedDone();
    base = `http://127.0.0.1:${port}`;
    for (const [who, token] of [
      ['alice', ALICE],
      ['bob', BOB],
      ['admin', ADMIN],
    ] as const)
      ids[who] = `api:${((await (await get('/api/v1/whoami', token)).json()) as { name: string }).name}`;
  });
  afterAll(async () => {
    for (const a of aborts) a.abort();
    await system?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a viewer's stream and event log show their own conversations only; an admin's show everyone's", async () => {
    const bobLive = await stream(BOB);
    const adminLive = await stream(ADMIN);

    await ask(ALICE, 'how much cash do I have'); // published first: a stream that leaked would deliver it first
    await ask(BOB, "what's my pnl today");

    await eventually(() => expect(bobLive.events.map((e) => e.payload.user)).toContain(ids.bob));
    await eventually(() => expect(adminLive.events).toHaveLength(2));
    expect(bobLive.events.map((e) => e.payload.user)).toEqual([ids.bob]);
    expect(adminLive.events.map((e) => e.payload.user)).toEqual([ids.alice, ids.bob]);

    await eventually(async () => {
      await system.recorder!.flush();
      const all = (await (await get('/api/v1/events?type=chat.exchange', ADMIN)).json()) as Exchange[];
      expect(all.map((e) => e.payload.user)).toEqual([ids.alice, ids.bob]);
    });
    const bobs = (await (await get('/api/v1/events?type=chat.exchange', BOB)).json()) as Exchange[];
    expect(bobs.map((e) => [e.payload.user, e.payload.question])).toEqual([[ids.bob, "what's my pnl today"]]);
    const alices = (await (
      await get('/api/v1/events?type=chat.exchange&newest=true&limit=1', ALICE)
    ).json()) as Exchange[];
    expect(alices.map((e) => e.payload.question)).toEqual(['how much cash do I have']); // the limit counts her own only
    // unfiltered by type, the log still holds no one else's question
    const everything = JSON.stringify(await (await get('/api/v1/events?newest=true&limit=1000', BOB)).json());
    expect(everything).not.toContain('how much cash do I have');
    expect(everything).toContain('market.bar'); // the account's events are there
  });

  it("another person's conversation cannot be traced, by the API or by the trace command; its owner and an admin can", async () => {
    await system.recorder!.flush();
    const [alices] = (await (await get('/api/v1/events?type=chat.exchange', ALICE)).json()) as Exchange[];
    const chain = alices!.correlationId;

    expect((await get(`/api/v1/trace/${chain}`, BOB)).status).toBe(404);
    expect((await get(`/api/v1/trace/${chain}`, ALICE)).status).toBe(200);
    expect((await get(`/api/v1/trace/${chain}`, ADMIN)).status).toBe(200);
    expect(await ask(BOB, `trace ${chain}`)).toMatchObject({ ok: false, code: 'not_found' });
    expect((await ask(ALICE, `trace ${chain}`)).text).toContain('chat.exchange');
  });

  it("the dashboard's reads work for a viewer: signals, fills and bars newest first", async () => {
    for (const type of ['signal.generated', 'order.filled', 'portfolio.updated'])
      expect((await get(`/api/v1/events?type=${type}&newest=true&limit=50`, BOB)).status).toBe(200);
    const bars = (await (
      await get('/api/v1/events?type=market.bar&symbol=WALK&newest=true&limit=5', BOB)
    ).json()) as unknown[];
    expect(bars).toHaveLength(5);
  });
});
