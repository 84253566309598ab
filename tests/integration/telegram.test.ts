import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { QueryName } from '../../src/core/messaging/subjects.js';
import type { Caller, Reply } from '../../interfaces/commands/registry.js';
import { createCommandRouter } from '../../interfaces/commands/router.js';
import type { CommandServices, OrderRequest } from '../../interfaces/commands/services.js';
import { createTelegramBot, type TelegramBot, type TelegramBotOptions } from '../../interfaces/telegram/bot.js';
import type { PortfolioSnapshot, Position, RiskCommandResult } from '../../src/core/domain/messages.js';
import { createLogger } from '../../src/core/ports/logger.js';
import { eventually } from '../helpers/eventually.js';
import { FakeTelegram, type FakeChat } from '../helpers/fake-telegram.js';
import { stubNotifier } from '../helpers/stub-notifier.js';

const OPERATOR = 1001;
const VIEWER = 1002;
const OTHER_OPERATOR = 1003;
const STRANGER = 6666;
const TRADING_GROUP: FakeChat = { id: -100500, type: 'supergroup' };
const OPEN_GROUP: FakeChat = { id: -100600, type: 'group' };
const TTL_MS = 60_000;

const position = (symbol: string, qty: number): Position => ({
  symbol,
  qty,
  avgPrice: 100,
  lastPrice: 101,
  marketValue: qty * 101,
  unrealizedPnl: qty,
  realizedPnl: 0,
});

/** Command services over in-memory data; `intend` records what would reach risk. */
function stubServices(clock: { now: number }) {
  const intents: { order: OrderRequest; caller: Caller }[] = [];
  const data = { positions: [position('ORCL', 10), position('MSFT', -5)] };
  const portfolio: PortfolioSnapshot = {
    cash: 1000,
    equity: 2000,
    positions: data.positions,
    realizedPnl: 0,
    unrealizedPnl: 5,
    fees: 0,
    dayPnl: 5,
    dayStartEquity: 1995,
    pnl: { day: 5, week: 5, month: 5, all: 5 },
    peakEquity: 2000,
    drawdown: 0,
    maxDrawdown: 0,
    asOf: null,
  };
  const services: CommandServices = {
    ask<T>(what: QueryName): Promise<T> {
      const answers: Partial<Record<QueryName, unknown>> = {
        positions: data.positions,
        portfolio,
        risk: { state: 'ACTIVE', openOrders: 0, limits: {}, counts: { approved: 0, rejected: 0 } },
      };
      return Promise.resolve((answers[what] ?? []) as T);
    },
    intend(order, caller) {
      intents.push({ order, caller });
      return {
        clientOrderId: `cmd-${intents.length}`,
        correlationId: `corr-${intents.length}`,
        verdict: Promise.resolve({ kind: 'approved' as const }),
      };
    },
    precheck: () => Promise.resolve({ wouldPass: true }),
    risk: (command) =>
      Promise.resolve({
        command,
        accepted: true,
        reason: 'ok',
        state: 'ACTIVE',
        limits: {},
      } satisfies RiskCommandResult),
    agents: () => ({}),
    now: () => clock.now,
  };
  return { services, intents, data };
}

interface Harness {
  readonly fake: FakeTelegram;
  readonly tg: TelegramBot;
  readonly clock: { now: number };
  readonly intents: ReturnType<typeof stubServices>['intents'];
  readonly data: ReturnType<typeof stubServices>['data'];
  readonly notifier: ReturnType<typeof stubNotifier>;
  readonly logs: Record<string, unknown>[];
  readonly rawLogs: () => string;
  /** Sends an update through telegraf and waits until it is handled. */
  readonly feed: (update: Parameters<TelegramBot['handleUpdate']>[0]) => Promise<void>;
  /** The inline keyboard of the last message sent to a chat. */
  readonly lastKeyboard: (chatId: number) => { message_id: number; buttons: { text: string; callback_data: string }[] };
}

describe('telegram bot', () => {
  const open: Harness[] = [];
  afterEach(async () => {
    for (const h of open.splice(0)) {
      await h.tg.stop();
      await h.fake.close();
    }
  });

  async function harness(overrides: Partial<TelegramBotOptions> = {}): Promise<Harness> {
    const fake = await FakeTelegram.start();
    const clock = { now: Date.UTC(2026, 10, 2, 10) };
    const { services, intents, data } = stubServices(clock);
    let seq = 0;
    const router = createCommandRouter(services, {
      now: () => clock.now,
      previewTtlMs: TTL_MS,
      newId: () => `p${++seq}`,
    });
    const notifier = stubNotifier();
    let raw = '';
    const logs: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        raw += chunk.toString();
        for (const line of chunk.toString().split('\n').filter(Boolean))
          logs.push(JSON.parse(line) as Record<string, unknown>);
        cb();
      },
    });
    const tg = createTelegramBot({
      token: '123456:TEST-token-for-the-fake-server',
      apiRoot: fake.apiRoot,
      router,
      notifier,
      users: [
        { id: OPERATOR, role: 'operator' },
        { id: String(VIEWER), role: 'viewer' },
        { id: OTHER_OPERATOR, role: 'operator' },
      ],
      groups: [{ id: String(TRADING_GROUP.id), role: 'operator' }],
      rateLimitPerMinute: 20,
      log: createLogger({ level: 'debug', destination }),
      now: () => clock.now,
      polling: false,
      ...overrides,
    });
    tg.bot.botInfo = fake.botInfo; // as start() would fetch with getMe
    const h: Harness = {
      fake,
      tg,
      clock,
      intents,
      data,
      notifier,
      logs,
      rawLogs: () => raw,
      feed: (u) => tg.handleUpdate(u),
      lastKeyboard: (chatId) => {
        const sent = fake.callsOf('sendMessage').filter((c) => c.params.chat_id === chatId);
        const last = sent.at(-1)!;
        const markup = last.params.reply_markup as { inline_keyboard: { text: string; callback_data: string }[][] };
        return {
          message_id: (last.result as { message_id: number }).message_id,
          buttons: markup.inline_keyboard.flat(),
        };
      },
    };
    open.push(h);
    return h;
  }

  it('start registers every registry command and alias under Telegram-valid names', async () => {
    const h = await harness();
    await h.tg.start();
    const [call] = h.fake.callsOf('setMyCommands');
    const commands = call!.params.commands as { command: string; description: string }[];
    expect(commands.map((c) => c.command)).toEqual(
      expect.arrayContaining([
        'help',
        'positions',
        'portfolio',
        'balance',
        'cash',
        'buy',
        'sell',
        'halt',
        'notify',
        // dashed names have an underscore alias Telegram accepts
        'cancel_order',
        'accept_price',
      ]),
    );
    for (const c of commands) {
      expect(c.command).toMatch(/^[a-z0-9_]{1,32}$/);
      expect(c.description.length).toBeGreaterThan(0);
      expect(c.description.length).toBeLessThanOrEqual(256);
    }
    expect(new Set(commands.map((c) => c.command)).size).toBe(commands.length);
  });

  it("an allowed user's /positions is answered as a monospace table", async () => {
    const h = await harness();
    await h.feed(h.fake.text(OPERATOR, '/positions'));
    const [reply] = h.fake.callsOf('sendMessage');
    expect(reply!.params).toMatchObject({ chat_id: OPERATOR, parse_mode: 'HTML' });
    expect(String(reply!.params.text)).toMatch(/^<pre>ORCL\s+10 @ 100\.00.*\nMSFT\s+-5 @/s);
    await h.feed(h.fake.text(OPERATOR, '/help'));
    expect(h.fake.sentTo(OPERATOR).at(-1)).toContain('buy SYM QTY');
  });

  it('a stranger is refused once, logged by id only, then ignored', async () => {
    const h = await harness();
    await h.feed(h.fake.text(STRANGER, 'my secret plan: buy everything'));
    await h.feed(h.fake.text(STRANGER, '/positions'));
    await h.feed(h.fake.text(STRANGER, '/buy ORCL 10'));
    expect(h.fake.sentTo(STRANGER)).toHaveLength(1);
    expect(h.fake.sentTo(STRANGER)[0]).toMatch(/not on its list/);
    expect(h.logs.filter((l) => l.userId === STRANGER && l.level === 'warn')).toHaveLength(1);
    expect(h.rawLogs()).not.toContain('secret plan');
    expect(h.intents).toHaveLength(0);
  });

  it('a buy shows a preview with Confirm and Cancel, and Confirm sends the order once', async () => {
    const h = await harness();
    await h.feed(h.fake.text(OPERATOR, '/buy ORCL 10'));
    expect(h.fake.sentTo(OPERATOR).at(-1)).toMatch(/^Preview p1: buy 10 ORCL at market/);
    const kb = h.lastKeyboard(OPERATOR);
    expect(kb.buttons).toEqual([
      { text: 'Confirm', callback_data: 'c:p1' },
      { text: 'Cancel', callback_data: 'x:p1' },
    ]);
    expect(h.intents).toHaveLength(0); // only a preview so far

    await h.feed(h.fake.tap(OPERATOR, 'c:p1', kb.message_id));
    expect(h.intents).toHaveLength(1);
    expect(h.intents[0]).toMatchObject({
      order: { symbol: 'ORCL', side: 'buy', qty: 10 },
      caller: { id: `telegram:${OPERATOR}`, role: 'operator' },
    });
    expect(h.fake.callsOf('answerCallbackQuery').at(-1)!.params).toMatchObject({ text: 'Sent' });
    expect(h.fake.callsOf('editMessageReplyMarkup').at(-1)!.params).toMatchObject({
      chat_id: OPERATOR,
      message_id: kb.message_id,
    });
    expect(h.fake.callsOf('editMessageReplyMarkup').at(-1)!.params.reply_markup).toBeUndefined(); // keyboard removed
    expect(h.fake.sentTo(OPERATOR).at(-1)).toMatch(/^Risk approved buy 10 ORCL \(order cmd-1/);
  });

  it('a second tap on Confirm does nothing', async () => {
    const h = await harness();
    await h.feed(h.fake.text(OPERATOR, '/buy ORCL 10'));
    const kb = h.lastKeyboard(OPERATOR);
    await h.feed(h.fake.tap(OPERATOR, 'c:p1', kb.message_id));
    const sent = h.fake.sentTo(OPERATOR).length;
    const edits = h.fake.callsOf('editMessageReplyMarkup').length;
    await h.feed(h.fake.tap(OPERATOR, 'c:p1', kb.message_id));
    expect(h.intents).toHaveLength(1);
    expect(h.fake.callsOf('answerCallbackQuery').at(-1)!.params).toMatchObject({ text: 'Nothing to confirm' });
    expect(h.fake.sentTo(OPERATOR)).toHaveLength(sent);
    expect(h.fake.callsOf('editMessageReplyMarkup')).toHaveLength(edits);
  });

  it('a confirm after the preview expired sends nothing', async () => {
    const h = await harness();
    await h.feed(h.fake.text(OPERATOR, '/sell MSFT 5'));
    const kb = h.lastKeyboard(OPERATOR);
    h.clock.now += TTL_MS + 1;
    await h.feed(h.fake.tap(OPERATOR, 'c:p1', kb.message_id));
    expect(h.intents).toHaveLength(0);
    expect(h.fake.callsOf('answerCallbackQuery').at(-1)!.params).toMatchObject({ text: 'Expired' });
    expect(h.fake.callsOf('editMessageReplyMarkup')).toHaveLength(1);
    expect(h.fake.sentTo(OPERATOR).at(-1)).toMatch(/expired/);
  });

  it("a forged callback (another user's preview, or made-up data) does nothing", async () => {
    const h = await harness();
    await h.feed(h.fake.text(OPERATOR, '/buy ORCL 10'));
    const kb = h.lastKeyboard(OPERATOR);
    await h.feed(h.fake.tap(OTHER_OPERATOR, 'c:p1', kb.message_id));
    await h.feed(h.fake.tap(OTHER_OPERATOR, 'x:p1', kb.message_id));
    await h.feed(h.fake.tap(OTHER_OPERATOR, 'buy ORCL 1000', kb.message_id));
    await h.feed(h.fake.tap(STRANGER, 'c:p1', kb.message_id));
    expect(h.intents).toHaveLength(0);
    expect(h.fake.callsOf('answerCallbackQuery').map((c) => c.params.text)).toEqual([
      'Nothing to confirm',
      'Nothing to cancel',
      'Nothing to confirm',
      expect.stringMatching(/not on its list/),
    ]);
    expect(h.fake.callsOf('editMessageReplyMarkup')).toHaveLength(0);
    expect(h.fake.sentTo(OTHER_OPERATOR)).toHaveLength(0);
    // the preview is still the owner's to confirm
    await h.feed(h.fake.tap(OPERATOR, 'c:p1', kb.message_id));
    expect(h.intents).toHaveLength(1);
  });

  it('Cancel drops the preview, and typing "confirm <id>" works through the router', async () => {
    const h = await harness();
    await h.feed(h.fake.text(OPERATOR, '/buy ORCL 1'));
    await h.feed(h.fake.tap(OPERATOR, 'x:p1', h.lastKeyboard(OPERATOR).message_id));
    expect(h.fake.callsOf('answerCallbackQuery').at(-1)!.params).toMatchObject({ text: 'Cancelled' });
    expect(h.fake.sentTo(OPERATOR).at(-1)).toMatch(/Nothing was sent/);
    await h.feed(h.fake.text(OPERATOR, 'confirm p1'));
    expect(h.intents).toHaveLength(0);

    await h.feed(h.fake.text(OPERATOR, '/buy ORCL 2'));
    await h.feed(h.fake.text(OPERATOR, 'confirm p2'));
    expect(h.intents.map((i) => i.order.qty)).toEqual([2]);
  });

  it('over the rate limit a user gets one "Slow down" and then silence until the next minute', async () => {
    const h = await harness({ rateLimitPerMinute: 3 });
    for (let i = 0; i < 6; i++) await h.feed(h.fake.text(OPERATOR, '/positions'));
    const sent = h.fake.sentTo(OPERATOR);
    expect(sent).toHaveLength(4);
    expect(sent[3]).toMatch(/^Slow down/);
    await h.feed(h.fake.text(VIEWER, '/positions')); // others are not affected
    expect(h.fake.sentTo(VIEWER)).toHaveLength(1);
    h.clock.now += 60_000;
    await h.feed(h.fake.text(OPERATOR, '/positions'));
    expect(h.fake.sentTo(OPERATOR)).toHaveLength(5);
  });

  it('a notification reaches the chats that switched it on and no other', async () => {
    const h = await harness();
    await h.tg.start();
    await h.feed(h.fake.text(OPERATOR, '/notify'));
    expect(h.fake.sentTo(OPERATOR).at(-1)).toMatch(/fills\s+off/);
    await h.feed(h.fake.text(OPERATOR, '/notify fills on'));
    await h.feed(h.fake.text(VIEWER, '/notify all on'));
    await h.feed(h.fake.text(VIEWER, '/notify digest off'));
    await h.feed(h.fake.text(STRANGER, '/notify all on'));
    const before = { op: h.fake.sentTo(OPERATOR).length, viewer: h.fake.sentTo(VIEWER).length };

    h.notifier.emit({ kind: 'fills', text: 'Filled: buy 10 ORCL at 101.', correlationId: 'corr-9', data: {} });
    h.notifier.emit({ kind: 'digest', text: '2026-11-01: PnL 5.00', data: {} });
    h.notifier.emit({ kind: 'risk', text: 'Trading is now HALTED (was ACTIVE): halt.', data: {} });
    await eventually(() => expect(h.fake.sentTo(VIEWER).length).toBe(before.viewer + 2));
    expect(h.fake.sentTo(OPERATOR).slice(before.op)).toEqual(['Filled: buy 10 ORCL at 101.\ntrace corr-9']);
    expect(h.fake.sentTo(VIEWER).slice(before.viewer)).toEqual([
      'Filled: buy 10 ORCL at 101.\ntrace corr-9',
      'Trading is now HALTED (was ACTIVE): halt.',
    ]);
    expect(h.fake.sentTo(STRANGER)).toHaveLength(1); // the refusal only

    // a chat that blocked the bot is dropped after the first failed delivery
    h.fake.failNext('sendMessage', {
      error_code: 403,
      description: 'Forbidden: bot was blocked by the user',
      chatId: VIEWER,
    });
    h.notifier.emit({ kind: 'fills', text: 'Filled: sell 1 ORCL at 102.', data: {} });
    await eventually(() => expect(h.fake.sentTo(VIEWER).length).toBe(before.viewer + 3)); // the attempt that failed
    h.notifier.emit({ kind: 'fills', text: 'Filled: sell 2 ORCL at 103.', data: {} });
    await eventually(() => expect(h.fake.sentTo(OPERATOR).at(-1)).toBe('Filled: sell 2 ORCL at 103.'));
    expect(h.fake.sentTo(VIEWER).length).toBe(before.viewer + 3);

    await h.tg.stop();
    expect(h.notifier.listeners).toBe(0);
  });

  it('a group chat is read-only unless the group is granted a role, and only what is addressed to the bot is answered', async () => {
    const h = await harness();
    await h.feed(h.fake.text(OPERATOR, '/buy@SextantBot ORCL 1', OPEN_GROUP));
    expect(h.fake.sentTo(OPEN_GROUP.id).at(-1)).toBe('buy needs the operator role; you have viewer.');
    await h.feed(h.fake.text(OPERATOR, '/positions@SextantBot', OPEN_GROUP));
    expect(h.fake.sentTo(OPEN_GROUP.id).at(-1)).toMatch(/ORCL/);

    await h.feed(h.fake.text(OPERATOR, '/buy ORCL 1', TRADING_GROUP));
    expect(h.fake.sentTo(TRADING_GROUP.id).at(-1)).toMatch(/^Preview p1/);
    await h.feed(h.fake.text(VIEWER, '/buy ORCL 1', TRADING_GROUP)); // min(viewer, operator)
    expect(h.fake.sentTo(TRADING_GROUP.id).at(-1)).toMatch(/you have viewer/);

    const sent = h.fake.calls.length;
    await h.feed(h.fake.text(OPERATOR, 'lunch anyone?', OPEN_GROUP));
    await h.feed(h.fake.text(STRANGER, 'hello all', OPEN_GROUP));
    await h.feed(h.fake.text(OPERATOR, '/positions@OtherBot', OPEN_GROUP));
    expect(h.fake.calls.length).toBe(sent);
    await h.feed(h.fake.text(OPERATOR, 'positions', OPEN_GROUP, { replyToBot: true }));
    expect(h.fake.sentTo(OPEN_GROUP.id).at(-1)).toMatch(/ORCL/);

    // the person's own preview (made in private) cannot be confirmed from a read-only group
    await h.feed(h.fake.text(OPERATOR, '/buy ORCL 1'));
    await h.feed(h.fake.text(OPERATOR, '/confirm@SextantBot p2', OPEN_GROUP));
    expect(h.fake.sentTo(OPEN_GROUP.id).at(-1)).toMatch(/read-only/);
    await h.feed(h.fake.tap(OPERATOR, 'c:p2', 1, OPEN_GROUP));
    expect(h.fake.callsOf('answerCallbackQuery').at(-1)!.params.text).toMatch(/read-only/);
    expect(h.intents).toHaveLength(0);
  });

  it('a long reply is split on line boundaries under 4096 characters', async () => {
    const h = await harness();
    h.data.positions.splice(0, 2, ...Array.from({ length: 300 }, (_, i) => position(`SYM${i}`, i + 1)));
    await h.feed(h.fake.text(OPERATOR, '/positions'));
    const parts = h.fake.sentTo(OPERATOR);
    expect(parts.length).toBeGreaterThan(3);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(4096);
      expect(p).toMatch(/^<pre>SYM\d+ [^]*<\/pre>$/);
    }
    const lines = parts
      .map((p) => p.slice('<pre>'.length, -'</pre>'.length))
      .join('\n')
      .split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(Array.from({ length: 300 }, (_, i) => `SYM${i}`));
  });

  it('edited messages, stickers and photos are ignored silently', async () => {
    const h = await harness();
    await h.feed(h.fake.edited(OPERATOR, '/buy ORCL 10'));
    await h.feed(h.fake.sticker(OPERATOR));
    await h.feed(h.fake.photo(OPERATOR));
    await h.feed(h.fake.sticker(STRANGER));
    expect(h.fake.calls).toEqual([]);
    expect(h.intents).toHaveLength(0);
  });

  it("free text goes to the chat agent under the chat's conversation id, escaped for HTML", async () => {
    const asked: { conversationId: string; caller: Caller; text: string }[] = [];
    const chat = {
      ask: (conversationId: string, caller: Caller, text: string): Promise<Reply> => {
        asked.push({ conversationId, caller, text });
        return Promise.resolve({ ok: true, text: 'P&L today is <b>5.00</b>' });
      },
    };
    const h = await harness({ chat });
    await h.feed(h.fake.text(OPERATOR, 'how is my pnl today?'));
    expect(asked).toEqual([
      {
        conversationId: `telegram:${OPERATOR}`,
        caller: { id: `telegram:${OPERATOR}`, role: 'operator' },
        text: 'how is my pnl today?',
      },
    ]);
    expect(h.fake.sentTo(OPERATOR)).toEqual(['P&amp;L today is &lt;b&gt;5.00&lt;/b&gt;']);
    await h.feed(h.fake.text(OPERATOR, '@SextantBot what about orders?', TRADING_GROUP));
    expect(asked.at(-1)).toMatchObject({ conversationId: `telegram:${TRADING_GROUP.id}`, text: 'what about orders?' });
  });

  it('free text without a chat agent goes to the router', async () => {
    const h = await harness();
    await h.feed(h.fake.text(OPERATOR, 'positions'));
    expect(h.fake.sentTo(OPERATOR).at(-1)).toMatch(/ORCL/);
    await h.feed(h.fake.text(OPERATOR, 'hello there'));
    expect(h.fake.sentTo(OPERATOR).at(-1)).toMatch(/^I do not know "hello"/);
  });

  it('a failing handler becomes a short reply and a log line, and the bot keeps answering', async () => {
    const h = await harness({ chat: { ask: () => Promise.reject(new Error('model exploded')) } });
    await h.feed(h.fake.text(OPERATOR, 'anything'));
    expect(h.fake.sentTo(OPERATOR).at(-1)).toMatch(/^Something went wrong/);
    expect(
      h.logs.some((l) => l.level === 'error' && (l.err as { message?: string }).message === 'model exploded'),
    ).toBe(true);
    h.fake.failNext('sendMessage', { error_code: 400, description: 'Bad Request: chat not found' });
    await h.feed(h.fake.text(OPERATOR, '/positions')); // the reply fails; the error reply goes out instead
    await h.feed(h.fake.text(OPERATOR, '/positions'));
    expect(h.fake.sentTo(OPERATOR).at(-1)).toMatch(/ORCL/);
  });

  it('long polling: getUpdates brings a buy and its Confirm tap, and stop ends the poll', async () => {
    const h = await harness({ polling: true });
    h.tg.bot.botInfo = undefined; // start() fetches it with getMe
    await h.tg.start();
    expect(h.fake.callsOf('getMe')).toHaveLength(1);
    await eventually(() => expect(h.fake.callsOf('getUpdates').length).toBeGreaterThan(0));
    expect(h.fake.callsOf('deleteWebhook')).toHaveLength(1);

    h.fake.push(h.fake.text(OPERATOR, '/buy ORCL 3'));
    await eventually(() => expect(h.fake.sentTo(OPERATOR).at(-1)).toMatch(/^Preview p1/));
    h.fake.push(h.fake.tap(OPERATOR, 'c:p1', h.lastKeyboard(OPERATOR).message_id));
    await eventually(() => expect(h.fake.sentTo(OPERATOR).at(-1)).toMatch(/^Risk approved/));
    expect(h.intents).toHaveLength(1);

    await h.tg.stop();
    const polls = h.fake.callsOf('getUpdates').length;
    await new Promise((r) => setTimeout(r, 50));
    expect(h.fake.callsOf('getUpdates').length).toBe(polls);
    expect(h.fake.waitingPolls).toBe(0);
  });

  it('the webhook handler checks the secret and handles the update', async () => {
    const h = await harness();
    const handler = h.tg.webhook({ secretToken: 's3cret-path-token' });
    const post = (secret: string) =>
      new Request('http://sextant.local/telegram', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
        body: JSON.stringify(h.fake.text(OPERATOR, '/positions')),
      });
    expect((await handler(post('wrong'))).status).toBe(401);
    expect(h.fake.calls).toEqual([]);
    expect((await handler(post('s3cret-path-token'))).status).toBe(200);
    expect(h.fake.sentTo(OPERATOR).at(-1)).toMatch(/ORCL/);
  });
});
