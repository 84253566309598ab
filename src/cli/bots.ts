import type { ChatAgent } from '../../interfaces/chat/chat-agent.js';
import type { CommandRouter, CommandServices } from '../../interfaces/commands/index.js';
import { Notifier } from '../../interfaces/notify/index.js';
import type { Config } from '../../config/index.js';
import type { Bus, Logger } from '../core/index.js';

/**
 * The chat bots the configuration enables (TELEGRAM_BOT_TOKEN, DISCORD_TOKEN), with a notifier
 * for both; each is loaded only when enabled. Returned in the order to stop them.
 */
export async function startBots(
  config: Config,
  deps: {
    bus: Bus;
    commands: CommandRouter<CommandServices>;
    chat: ChatAgent | undefined;
    log: Logger;
    telegramHook: { handler?: (req: Request) => Promise<Response> };
  },
): Promise<{ stop(): Promise<void> }[]> {
  if (!config.telegram.token && !config.discord.token) return [];
  const notifier = new Notifier(deps.bus);
  notifier.start();
  const started: { stop(): Promise<void> }[] = [];
  if (config.telegram.token) {
    const { createTelegramBot } = await import('../../interfaces/telegram/bot.js');
    const telegram = createTelegramBot({
      token: config.telegram.token,
      ...(config.telegram.apiRoot ? { apiRoot: config.telegram.apiRoot } : {}),
      router: deps.commands,
      ...(deps.chat ? { chat: deps.chat } : {}),
      notifier,
      users: config.telegram.users,
      groups: config.telegram.groups,
      rateLimitPerMinute: config.telegram.rateLimitPerMinute,
      log: deps.log.child({ component: 'telegram' }),
      polling: config.telegram.webhook === undefined,
      ...(config.telegram.webhook
        ? { webhook: { url: config.telegram.webhook.url, secretToken: config.telegram.webhook.secret } }
        : {}),
    });
    // a bot that cannot start (a bad token, no network) is said loudly; trading goes on without it
    try {
      await telegram.start();
      if (config.telegram.webhook)
        deps.telegramHook.handler = telegram.webhook({ secretToken: config.telegram.webhook.secret });
      deps.log.info(
        {
          users: config.telegram.users.length,
          groups: config.telegram.groups.length,
          mode: config.telegram.webhook ? 'webhook' : 'polling',
        },
        'Telegram bot started',
      );
      started.push(telegram);
    } catch (err) {
      deps.log.error({ err: (err as Error).message }, 'the Telegram bot could not start; running without it');
    }
  }
  if (config.discord.token) {
    const { createDiscordBot } = await import('../../interfaces/discord/bot.js');
    const discord = createDiscordBot({
      token: config.discord.token,
      applicationId: config.discord.applicationId!, // the config requires it with DISCORD_TOKEN
      ...(config.discord.guildId ? { guildId: config.discord.guildId } : {}),
      router: deps.commands,
      ...(deps.chat ? { chat: deps.chat } : {}),
      notifier,
      ...(config.discord.notifyChannelId ? { notifyChannelId: config.discord.notifyChannelId } : {}),
      users: config.discord.users,
      roles: config.discord.roles,
      log: deps.log.child({ component: 'discord' }),
    });
    try {
      await discord.start();
      deps.log.info(
        {
          users: config.discord.users.length,
          roles: config.discord.roles.length,
          scope: config.discord.guildId ? 'guild' : 'global',
        },
        'Discord bot connected',
      );
      started.push(discord);
    } catch (err) {
      deps.log.error({ err: (err as Error).message }, 'the Discord bot could not start; running without it');
    }
  }
  started.push({ stop: () => notifier.stop() });
  return started;
}
