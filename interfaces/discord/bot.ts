import {
  Client,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Routes,
  type ActionRowBuilder,
  type ButtonBuilder,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  type InteractionReplyOptions,
  type InteractionUpdateOptions,
  type WebhookMessageEditOptions,
} from 'discord.js';
import type { Logger } from '../../src/core/index.js';
import { ROLE_RANK, type Caller, type CommandRouter, type Reply, type Role } from '../commands/index.js';
import { NOTIFICATION_KINDS, type Notification, type NotificationKind } from '../notify/index.js';
import { memberRoleIds, resolveCaller, type IdRole } from './access.js';
import {
  parseButtonId,
  previewButtons,
  previewsOf,
  previewText,
  toDiscordMessages,
  DISCORD_MESSAGE_LIMIT,
} from './format.js';
import { BOT_COMMANDS, slashCommandSet, type SlashBinding, type SpecSource } from './slash-commands.js';

export { slashCommandsFrom } from './slash-commands.js';
export { parseIdRoles } from './access.js';

/** The part of the command router (`createCommandRouter`) the bot uses. */
export interface DiscordRouter
  extends SpecSource, Pick<CommandRouter<unknown>, 'invoke' | 'confirm' | 'cancel' | 'help'> {}

/** The conversational agent (`interfaces/chat/chat-agent.ts`); it never throws. */
export interface DiscordChat {
  ask(conversationId: string, caller: Caller, text: string): Promise<Reply>;
}

export interface DiscordNotifications {
  subscribe(listener: (n: Notification) => void): () => void;
}

export interface DiscordBotOptions {
  readonly token: string;
  readonly applicationId: string;
  /** Registers the commands in this guild only (instant; for development); unset: globally. */
  readonly guildId?: string;
  readonly router: DiscordRouter;
  /** Serves `/ask`; unset, `/ask` is not registered. */
  readonly chat?: DiscordChat;
  /** With `notifyChannelId`: notifications are posted there, each kind switchable with `/notify`. */
  readonly notifier?: DiscordNotifications;
  readonly notifyChannelId?: string;
  /** Discord user ids and their Sextant role. */
  readonly users: readonly IdRole[];
  /** Discord role ids and the Sextant role their members get. */
  readonly roles: readonly IdRole[];
  /** Discord's REST base (`http://127.0.0.1:PORT/api` for a local fake); unset: discord.com. */
  readonly restApi?: string;
  readonly log: Logger;
  /** Commands whose replies the whole channel sees; every other reply is ephemeral. Default none. */
  readonly publicCommands?: readonly string[];
  /**
   * A reply slower than this is deferred first (Discord drops an interaction unanswered after 3 s). Default 2,000 ms.
   */
  readonly deferAfterMs?: number;
}

export interface DiscordBot {
  readonly client: Client;
  /** Registers the slash commands, subscribes to notifications, connects to the gateway. */
  start(): Promise<void>;
  /** Stops notifications, waits briefly for those being posted, disconnects. */
  stop(): Promise<void>;
  /** Serves one interaction (the client's `interactionCreate` calls it). Never throws. */
  handleInteraction(interaction: Interaction): Promise<void>;
}

const EPHEMERAL = MessageFlags.Ephemeral;
/** Nobody is pinged by anything the bot says (symbols and reasons are data, not mentions). */
const NO_MENTIONS = { parse: [] as [] };
const REFUSAL =
  'Sorry, this bot only serves the people its owner has allowed. If you should have access, ask an admin to add your Discord user id.';
const FAILURE = 'Something went wrong handling that. Check `/status` or `/orders` before trying again.';
/**
 * Notifications waiting to be posted; beyond this, new ones are dropped (with a log line) rather than queued without
 * end.
 */
const OUTBOX_MAX = 200;
const STOP_GRACE_MS = 2000;

type Switches = Record<NotificationKind, boolean>;
const LATE = Symbol('late');

/**
 * The Discord bot: a thin adapter over the command router. Slash commands (typed from each
 * command's zod schema) go to `router.invoke`; a preview comes back with Confirm / Cancel
 * buttons that call `router.confirm` / `router.cancel` (which enforce same person, TTL and
 * exactly once); `/ask` goes to the chat agent; notifications go to one channel.
 *
 * Access: only allow-listed users, or members of mapped Discord roles, are served (role = the
 * highest granted); the router then checks each command's role. Replies are ephemeral unless a
 * command is listed in `publicCommands`. `/notify` switches are in memory: all on at start,
 * reset on restart.
 */
export function createDiscordBot(options: DiscordBotOptions): DiscordBot {
  const { router, log } = options;
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    ...(options.restApi ? { rest: { api: options.restApi } } : {}),
  });
  client.rest.setToken(options.token); // registration and notifications use REST before (and without) the gateway
  const notifying = options.notifier !== undefined && options.notifyChannelId !== undefined;
  const commands = slashCommandSet(router, { ask: options.chat !== undefined, notify: notifying });
  const publicCommands = new Set(options.publicCommands ?? []);
  const deferAfterMs = options.deferAfterMs ?? 2000;
  const switches: Switches = Object.fromEntries(NOTIFICATION_KINDS.map((k) => [k, true])) as Switches;
  let outbox: Promise<void> = Promise.resolve();
  let queued = 0;
  let unsubscribe: (() => void) | undefined;
  let started = false;

  const callerOf = (i: ChatInputCommandInteraction | ButtonInteraction): Caller | undefined =>
    resolveCaller(i.user.id, memberRoleIds(i.member), options.users, options.roles);

  async function refuse(i: ChatInputCommandInteraction | ButtonInteraction, what: string): Promise<void> {
    log.warn({ userId: i.user.id, guildId: i.guildId, what }, 'discord: refused a user who is not allowed');
    await i.reply({ content: REFUSAL, flags: EPHEMERAL, allowedMentions: NO_MENTIONS });
  }

  /** Awaits `work`; when it is slower than `deferAfterMs`, acknowledges the interaction first. */
  async function deferIfSlow<T>(work: Promise<T>, defer: () => Promise<unknown>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<typeof LATE>((resolve) => (timer = setTimeout(() => resolve(LATE), deferAfterMs)));
    const first = await Promise.race([work, late]).finally(() => clearTimeout(timer));
    if (first !== LATE) return first as T;
    await defer();
    return work;
  }

  /**
   * Sends text as one or more messages: the first answers (or edits the deferred answer), the rest follow up; buttons
   * go on the last.
   */
  async function send(
    i: ChatInputCommandInteraction | ButtonInteraction,
    text: string,
    ephemeral: boolean,
    rows: readonly ActionRowBuilder<ButtonBuilder>[] = [],
  ): Promise<void> {
    const chunks = toDiscordMessages(text);
    for (const [n, content] of chunks.entries()) {
      const payload = {
        content,
        allowedMentions: NO_MENTIONS,
        ...(n === chunks.length - 1 && rows.length > 0 ? { components: [...rows] } : {}),
      };
      const flags: Pick<InteractionReplyOptions, 'flags'> = ephemeral ? { flags: EPHEMERAL } : {};
      if (n === 0 && !i.deferred && !i.replied) await i.reply({ ...payload, ...flags });
      else if (n === 0 && i.deferred && !i.replied && i.isChatInputCommand()) await i.editReply(payload);
      else await i.followUp({ ...payload, ...flags });
    }
  }

  /**
   * A command's reply: previews get buttons; a failure is private even for a public command (unless already deferred
   * in public).
   */
  async function answer(i: ChatInputCommandInteraction, work: () => Promise<Reply>, ephemeral: boolean): Promise<void> {
    const reply = await deferIfSlow(work(), () => i.deferReply(ephemeral ? { flags: EPHEMERAL } : {}));
    const previews = previewsOf(reply);
    await send(i, previewText(reply.text, previews), ephemeral || !reply.ok, previewButtons(previews));
  }

  function argsOf(i: ChatInputCommandInteraction, binding: SlashBinding): Record<string, unknown> {
    const args: Record<string, unknown> = {};
    for (const { option, key } of binding.options) {
      const value = i.options.get(option)?.value;
      if (value !== undefined && value !== null) args[key] = value;
    }
    return args;
  }

  async function onNotify(i: ChatInputCommandInteraction, caller: Caller): Promise<void> {
    if (!notifying) return send(i, 'Notifications are not set up for this bot.', true);
    if (ROLE_RANK[caller.role] < ROLE_RANK.operator)
      return send(i, `notify needs the operator role; you have ${caller.role}.`, true);
    const kind = i.options.get('kind')?.value;
    const on = i.options.get('on')?.value;
    const kinds = kind === 'all' ? NOTIFICATION_KINDS : NOTIFICATION_KINDS.filter((k) => k === kind);
    if (kinds.length === 0 || typeof on !== 'boolean')
      return send(i, `Usage: /notify kind:<${[...NOTIFICATION_KINDS, 'all'].join('|')}> on:<true|false>`, true);
    for (const k of kinds) switches[k] = on;
    log.info({ by: caller.id, kinds, on }, 'discord: notifications switched');
    const state = NOTIFICATION_KINDS.map((k) => `${k} ${switches[k] ? 'on' : 'off'}`).join(', ');
    return send(
      i,
      `Notifications in <#${options.notifyChannelId}>: ${state}. (These switches reset when Sextant restarts.)`,
      true,
    );
  }

  async function onCommand(i: ChatInputCommandInteraction): Promise<void> {
    const caller = callerOf(i);
    if (!caller) return refuse(i, `/${i.commandName}`);
    const ephemeral = !publicCommands.has(i.commandName);
    const binding = commands.bindings.get(i.commandName);
    if (binding) return answer(i, () => router.invoke(binding.spec, argsOf(i, binding), caller), ephemeral);
    switch (i.commandName) {
      case BOT_COMMANDS.help:
        return send(i, router.help(caller).text, ephemeral);
      case BOT_COMMANDS.notify:
        return onNotify(i, caller);
      case BOT_COMMANDS.ask: {
        const chat = options.chat;
        const text = i.options.get('text')?.value;
        if (!chat) return send(i, 'The assistant is not set up for this bot; use the slash commands.', true);
        if (typeof text !== 'string' || text.trim().length === 0)
          return send(i, 'Usage: /ask text:<your question>', true);
        return answer(i, () => chat.ask(`discord:${i.user.id}`, caller, text), ephemeral);
      }
      default: // registered once, gone from the registry since: the router says so in its own words
        return answer(i, () => router.invoke(i.commandName, {}, caller), true);
    }
  }

  /** The preview message with the pressed preview's buttons gone (others stay) and what became of it. */
  function settled(
    i: ButtonInteraction,
    previewId: string,
    outcome: string,
  ): InteractionUpdateOptions & WebhookMessageEditOptions {
    const rows = (i.message.components as unknown[]).map((r) =>
      (r as { toJSON?: () => unknown }).toJSON ? (r as { toJSON: () => unknown }).toJSON() : r,
    );
    const remaining = rows.filter(
      (r) =>
        !((r as { components?: { custom_id?: string }[] }).components ?? []).some(
          (c) => parseButtonId(c.custom_id ?? '')?.previewId === previewId,
        ),
    );
    const tail = `\n**${outcome}**`;
    const content = `${i.message.content.slice(0, DISCORD_MESSAGE_LIMIT - tail.length)}${tail}`;
    return {
      content,
      components: remaining as NonNullable<InteractionUpdateOptions['components']> &
        NonNullable<WebhookMessageEditOptions['components']>,
      allowedMentions: NO_MENTIONS,
    };
  }

  async function onButton(i: ButtonInteraction): Promise<void> {
    const pressed = parseButtonId(i.customId);
    if (!pressed) {
      log.debug(
        { customId: i.customId.slice(0, 100), userId: i.user.id },
        'discord: ignored a button that is not ours',
      );
      return;
    }
    const caller = callerOf(i);
    if (!caller) return refuse(i, `button ${pressed.action}`);
    const { previewId } = pressed;
    const reply = await deferIfSlow(
      pressed.action === 'confirm'
        ? router.confirm(previewId, caller)
        : Promise.resolve(router.cancel(previewId, caller)),
      () => i.deferUpdate(),
    );
    if (!reply.ok && reply.code === 'no_preview') {
      // someone else's preview, or one already settled: the message stays as it is
      log.info(
        { by: caller.id, previewId, action: pressed.action },
        'discord: button pressed for no pending preview of this user',
      );
      return send(i, reply.text, true);
    }
    const outcome =
      pressed.action === 'cancel'
        ? 'Cancelled.'
        : reply.ok
          ? 'Confirmed.'
          : reply.code === 'expired'
            ? 'Expired: nothing was sent.'
            : `Not done (${reply.code ?? 'failed'}).`;
    const update = settled(i, previewId, outcome);
    if (i.deferred) await i.editReply(update);
    else await i.update(update);
    await send(i, reply.text, true);
  }

  async function apologise(i: Interaction): Promise<void> {
    if (!i.isRepliable()) return;
    try {
      if (i.replied || i.deferred)
        await i.followUp({ content: FAILURE, flags: EPHEMERAL, allowedMentions: NO_MENTIONS });
      else await i.reply({ content: FAILURE, flags: EPHEMERAL, allowedMentions: NO_MENTIONS });
    } catch (err) {
      log.warn({ err, interactionId: i.id }, 'discord: could not even say that handling failed');
    }
  }

  async function handleInteraction(i: Interaction): Promise<void> {
    try {
      if (i.isChatInputCommand()) await onCommand(i);
      else if (i.isButton()) await onButton(i);
    } catch (err) {
      log.error({ err, interactionId: i.id, userId: i.user.id }, 'discord: handling an interaction failed');
      await apologise(i);
    }
  }

  async function post(text: string): Promise<void> {
    for (const content of toDiscordMessages(text)) {
      await client.rest.post(Routes.channelMessages(options.notifyChannelId!), {
        body: { content, allowed_mentions: NO_MENTIONS },
      });
    }
  }

  function onNotification(n: Notification): void {
    if (!switches[n.kind]) return;
    if (queued >= OUTBOX_MAX) {
      log.warn(
        { kind: n.kind, correlationId: n.correlationId },
        'discord: notification dropped, too many waiting to be posted',
      );
      return;
    }
    queued += 1;
    const text = n.correlationId ? `${n.text} (trace ${n.correlationId})` : n.text;
    outbox = outbox
      .then(() => post(text))
      .catch((err: unknown) =>
        log.warn({ err, kind: n.kind, correlationId: n.correlationId }, 'discord: posting a notification failed'),
      )
      .finally(() => (queued -= 1));
  }

  client.on(Events.InteractionCreate, (i) => void handleInteraction(i));
  client.on(Events.Error, (err) => log.error({ err }, 'discord: client error'));
  client.on(Events.Warn, (message) => log.warn({ message }, 'discord: client warning'));
  client.once(Events.ClientReady, (c) => log.info({ user: c.user.id, guildId: options.guildId }, 'discord: connected'));

  return {
    client,
    handleInteraction,
    async start() {
      if (started) return;
      started = true;
      try {
        const route = options.guildId
          ? Routes.applicationGuildCommands(options.applicationId, options.guildId)
          : Routes.applicationCommands(options.applicationId);
        await client.rest.put(route, { body: commands.json });
        log.info(
          { commands: commands.json.length, scope: options.guildId ? `guild ${options.guildId}` : 'global' },
          'discord: slash commands registered',
        );
        if (notifying) unsubscribe = options.notifier!.subscribe(onNotification);
        await client.login(options.token);
      } catch (err) {
        // a failed start leaves nothing behind, so the owner can retry it or stop
        unsubscribe?.();
        unsubscribe = undefined;
        started = false;
        throw err;
      }
    },
    async stop() {
      unsubscribe?.();
      unsubscribe = undefined;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([outbox, new Promise((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)))]).finally(() =>
        clearTimeout(timer),
      );
      await client.destroy();
      started = false;
    },
  };
}

export type { IdRole, Role };
