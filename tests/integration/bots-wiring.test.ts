import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { startSystem, type RunningSystem } from '../../src/cli/start-system.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { randomWalkCsv } from '../helpers/csv.js';
import { eventually } from '../helpers/eventually.js';
import { FakeTelegram } from '../helpers/fake-telegram.js';
import { freePort } from '../helpers/free-port.js';

const OPERATOR = 4242;

/**
 * The composition root turns the Telegram bot on from configuration alone: `sextant start`
 * with TELEGRAM_BOT_TOKEN polls the (fake) Bot API, answers commands from the running system
 * and pushes the system's own notifications. PORT=0 keeps the HTTP API off: bots do not need it.
 */
describe('sextant start with TELEGRAM_BOT_TOKEN', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-bots-'));
  let fake: FakeTelegram;
  let system: RunningSystem;

  beforeAll(async () => {
    fake = await FakeTelegram.start({ pollWaitMs: 100 });
    const config = loadConfig({
      env: {
        PORT: '0',
        TELEGRAM_BOT_TOKEN: '123456:TEST-token-for-the-fake-server',
        TELEGRAM_API_ROOT: fake.apiRoot,
        TELEGRAM_ALLOWED_USERS: `${OPERATOR}:operator`,
        DATA_FEED: 'csv',
        DATA_FILE: randomWalkCsv(60, 3),
        DATA_SYMBOLS: 'WALK',
        DATA_PACE_MS: '0',
        SEXTANT_DATA_DIR: join(dir, 'data'),
        HEARTBEAT_INTERVAL_MS: '60000',
      },
    });
    system = await startSystem(config, silentLogger, config.runtime.agents, { api: true });
    await system.feedDone();
  });

  afterAll(async () => {
    await system?.stop();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers the commands, answers /portfolio from the running portfolio', async () => {
    // the bots start in the background, after trading and checkpoints are under way
    await eventually(() => expect(fake.callsOf('setMyCommands').length).toBe(1));
    await eventually(() => expect(fake.waitingPolls).toBeGreaterThan(0));
    fake.push(fake.text(OPERATOR, '/portfolio'));
    await eventually(() => expect(fake.sentTo(OPERATOR).join('\n')).toMatch(/equity/i));
  });

  it('a halt typed by an allowed operator is previewed, confirmed by button, reaches risk, and the state change is pushed to a subscribed chat', async () => {
    fake.push(fake.text(OPERATOR, '/notify all on'));
    await eventually(() => expect(fake.sentTo(OPERATOR).join('\n')).toMatch(/risk/i));
    fake.push(fake.text(OPERATOR, '/halt'));
    await eventually(() =>
      expect(
        fake
          .callsOf('sendMessage')
          .some(
            (c) => c.params.chat_id === OPERATOR && JSON.stringify(c.params.reply_markup ?? '').includes('Confirm'),
          ),
      ).toBe(true),
    );
    const preview = fake
      .callsOf('sendMessage')
      .filter((c) => c.params.chat_id === OPERATOR && JSON.stringify(c.params.reply_markup ?? '').includes('Confirm'))
      .at(-1)!;
    const markup = preview.params.reply_markup as { inline_keyboard: { text: string; callback_data: string }[][] };
    const confirm = markup.inline_keyboard.flat().find((b) => b.text.includes('Confirm'))!;
    fake.push(fake.tap(OPERATOR, confirm.callback_data, (preview.result as { message_id: number }).message_id));
    await eventually(async () => {
      const risk = await system.commands.invoke('risk', {}, { id: 'test', role: 'viewer' });
      expect(risk.text).toMatch(/HALTED/);
    });
    // the risk agent's state change comes back as a pushed notification to the subscribed chat
    await eventually(() => expect(fake.sentTo(OPERATOR).join('\n')).toMatch(/now HALTED/));
  });
});

describe('sextant start with TELEGRAM_WEBHOOK_URL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-hook-'));
  const SECRET = 'a-webhook-secret-of-some-length';
  let fake: FakeTelegram;
  let system: RunningSystem;
  let hook: string;

  beforeAll(async () => {
    fake = await FakeTelegram.start();
    const port = await freePort();
    hook = `http://127.0.0.1:${port}/telegram/hook`;
    const config = loadConfig({
      env: {
        PORT: String(port),
        TELEGRAM_BOT_TOKEN: '123456:TEST-token-for-the-fake-server',
        TELEGRAM_API_ROOT: fake.apiRoot,
        TELEGRAM_ALLOWED_USERS: `${OPERATOR}:operator`,
        TELEGRAM_WEBHOOK_URL: hook,
        TELEGRAM_WEBHOOK_SECRET: SECRET,
        STORE: 'off',
        DATA_FEED: 'csv',
        DATA_FILE: randomWalkCsv(20, 4),
        DATA_SYMBOLS: 'WALK',
        DATA_PACE_MS: '0',
        HEARTBEAT_INTERVAL_MS: '60000',
      },
    });
    system = await startSystem(config, silentLogger, config.runtime.agents, { api: true });
  });

  afterAll(async () => {
    await system?.stop();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers the webhook with its secret instead of polling, and the API route takes only updates that carry the secret', async () => {
    const registered = await eventually(() => {
      const [call] = fake.callsOf('setWebhook');
      expect(call).toBeDefined();
      return call!;
    });
    expect(registered.params).toMatchObject({ url: hook, secret_token: SECRET });
    expect(fake.callsOf('getUpdates')).toHaveLength(0);
    const post = (secret: string | undefined) =>
      fetch(hook, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}),
        },
        body: JSON.stringify(fake.text(OPERATOR, '/risk')),
      });
    expect((await post(undefined)).status).toBe(401);
    expect((await post('not-the-secret-at-all')).status).toBe(401);
    expect(fake.sentTo(OPERATOR)).toHaveLength(0);
    expect((await post(SECRET)).status).toBe(200);
    await eventually(() => expect(fake.sentTo(OPERATOR).join('\n')).toMatch(/ACTIVE/));
  });

  it('a webhook URL without a secret, or with PORT=0, stops start-up naming the key', () => {
    expect(() =>
      loadConfig({ env: { TELEGRAM_BOT_TOKEN: '123456:TEST-token-for-the-fake-server', TELEGRAM_WEBHOOK_URL: hook } }),
    ).toThrow(/TELEGRAM_WEBHOOK_SECRET/);
    expect(() =>
      loadConfig({ env: { TELEGRAM_WEBHOOK_URL: hook, TELEGRAM_WEBHOOK_SECRET: SECRET, PORT: '0' } }),
    ).toThrow(/PORT/);
  });
});

describe('sextant bots (the bots alone)', () => {
  it('serves /health (and a webhook when set), never the API, the dashboard or the metrics', async () => {
    const fake = await FakeTelegram.start({ pollWaitMs: 100 });
    const port = await freePort();
    const config = loadConfig({
      env: {
        PORT: String(port),
        STORE: 'off',
        TELEGRAM_BOT_TOKEN: '123456:TEST-token-for-the-fake-server',
        TELEGRAM_API_ROOT: fake.apiRoot,
        TELEGRAM_ALLOWED_USERS: `${OPERATOR}:operator`,
        HEARTBEAT_INTERVAL_MS: '60000',
      },
    });
    const system = await startSystem(config, silentLogger, [], { bots: true });
    try {
      const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.status);
      expect(await get('/health')).toBe(200);
      expect(await get('/api/v1/portfolio')).toBe(404);
      expect(await get('/metrics')).toBe(404);
      expect(await get('/')).toBe(404);
      await eventually(() => expect(fake.callsOf('setMyCommands').length).toBe(1));
    } finally {
      await system.stop();
      await fake.close();
    }
  });
});
