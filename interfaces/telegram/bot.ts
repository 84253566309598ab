import { createHash, timingSafeEqual } from 'node:crypto';
import { Telegraf, type Context } from 'telegraf';
import { callbackQuery, message } from 'telegraf/filters';
import type { BotCommand, InlineKeyboardMarkup, Message, Update } from 'telegraf/types';
import type { Logger } from '../../src/core/index.js';
import type { Caller, Reply } from '../commands/index.js';
import type { Notification } from '../notify/index.js';
import { TelegramAccess, type TelegramGrant } from './access.js';
import { toTelegramHtml } from './format.js';
import { NotifySwitches } from './notify-switches.js';

/** The part of the command router the bot uses (`CommandRouter` fits). */
export interface TelegramCommandRouter {
  handle(text: string, caller: Caller): Promise<Reply>;
  confirm(id: string, caller: Caller): Promise<Reply>;
  cancel(id: string, caller: Caller): Reply | Promise<Reply>;
  help(caller: Caller): Reply;
  readonly specs: readonly {
    readonly name: string;
    readonly aliases?: readonly string[];
    readonly summary: string;
    readonly usage: string;
  }[];
}

/** The conversational agent (`ChatAgent` fits): free text goes there when it is given. */
export interface TelegramChat {
  ask(conversationId: string, caller: Caller, text: string): Promise<Reply>;
}

export interface TelegramBotOptions {
  readonly token: string;
  /** A self-hosted Bot API server or a test fake; unset means api.telegram.org. */
  readonly apiRoot?: string;
  readonly router: TelegramCommandRouter;
  readonly chat?: TelegramChat;
  /** Notifications for the chats that switched them on with `/notify` (`Notifier` fits). */
  readonly notifier?: { subscribe(listener: (n: Notification) => void): () => void };
  /** The users the bot obeys, with their roles; everyone else gets one polite refusal. */
  readonly users: readonly TelegramGrant[];
  /** Group chats given a role; in other groups allowed users are read-only (viewer). */
  readonly groups: readonly TelegramGrant[];
  readonly rateLimitPerMinute: number;
  readonly log: Logger;
  readonly now?: () => number;
  /** True: `start()` long-polls getUpdates. False: the owner feeds updates (`webhook`, `handleUpdate`). */
  readonly polling: boolean;
  /** Webhook mode (with `polling: false`): `start()` registers this URL and secret with setWebhook. */
  readonly webhook?: { readonly url: string; readonly secretToken: string };
}

export interface TelegramBot {
  readonly bot: Telegraf;
  /** Fetches the bot's name, registers the command menu, subscribes to notifications, polls. */
  start(): Promise<void>;
  /** Stops polling (waiting for updates in hand), notifications and deliveries in flight. */
  stop(): Promise<void>;
  /** Handles one update (a webhook body); never throws. */
  handleUpdate(update: Update): Promise<void>;
  /** A fetch-style webhook handler (Hono: `app.post(path, (c) => handler(c.req.raw))`). */
  webhook(options?: { readonly secretToken?: string }): (req: Request) => Promise<Response>;
}

/** Telegram's rule for command names in the menu. */
const MENU_NAME = /^[a-z0-9_]{1,32}$/;
/** Our callback data: confirm (c) or cancel (x) of a preview id; anything else is refused. */
const CALLBACK = /^([cx]):([A-Za-z0-9_-]{1,60})$/;
const REFUSAL =
  'Sorry, this is a private bot and you are not on its list of users. Ask its owner to add your Telegram user id.';
const SLOW_DOWN = 'Slow down… too many messages this minute; I will answer again shortly.';
const READ_ONLY: Reply = {
  ok: false,
  code: 'forbidden',
  text: 'Confirming needs the operator role; here you have viewer (this chat is read-only).',
};
const TYPED_CONFIRM = /^\/?confirm(@\S+)?(\s|$)/i;
const FAILED = 'Something went wrong on my side. Check /orders and /status before trying again.';

/** Logs an error by name, code and message only: Telegram errors carry the text we sent. */
const brief = (err: unknown) => ({
  name: (err as Error)?.name,
  code: (err as { code?: unknown })?.code,
  message: String((err as Error)?.message ?? err).slice(0, 300),
});
const callerOf = (ctx: Context): Caller => ctx.state.caller as Caller;
const keyboard = (previewId: string): InlineKeyboardMarkup => ({
  inline_keyboard: [
    [
      { text: 'Confirm', callback_data: `c:${previewId}` },
      { text: 'Cancel', callback_data: `x:${previewId}` },
    ],
  ],
});

/**
 * The Telegram bot: a thin adapter over the command router and the chat agent. Every registry
 * command is a slash command; free text goes to the chat agent (or the router without one);
 * a dangerous command's preview gets Confirm / Cancel buttons, which call `router.confirm` /
 * `router.cancel` as the person who tapped (the router executes a preview once, for the person
 * it was shown to, within its TTL). Access, roles, rate limits: `TelegramAccess`. Notification
 * switches: `NotifySwitches` (in memory). Handlers never throw: errors become a short reply and
 * a log line without message text.
 */
export function createTelegramBot(options: TelegramBotOptions): TelegramBot {
  const { router, chat, log } = options;
  const bot = new Telegraf(options.token, options.apiRoot ? { telegram: { apiRoot: options.apiRoot } } : {});
  const access = new TelegramAccess({
    users: options.users,
    groups: options.groups,
    rateLimitPerMinute: options.rateLimitPerMinute,
    now: options.now ?? Date.now,
  });
  const switches = new NotifySwitches();
  const deliveries = new Set<Promise<void>>();
  let unsubscribe: (() => void) | undefined;
  let polling: Promise<void> | undefined;

  const send = async (ctx: Context, reply: Reply): Promise<void> => {
    const parts = toTelegramHtml(reply.text);
    for (const [i, part] of parts.entries()) {
      const markup = reply.preview && i === parts.length - 1 ? { reply_markup: keyboard(reply.preview.id) } : {};
      await ctx.reply(part, { parse_mode: 'HTML', link_preview_options: { is_disabled: true }, ...markup });
    }
  };

  // The gate: only new text messages and button taps, only from allowed users, within the rate limit.
  bot.use(async (ctx, next) => {
    const msg = ctx.message;
    const tap = ctx.callbackQuery;
    const from = ctx.from;
    if (!from || from.is_bot) return;
    if (tap) {
      if (!tap.message) return void (await ctx.answerCbQuery('Nothing to confirm'));
      return admit(ctx, from.id, tap.message.chat, next);
    }
    // edited messages, stickers, photos, joins, channel posts...: silently nothing
    if (!msg || !('text' in msg)) return;
    if (msg.chat.type !== 'private' && !addressed(msg, ctx.me, ctx.botInfo.id)) return;
    return admit(ctx, from.id, msg.chat, next);
  });

  const admit = async (
    ctx: Context,
    userId: number,
    chatInfo: { id: number; type: string },
    next: () => Promise<void>,
  ): Promise<void> => {
    const decision = access.admit(userId, chatInfo);
    const answer = (text?: string) =>
      ctx.callbackQuery ? ctx.answerCbQuery(text?.slice(0, 200)) : text ? ctx.reply(text) : undefined;
    switch (decision.kind) {
      case 'refuse':
        log.warn({ userId, chatId: chatInfo.id }, 'telegram: refused a user who is not on the allow-list');
        await answer(REFUSAL);
        return;
      case 'ignore':
        log.debug({ userId }, 'telegram: ignored a message (stranger already refused, or rate-limited)');
        if (ctx.callbackQuery) await answer(); // stops the button's spinner, says nothing
        return;
      case 'slow-down':
        log.info({ userId }, 'telegram: user over the rate limit');
        await answer(SLOW_DOWN);
        return;
      case 'allowed':
        ctx.state.caller = { id: `telegram:${userId}`, role: decision.role } satisfies Caller;
        return next();
    }
  };

  bot.command(['start', 'help'], (ctx) => send(ctx, router.help(callerOf(ctx))));
  bot.command('notify', (ctx) => send(ctx, switches.command(ctx.chat.id, words(ctx.payload))));
  bot.command(
    router.specs.flatMap((s) => [s.name, ...(s.aliases ?? [])].map((n) => n.toLowerCase())),
    async (ctx) => send(ctx, await router.handle(ctx.message.text, callerOf(ctx))),
  );
  bot.on(message('text'), async (ctx) => {
    const caller = callerOf(ctx);
    const text = ctx.message.text.startsWith('/') ? ctx.message.text : withoutMention(ctx.message.text, ctx.me);
    if (caller.role === 'viewer' && TYPED_CONFIRM.test(text)) return send(ctx, READ_ONLY);
    // a slash command without its own handler (`/confirm id`, a typo): the router answers it
    if (text.startsWith('/')) return send(ctx, await router.handle(text, caller));
    return send(
      ctx,
      chat ? await chat.ask(`telegram:${ctx.chat.id}`, caller, text) : await router.handle(text, caller),
    );
  });
  bot.on(callbackQuery('data'), async (ctx) => {
    const m = CALLBACK.exec(ctx.callbackQuery.data);
    const confirming = m?.[1] !== 'x';
    if (!m) return void (await ctx.answerCbQuery('Nothing to confirm'));
    const caller = callerOf(ctx);
    // a read-only chat (a group without a role) confirms nothing, even the person's own preview
    if (confirming && caller.role === 'viewer') return void (await ctx.answerCbQuery(READ_ONLY.text.slice(0, 200)));
    const id = m[2]!;
    const reply = confirming ? await router.confirm(id, caller) : await router.cancel(id, caller);
    log.info(
      { userId: ctx.from.id, previewId: id, action: confirming ? 'confirm' : 'cancel', ok: reply.ok, code: reply.code },
      'telegram: preview button',
    );
    // Not this person's preview, or gone already (a second tap): say so and touch nothing.
    if (reply.code === 'no_preview')
      return void (await ctx.answerCbQuery(confirming ? 'Nothing to confirm' : 'Nothing to cancel'));
    await ctx.answerCbQuery(
      !confirming ? 'Cancelled' : reply.code === 'expired' ? 'Expired' : reply.ok ? 'Sent' : 'Not done',
    );
    await ctx
      .editMessageReplyMarkup(undefined)
      .catch((err: unknown) => log.debug({ err: brief(err) }, 'telegram: could not remove the buttons'));
    await send(ctx, reply);
  });

  bot.catch(async (err, ctx) => {
    log.error(
      { err: brief(err), updateId: ctx.update.update_id, chatId: ctx.chat?.id },
      'telegram: handling an update failed',
    );
    try {
      if (ctx.callbackQuery) await ctx.answerCbQuery('Something went wrong');
      else if (ctx.chat && ctx.message) await ctx.reply(FAILED);
    } catch (again) {
      log.warn({ err: brief(again) }, 'telegram: could not report the failure either');
    }
  });

  const deliver = (n: Notification): void => {
    const text = n.correlationId ? `${n.text}\ntrace ${n.correlationId}` : n.text;
    for (const chatId of switches.chatsFor(n.kind)) {
      const p = (async () => {
        for (const part of toTelegramHtml(text))
          await bot.telegram.sendMessage(chatId, part, {
            parse_mode: 'HTML',
            link_preview_options: { is_disabled: true },
          });
      })()
        .catch((err: unknown) => {
          log.warn({ err: brief(err), chatId, kind: n.kind }, 'telegram: could not deliver a notification');
          if ((err as { code?: unknown }).code === 403) switches.drop(chatId); // blocked or removed: stop trying
        })
        .finally(() => deliveries.delete(p));
      deliveries.add(p);
    }
  };

  const handleUpdate = async (update: Update): Promise<void> => {
    try {
      await bot.handleUpdate(update);
    } catch (err) {
      log.error({ err: brief(err), updateId: update.update_id }, 'telegram: update failed');
    }
  };

  return {
    bot,
    handleUpdate,
    async start() {
      if (unsubscribe || polling) return;
      bot.botInfo ??= await bot.telegram.getMe();
      try {
        await bot.telegram.setMyCommands(menu(router.specs));
      } catch (err) {
        log.warn({ err: brief(err) }, 'telegram: could not register the command menu; commands still work');
      }
      if (options.webhook && !options.polling) {
        await bot.telegram.setWebhook(options.webhook.url, {
          secret_token: options.webhook.secretToken,
          allowed_updates: ['message', 'callback_query'],
        });
      }
      unsubscribe = options.notifier?.subscribe(deliver) ?? (() => undefined);
      if (options.polling) {
        // launch() resolves only when polling ends, so it runs on; stop() waits for it
        polling = bot
          .launch({ allowedUpdates: ['message', 'callback_query'] })
          .catch((err: unknown) => log.error({ err: brief(err) }, 'telegram: polling stopped'));
      }
      log.info(
        {
          bot: bot.botInfo.username,
          polling: options.polling,
          webhook: options.webhook ? new URL(options.webhook.url).pathname : undefined,
          users: options.users.length,
          groups: options.groups.length,
        },
        'telegram: bot started',
      );
    },
    async stop() {
      unsubscribe?.();
      unsubscribe = undefined;
      if (polling) {
        try {
          bot.stop('sextant stop');
        } catch {
          // already stopped (polling ended on its own)
        }
        await polling;
        polling = undefined;
      }
      await Promise.all([...deliveries]);
    },
    webhook(webhookOptions = {}) {
      const secret = webhookOptions.secretToken;
      return async (req) => {
        if (req.method !== 'POST') return new Response(null, { status: 405 });
        if (secret !== undefined && !sameSecret(req.headers.get('x-telegram-bot-api-secret-token') ?? '', secret))
          return new Response(null, { status: 401 });
        let update: Update;
        try {
          update = (await req.json()) as Update;
        } catch {
          return new Response(null, { status: 400 });
        }
        await handleUpdate(update);
        return new Response(null, { status: 200 });
      };
    },
  };
}

/** The command menu: every registry name and alias Telegram accepts, plus help and notify. */
export function menu(specs: TelegramCommandRouter['specs']): BotCommand[] {
  const out: BotCommand[] = [{ command: 'help', description: 'What I can do for you.' }];
  const seen = new Set(['help', 'start', 'notify']);
  for (const s of specs) {
    for (const name of [s.name, ...(s.aliases ?? [])].map((n) => n.toLowerCase())) {
      if (!MENU_NAME.test(name) || seen.has(name)) continue;
      seen.add(name);
      const description =
        (name === s.name.toLowerCase() ? s.summary : `Same as /${s.name}: ${s.summary}`).trim() || s.usage;
      out.push({ command: name, description: description.slice(0, 256) });
    }
  }
  out.push({
    command: 'notify',
    description: 'Which notifications this chat gets: /notify fills on, /notify all off.',
  });
  return out.slice(0, 100); // Telegram's most
}

/** In a group, the bot answers a command to it, a mention of it, or a reply to its message. */
function addressed(msg: Message.TextMessage, me: string, botId: number): boolean {
  const first = msg.entities?.[0];
  if (first?.type === 'bot_command' && first.offset === 0) {
    const to = msg.text.slice(0, first.length).split('@')[1];
    return to === undefined || to.toLowerCase() === me.toLowerCase();
  }
  if (msg.reply_to_message?.from?.id === botId) return true;
  return (msg.entities ?? []).some(
    (e) =>
      e.type === 'mention' && msg.text.slice(e.offset, e.offset + e.length).toLowerCase() === `@${me.toLowerCase()}`,
  );
}

const withoutMention = (text: string, me: string) =>
  text.replace(new RegExp(`@${me.replace(/[^\w]/g, '')}\\b`, 'gi'), ' ').trim();
const words = (payload: string) =>
  payload
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0);

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
