import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApplicationCommandOptionType,
  Events,
  InteractionResponseType,
  MessageFlags,
  type Interaction,
} from 'discord.js';
import type { Caller, Reply } from '../../interfaces/commands/registry.js';
import { createCommandRouter } from '../../interfaces/commands/router.js';
import type { CommandServices, OrderRequest } from '../../interfaces/commands/services.js';
import { resolveCaller } from '../../interfaces/discord/access.js';
import { createDiscordBot, parseIdRoles, slashCommandsFrom, type DiscordBot } from '../../interfaces/discord/bot.js';
import { toDiscordMessages } from '../../interfaces/discord/format.js';
import type { Position, RiskCommandResult } from '../../src/core/domain/messages.js';
import { createLogger, silentLogger } from '../../src/core/ports/logger.js';
import { eventually } from '../helpers/eventually.js';
import { startFakeDiscord, type FakeDiscord, type Who } from '../helpers/fake-discord.js';
import { stubNotifier } from '../helpers/stub-notifier.js';

const APP = '800000000000000001';
const GUILD = '800000000000000002';
const CHANNEL = '800000000000000003';
const TRADER_ROLE = '800000000000000010';
const OTHER_ROLE = '800000000000000011';
const ALICE: Who = { userId: '700000000000000001', roleIds: [] }; // allow-listed operator
const BOB: Who = { userId: '700000000000000002', roleIds: [] }; // allow-listed operator too
const VIV: Who = { userId: '700000000000000003', roleIds: [] }; // allow-listed viewer
const TESS: Who = { userId: '700000000000000004', roleIds: [OTHER_ROLE, TRADER_ROLE] }; // served through a mapped role only
const STRANGER: Who = { userId: '700000000000000009', roleIds: [OTHER_ROLE] };
const EPHEMERAL = MessageFlags.Ephemeral;
const DEFER_AFTER_MS = 250;

const position = (symbol: string, qty: number): Position => ({
  symbol,
  qty,
  avgPrice: 100,
  lastPrice: 101,
  marketValue: qty * 101,
  unrealizedPnl: qty,
  realizedPnl: 0,
});

/** Command services that answer from memory and record every order sent to risk. */
function stubServices() {
  const state = {
    sent: [] as { order: OrderRequest; caller: Caller }[],
    asked: [] as string[],
    positions: [position('ORCL', 10), position('MSFT', -3)],
    slowMs: 0,
  };
  const services: CommandServices = {
    async ask<T>(what: string): Promise<T> {
      state.asked.push(what);
      if (state.slowMs > 0) await new Promise((r) => setTimeout(r, state.slowMs));
      return (what === 'positions' ? state.positions : []) as T;
    },
    intend(order, caller) {
      state.sent.push({ order, caller });
      return {
        clientOrderId: `cmd-${state.sent.length}`,
        correlationId: `corr-${state.sent.length}`,
        verdict: Promise.resolve({ kind: 'approved' as const }),
      };
    },
    precheck: () => Promise.resolve({ wouldPass: true }),
    async risk(command, reason): Promise<RiskCommandResult> {
      if (state.slowMs > 0) await new Promise((r) => setTimeout(r, state.slowMs));
      return { command, accepted: true, reason, state: command === 'halt' ? 'HALTED' : 'ACTIVE', limits: {} };
    },
    agents: () => ({}),
    now: () => 0,
  };
  return { services, state };
}

describe('discord bot over the command router (real discord.js client, fake Discord REST and gateway)', () => {
  let fake: FakeDiscord;
  let bot: DiscordBot;
  let ids = 0;
  const { services, state } = stubServices();
  let clock = Date.now();
  const router = createCommandRouter(services, { newId: () => `pv${++ids}`, now: () => clock });
  const logLines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: 'debug',
    destination: { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const notifier = stubNotifier();
  const chatCalls: { conversationId: string; caller: Caller; text: string }[] = [];
  const chat = {
    async ask(conversationId: string, caller: Caller, text: string): Promise<Reply> {
      chatCalls.push({ conversationId, caller, text });
      if (text === 'explode') throw new Error('model on fire');
      if (text === 'buy oracle and ibm') {
        // like the chat agent: several previews, listed in data.previews, the first also as `preview`
        const [a, b] = [
          await router.invoke('buy', { symbol: 'ORCL', qty: 1 }, caller),
          await router.invoke('buy', { symbol: 'IBM', qty: 1 }, caller),
        ];
        return {
          ok: true,
          text: `${a.text}\n${b.text}`,
          preview: a.preview!,
          data: { previews: [a.preview, b.preview] },
        };
      }
      return text.startsWith('buy')
        ? router.invoke('buy', { symbol: 'ORCL', qty: 2 }, caller)
        : { ok: true, text: `You asked: ${text}` };
    },
  };

  const reply = (interactionId: string) =>
    eventually(() => {
      const first = fake.callbacks(interactionId)[0];
      expect(first).toBeDefined();
      return first!;
    });
  const buttonsOf = (data: Record<string, unknown>) =>
    ((data.components ?? []) as { components: { custom_id: string; label: string }[] }[]).flatMap((r) => r.components);

  beforeAll(async () => {
    fake = await startFakeDiscord(APP);
    bot = createDiscordBot({
      token: 'test-token',
      applicationId: APP,
      guildId: GUILD,
      router,
      chat,
      notifier,
      notifyChannelId: CHANNEL,
      users: parseIdRoles(`${ALICE.userId}:operator, ${BOB.userId}:operator ${VIV.userId}:viewer`),
      roles: parseIdRoles(`${TRADER_ROLE}:operator`),
      restApi: fake.api,
      log,
      publicCommands: ['help'],
      deferAfterMs: DEFER_AFTER_MS,
    });
    await bot.start();
  });
  afterAll(async () => {
    await bot?.stop();
    await fake?.close();
  });

  it('start registers the slash commands in the guild with options typed from the zod schemas, then logs in to the gateway', () => {
    const put = fake.calls.find((c) => c.method === 'PUT');
    expect(put).toMatchObject({
      path: `/applications/${APP}/guilds/${GUILD}/commands`,
      authorization: 'Bot test-token',
    });
    const registered = put!.body as {
      name: string;
      description: string;
      options: { name: string; type: number; required: boolean; choices?: { value: string }[] }[];
    }[];
    const byName = new Map(registered.map((c) => [c.name, c]));
    expect(byName.get('buy')!.options).toEqual([
      expect.objectContaining({
        name: 'symbol',
        type: ApplicationCommandOptionType.String,
        required: true,
        max_length: 32,
      }),
      expect.objectContaining({ name: 'qty', type: ApplicationCommandOptionType.Number, required: true }),
      expect.objectContaining({ name: 'limit_price', type: ApplicationCommandOptionType.Number, required: false }),
    ]);
    expect(byName.get('orders')!.options).toEqual([
      expect.objectContaining({
        name: 'which',
        type: ApplicationCommandOptionType.String,
        required: false,
        choices: [
          { name: 'open', value: 'open' },
          { name: 'all', value: 'all' },
        ],
      }),
    ]);
    expect(byName.get('limits')!.options.map((o) => [o.name, o.type, o.required])).toEqual([
      ['key', 3, true],
      ['value', 10, true],
    ]);
    expect(byName.get('positions')!.options).toEqual([]);
    expect(byName.get('ask')!.options).toEqual([
      expect.objectContaining({ name: 'text', type: ApplicationCommandOptionType.String, required: true }),
    ]);
    expect(byName.get('notify')!.options.map((o) => [o.name, o.type, o.required])).toEqual([
      ['kind', 3, true],
      ['on', 5, true],
    ]);
    expect(byName.get('notify')!.options[0]!.choices!.map((c) => c.value)).toEqual([
      'fills',
      'rejections',
      'risk',
      'digest',
      'all',
    ]);
    for (const c of registered) {
      expect(c.name).toMatch(/^[-_a-z0-9]{1,32}$/);
      expect(c.description.length).toBeLessThanOrEqual(100);
      for (const o of c.options) expect(o.name).toMatch(/^[-_a-z0-9]{1,32}$/);
    }
    expect(registered.map((c) => c.name)).not.toContain('balance'); // aliases are not registered
    expect(fake.identified).toEqual(['test-token']);
    expect(bot.client.isReady()).toBe(true);
  });

  it('without a guild the commands are registered globally; without chat or notifier there is no /ask or /notify', async () => {
    const global = createDiscordBot({
      token: 'other-token',
      applicationId: APP,
      router,
      users: [],
      roles: [],
      restApi: fake.api,
      log: silentLogger,
    });
    try {
      await global.start();
      const put = fake.calls.filter((c) => c.method === 'PUT').at(-1)!;
      expect(put.path).toBe(`/applications/${APP}/commands`);
      const names = (put.body as { name: string }[]).map((c) => c.name);
      expect(names).toContain('buy');
      expect(names).not.toContain('ask');
      expect(names).not.toContain('notify');
    } finally {
      await global.stop();
    }
    expect(slashCommandsFrom(router).map((c) => c.name)).toEqual(
      expect.arrayContaining(['ask', 'notify', 'help', 'positions']),
    );
  });

  it("an allowed user's /positions is answered ephemerally, as a table in a code block", async () => {
    const cb = await reply(fake.slash(VIV, 'positions'));
    expect(cb.type).toBe(InteractionResponseType.ChannelMessageWithSource);
    expect(cb.data.flags).toBe(EPHEMERAL);
    expect(cb.data.content).toMatch(/^```\nORCL +10 @ 100\.00/);
    expect(cb.data.allowed_mentions).toEqual({ parse: [] });
  });

  it('a command listed as public is answered in the channel', async () => {
    const cb = await reply(fake.slash(VIV, 'help'));
    expect(cb.data.flags ?? 0).toBe(0);
    expect(cb.data.content).toContain('positions');
    expect(cb.data.content).not.toContain('buy SYM QTY'); // the router's help for a viewer
  });

  it('a stranger is refused politely and ephemerally, and reaches nothing', async () => {
    const asked = state.asked.length;
    const cb = await reply(fake.slash(STRANGER, 'positions'));
    expect(cb.data).toMatchObject({
      flags: EPHEMERAL,
      content: expect.stringMatching(/^Sorry, this bot only serves/) as unknown,
    });
    const dm = await reply(fake.slash({ userId: STRANGER.userId }, 'status')); // in a DM: no member, no roles
    expect(dm.data.content).toMatch(/^Sorry/);
    const pressed = await reply(fake.press(STRANGER, 'sx:c:pv1', { content: 'x', components: [] }));
    expect(pressed.data.content).toMatch(/^Sorry/);
    expect(state.asked.length).toBe(asked);
    expect(state.sent).toHaveLength(0);
    expect(logLines.filter((l) => l.userId === STRANGER.userId && l.level === 'warn')).toHaveLength(3); // each refusal, by id
  });

  it('a member of a mapped Discord role is served with the mapped role', async () => {
    const cb = await reply(fake.slash(TESS, 'buy', { symbol: 'aapl', qty: 1 }));
    expect(cb.data.content).toMatch(/^Preview pv\d+: buy 1 AAPL at market/);
    const viewerOnly = await reply(
      fake.slash({ userId: STRANGER.userId, roleIds: [OTHER_ROLE] }, 'buy', { symbol: 'AAPL', qty: 1 }),
    );
    expect(viewerOnly.data.content).toMatch(/^Sorry/); // an unmapped role grants nothing
    expect(resolveCaller('1', ['r1', 'r2'], [{ id: '1', role: 'viewer' }], [{ id: 'r2', role: 'admin' }])).toEqual({
      id: 'discord:1',
      role: 'admin',
    });
  });

  it('once the guild is cached, members arrive as GuildMember objects and their mapped roles still count (later tests run this way)', async () => {
    fake.createGuild([OTHER_ROLE, TRADER_ROLE]);
    await eventually(() => expect(bot.client.guilds.cache.get(fake.guildId)?.roles.cache.has(TRADER_ROLE)).toBe(true));
    const members: string[] = [];
    const spy = (i: Interaction) =>
      void members.push(`${i.member?.constructor.name ?? 'none'} in ${i.channel?.constructor.name ?? 'no channel'}`);
    bot.client.on(Events.InteractionCreate, spy);
    try {
      const cb = await reply(fake.slash(TESS, 'buy', { symbol: 'IBM', qty: 2 }));
      expect(cb.data.content).toMatch(/^Preview pv\d+: buy 2 IBM at market/);
      expect((await reply(fake.slash(STRANGER, 'positions'))).data.content).toMatch(/^Sorry/);
      expect(members).toEqual(['GuildMember in TextChannel', 'GuildMember in TextChannel']);
    } finally {
      bot.client.off(Events.InteractionCreate, spy);
    }
  });

  it('buy shows a preview with Confirm / Cancel; Confirm sends the order once and a second press sends nothing', async () => {
    const before = state.sent.length;
    const preview = await reply(fake.slash(ALICE, 'buy', { symbol: 'ORCL', qty: 5, limit_price: 99.5 }));
    expect(preview.data.flags).toBe(EPHEMERAL);
    expect(preview.data.content).toMatch(
      /^Preview (pv\d+): buy 5 ORCL limit 99\.5\nRisk pre-check: would pass\.\nPress Confirm <t:\d+:R>/,
    );
    const [confirm, cancel] = buttonsOf(preview.data);
    const id = /^Preview (pv\d+)/.exec(preview.data.content as string)![1]!;
    expect([confirm!.custom_id, cancel!.custom_id]).toEqual([`sx:c:${id}`, `sx:x:${id}`]);
    expect(state.sent.length).toBe(before); // a preview sends nothing

    const message = { content: preview.data.content as string, components: preview.data.components as unknown[] };
    const press = fake.press(ALICE, confirm!.custom_id, message);
    const update = await reply(press);
    expect(update.type).toBe(InteractionResponseType.UpdateMessage);
    expect(update.data).toMatchObject({
      components: [],
      content: expect.stringMatching(/\*\*Confirmed\.\*\*$/) as unknown,
    });
    const outcome = await eventually(() => fake.followUps(press)[0]!.body as { content: string; flags: number });
    expect(outcome).toMatchObject({
      content: expect.stringMatching(
        /^Risk approved buy 5 ORCL \(order cmd-\d+, trace corr-\d+\); it goes to the broker now\.$/,
      ) as unknown,
      flags: EPHEMERAL,
    });
    expect(state.sent.length).toBe(before + 1);
    expect(state.sent.at(-1)).toMatchObject({
      order: { symbol: 'ORCL', side: 'buy', qty: 5, type: 'limit', limitPrice: 99.5 },
      caller: { id: `discord:${ALICE.userId}`, role: 'operator' },
    });

    const again = await reply(fake.press(ALICE, confirm!.custom_id, message));
    expect(again.type).toBe(InteractionResponseType.ChannelMessageWithSource); // not an update: the message stays
    expect(again.data).toMatchObject({
      flags: EPHEMERAL,
      content: expect.stringMatching(/^There is no preview pv\d+ waiting for you/) as unknown,
    });
    expect(state.sent.length).toBe(before + 1);
  });

  it('Cancel drops the preview: nothing is sent, and Confirm afterwards does nothing', async () => {
    const before = state.sent.length;
    const preview = await reply(fake.slash(ALICE, 'sell', { symbol: 'MSFT', qty: 1 }));
    const [confirm, cancel] = buttonsOf(preview.data);
    const message = { content: preview.data.content as string, components: preview.data.components as unknown[] };
    const press = fake.press(ALICE, cancel!.custom_id, message);
    expect((await reply(press)).data).toMatchObject({
      components: [],
      content: expect.stringMatching(/\*\*Cancelled\.\*\*$/) as unknown,
    });
    expect(await eventually(() => (fake.followUps(press)[0]!.body as { content: string }).content)).toMatch(
      /^Cancelled pv\d+: sell 1 MSFT at market\. Nothing was sent\./,
    );
    expect((await reply(fake.press(ALICE, confirm!.custom_id, message))).data.content).toMatch(/^There is no preview/);
    expect(state.sent.length).toBe(before);
  });

  it("a forged or another user's button does nothing: the preview stays its owner's", async () => {
    const before = state.sent.length;
    const preview = await reply(fake.slash(ALICE, 'buy', { symbol: 'NVDA', qty: 3 }));
    const [confirm] = buttonsOf(preview.data);
    const message = { content: preview.data.content as string, components: preview.data.components as unknown[] };

    // a real operator, but not the preview's owner
    const foreign = await reply(fake.press(BOB, confirm!.custom_id, message));
    expect(foreign).toMatchObject({
      type: InteractionResponseType.ChannelMessageWithSource,
      data: { flags: EPHEMERAL },
    });
    const forged = fake.press(BOB, 'sx:c:../../admin', message); // not one of our ids
    const other = fake.press(ALICE, 'someone-else:button', message);
    await reply(fake.slash(BOB, 'positions')); // handled after the two presses above
    expect(fake.callbacks(forged)).toEqual([]);
    expect(fake.callbacks(other)).toEqual([]);
    expect(state.sent.length).toBe(before);

    await reply(fake.press(ALICE, confirm!.custom_id, message));
    await eventually(() => expect(state.sent.length).toBe(before + 1)); // still confirmable by its owner
  });

  it('wrong or missing arguments and a role too low get a clear reply and send nothing', async () => {
    const before = state.sent.length;
    const negative = await reply(fake.slash(ALICE, 'buy', { symbol: 'ORCL', qty: -5 }));
    expect(negative.data).toMatchObject({
      flags: EPHEMERAL,
      content: expect.stringMatching(/^qty: a positive quantity\. Usage: buy SYM QTY/) as unknown,
    });
    const missing = await reply(fake.slash(ALICE, 'buy', { symbol: 'ORCL' }));
    expect(missing.data.content).toMatch(/^qty: .*Usage: buy SYM QTY/);
    const badSymbol = await reply(fake.slash(ALICE, 'buy', { symbol: 'OR CL!', qty: 1 }));
    expect(badSymbol.data.content).toMatch(/^symbol: a symbol/);
    const viewer = await reply(fake.slash(VIV, 'buy', { symbol: 'ORCL', qty: 1 }));
    expect(viewer.data.content).toBe('buy needs the operator role; you have viewer.');
    const stale = await reply(fake.slash(ALICE, 'frobnicate'));
    expect(stale.data).toMatchObject({ flags: EPHEMERAL, content: 'There is no command "frobnicate".' });
    expect(state.sent.length).toBe(before);
  });

  it('notifications are posted to the channel, and /notify switches a kind off (operators only)', async () => {
    expect(notifier.listeners).toBe(1);
    const posts = () =>
      fake.calls
        .filter((c) => c.method === 'POST' && c.path === `/channels/${CHANNEL}/messages`)
        .map((c) => (c.body as { content: string }).content);
    notifier.emit({ kind: 'fills', text: 'Filled: buy 5 ORCL at 99.5.', correlationId: 'corr-1', data: {} });
    await eventually(() => expect(posts()).toEqual(['Filled: buy 5 ORCL at 99.5. (trace corr-1)']));

    const refused = await reply(fake.slash(VIV, 'notify', { kind: 'fills', on: false }));
    expect(refused.data.content).toBe('notify needs the operator role; you have viewer.');
    const off = await reply(fake.slash(ALICE, 'notify', { kind: 'fills', on: false }));
    expect(off.data).toMatchObject({
      flags: EPHEMERAL,
      content: expect.stringContaining('fills off, rejections on, risk on, digest on') as unknown,
    });

    notifier.emit({ kind: 'fills', text: 'Filled: sell 1 MSFT at 10.', data: {} });
    notifier.emit({ kind: 'risk', text: 'Trading is now HALTED (was ACTIVE): by hand.', data: {} });
    await eventually(() => expect(posts()).toHaveLength(2));
    expect(posts()[1]).toBe('Trading is now HALTED (was ACTIVE): by hand.');

    await reply(fake.slash(ALICE, 'notify', { kind: 'all', on: true }));
    notifier.emit({ kind: 'fills', text: 'Filled: buy 1 ORCL at 1.', data: {} });
    await eventually(() => expect(posts()).toHaveLength(3));
  });

  it('a long reply is split into messages of at most 2,000 characters, each its own code block', async () => {
    const saved = state.positions;
    state.positions = Array.from({ length: 120 }, (_, n) => position(`SYM${n}`, n + 1));
    try {
      const id = fake.slash(VIV, 'positions');
      const first = await reply(id);
      const rest = await eventually(() => {
        const f = fake.followUps(id).map((c) => c.body as { content: string; flags: number });
        expect(f.length).toBeGreaterThanOrEqual(3);
        return f;
      });
      const all = [first.data.content as string, ...rest.map((f) => f.content)];
      for (const m of all) {
        expect(m.length).toBeLessThanOrEqual(2000);
        expect(m).toMatch(/^```\n[\s\S]*\n```$/);
      }
      expect(rest.every((f) => f.flags === EPHEMERAL)).toBe(true);
      expect(all.join('\n')).toContain('SYM119');
    } finally {
      state.positions = saved;
    }
  });

  it('a slow command is deferred (ephemerally) and its answer edits the deferred reply', async () => {
    state.slowMs = DEFER_AFTER_MS * 2;
    try {
      const id = fake.slash(VIV, 'positions');
      const deferred = await reply(id);
      expect(deferred).toEqual({
        type: InteractionResponseType.DeferredChannelMessageWithSource,
        data: { flags: EPHEMERAL },
      });
      const edit = await eventually(() => {
        const patch = fake.followUps(id).find((c) => c.method === 'PATCH');
        expect(patch).toBeDefined();
        return patch!;
      });
      expect(edit.path).toMatch(/\/messages\/@original$/);
      expect((edit.body as { content: string }).content).toMatch(/^```\nORCL/);
    } finally {
      state.slowMs = 0;
    }
  });

  it('a slow Confirm is acknowledged first, then the preview message is edited and the outcome follows', async () => {
    const preview = await reply(fake.slash(ALICE, 'halt', { reason: 'lunch' }));
    expect(preview.data.content).toMatch(/^Preview pv\d+: halt trading \(lunch\)/);
    const [confirm] = buttonsOf(preview.data);
    state.slowMs = DEFER_AFTER_MS * 2;
    try {
      const press = fake.press(ALICE, confirm!.custom_id, {
        content: preview.data.content as string,
        components: preview.data.components as unknown[],
      });
      expect(await reply(press)).toMatchObject({ type: InteractionResponseType.DeferredMessageUpdate });
      const [edit, outcome] = await eventually(() => {
        const calls = fake.followUps(press);
        expect(calls).toHaveLength(2);
        return calls;
      });
      expect(edit).toMatchObject({
        method: 'PATCH',
        path: expect.stringMatching(/\/messages\/@original$/) as unknown,
        body: { components: [], content: expect.stringMatching(/\*\*Confirmed\.\*\*$/) as unknown },
      });
      expect(outcome).toMatchObject({
        method: 'POST',
        body: { flags: EPHEMERAL, content: 'Done: lunch. Trading is HALTED.' },
      });
    } finally {
      state.slowMs = 0;
    }
  });

  it('a preview confirmed after its TTL is expired: the buttons go and nothing is sent', async () => {
    const before = state.sent.length;
    const preview = await reply(fake.slash(ALICE, 'buy', { symbol: 'AMD', qty: 1 }));
    const [confirm] = buttonsOf(preview.data);
    clock += 121_000; // the router's preview TTL is 120 s
    const press = fake.press(ALICE, confirm!.custom_id, {
      content: preview.data.content as string,
      components: preview.data.components as unknown[],
    });
    expect((await reply(press)).data).toMatchObject({
      components: [],
      content: expect.stringMatching(/\*\*Expired: nothing was sent\.\*\*$/) as unknown,
    });
    expect(await eventually(() => (fake.followUps(press)[0]!.body as { content: string }).content)).toMatch(
      /^Preview pv\d+ expired/,
    );
    expect(state.sent.length).toBe(before);
  });

  it('/ask goes to the chat agent as the caller; a preview in its answer gets the buttons', async () => {
    const plain = await reply(fake.slash(VIV, 'ask', { text: 'how am I doing?' }));
    expect(plain.data).toMatchObject({ flags: EPHEMERAL, content: 'You asked: how am I doing?' });
    expect(chatCalls.at(-1)).toEqual({
      conversationId: `discord:${VIV.userId}`,
      caller: { id: `discord:${VIV.userId}`, role: 'viewer' },
      text: 'how am I doing?',
    });
    const withPreview = await reply(fake.slash(ALICE, 'ask', { text: 'buy two oracle' }));
    expect(buttonsOf(withPreview.data).map((b) => b.custom_id)).toEqual([
      expect.stringMatching(/^sx:c:pv\d+$/),
      expect.stringMatching(/^sx:x:pv\d+$/),
    ]);

    const before = state.sent.length;
    const two = await reply(fake.slash(ALICE, 'ask', { text: 'buy oracle and ibm' }));
    const buttons = buttonsOf(two.data);
    expect(buttons.map((b) => b.label)).toEqual([
      expect.stringMatching(/^Confirm pv\d+$/),
      expect.stringMatching(/^Cancel pv\d+$/),
      expect.stringMatching(/^Confirm pv\d+$/),
      expect.stringMatching(/^Cancel pv\d+$/),
    ]);
    expect((two.data.content as string).match(/Press Confirm/g)).toHaveLength(1); // the typed "confirm <id>" lines became buttons
    const update = await reply(
      fake.press(ALICE, buttons[0]!.custom_id, {
        content: two.data.content as string,
        components: two.data.components as unknown[],
      }),
    );
    // the other preview keeps its buttons
    expect(buttonsOf(update.data).map((b) => b.custom_id)).toEqual([buttons[2]!.custom_id, buttons[3]!.custom_id]);
    await eventually(() => expect(state.sent.length).toBe(before + 1));
  });

  it('a handler that fails answers with a short ephemeral apology instead of throwing', async () => {
    const cb = await reply(fake.slash(ALICE, 'ask', { text: 'explode' }));
    expect(cb.data).toMatchObject({
      flags: EPHEMERAL,
      content: expect.stringMatching(/^Something went wrong handling that/) as unknown,
    });
  });
});

describe('discord formatting and access lists', () => {
  it('splits at line ends within the limit and keeps plain text out of code blocks', () => {
    const lines = Array.from({ length: 300 }, (_, n) => `line ${n} of a plain answer`);
    const parts = toDiscordMessages(lines.join('\n'));
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.every((p) => p.length <= 2000 && !p.startsWith('```'))).toBe(true);
    expect(parts.join('\n')).toBe(lines.join('\n'));
    expect(toDiscordMessages('x'.repeat(4500)).map((p) => p.length)).toEqual([2000, 2000, 500]);
    expect(toDiscordMessages('')).toEqual(['(nothing to show)']);
    expect(toDiscordMessages('A  B\n```evil```')[0]).toBe('```\nA  B\n`\u200b``evil`\u200b``\n```');
  });

  it('parses id:role lists and refuses malformed ones', () => {
    expect(parseIdRoles('123456789012345678:admin, 223456789012345678:viewer')).toEqual([
      { id: '123456789012345678', role: 'admin' },
      { id: '223456789012345678', role: 'viewer' },
    ]);
    expect(parseIdRoles(undefined)).toEqual([]);
    expect(() => parseIdRoles('123456789012345678:root', 'DISCORD_ALLOWED_USERS')).toThrow(
      /DISCORD_ALLOWED_USERS: "123456789012345678:root"/,
    );
    expect(() => parseIdRoles('alice:admin')).toThrow();
  });
});
