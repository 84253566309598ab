import { randomBytes } from 'node:crypto';
import { commands } from './commands.js';
import { CommandRouter, type RouterOptions } from './registry.js';
import type { CommandServices } from './services.js';

/** Preview ids people can type: 6 characters, no look-alikes. */
export function previewId(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const bytes = randomBytes(6);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

/** The command router with every command, as the adapters use it. */
export function createCommandRouter(
  services: CommandServices,
  options: Partial<RouterOptions> = {},
): CommandRouter<CommandServices> {
  return new CommandRouter(services, commands, {
    previewTtlMs: 120_000,
    maxMessageChars: 4000,
    now: Date.now,
    newId: previewId,
    ...options,
  });
}
