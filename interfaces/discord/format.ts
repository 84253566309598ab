import { ActionRowBuilder, ButtonBuilder, ButtonStyle } from 'discord.js';
import type { PreviewInfo, Reply } from '../commands/index.js';

/** Discord refuses a message content longer than this. */
export const DISCORD_MESSAGE_LIMIT = 2000;
const FENCE_OPEN = '```\n';
const FENCE_CLOSE = '\n```';
/** A message holds at most five rows of buttons. */
const ROWS_MAX = 5;

/** Text aligned in columns (positions, orders, help): readable only in a monospace font. */
export function isTabular(text: string): boolean {
  return text.split('\n').some((line) => /\S {2,}\S/.test(line.trim()));
}

/** Cuts `text` into pieces of at most `room` characters, at line ends where it can, never inside a surrogate pair. */
function splitLines(text: string, room: number): string[] {
  const chunks: string[] = [];
  let current: string | undefined;
  for (const line of text.split('\n')) {
    let rest = line;
    while (rest.length > room) {
      if (current !== undefined) chunks.push(current);
      current = undefined;
      const code = rest.charCodeAt(room - 1);
      const cut = code >= 0xd800 && code <= 0xdbff ? room - 1 : room;
      chunks.push(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    if (current === undefined) current = rest;
    else if (current.length + 1 + rest.length > room) {
      chunks.push(current);
      current = rest;
    } else current = `${current}\n${rest}`;
  }
  if (current !== undefined) chunks.push(current);
  return chunks.filter((c) => c.trim().length > 0);
}

/**
 * A reply's text as Discord messages: at most 2,000 characters each, split at line ends; a
 * table goes in a code block (each message its own block). Never empty: Discord refuses that.
 */
export function toDiscordMessages(text: string, limit = DISCORD_MESSAGE_LIMIT): string[] {
  if (text.trim().length === 0) return ['(nothing to show)'];
  if (!isTabular(text)) return splitLines(text, limit);
  const body = text.replaceAll('```', '`\u200b``'); // a fence inside would close the block early
  return splitLines(body, limit - FENCE_OPEN.length - FENCE_CLOSE.length).map((c) => `${FENCE_OPEN}${c}${FENCE_CLOSE}`);
}

/** Button custom ids: `sx:c:<preview id>` confirms, `sx:x:<preview id>` cancels. */
const BUTTON_ID = /^sx:([cx]):([A-Za-z0-9_-]{1,64})$/;

export interface ButtonAction {
  readonly action: 'confirm' | 'cancel';
  readonly previewId: string;
}

/** Our own button ids only; anything else (another bot's, a forged one) is undefined. */
export function parseButtonId(customId: string): ButtonAction | undefined {
  const m = BUTTON_ID.exec(customId);
  if (!m) return undefined;
  return { action: m[1] === 'c' ? 'confirm' : 'cancel', previewId: m[2]! };
}

export const confirmButtonId = (previewId: string) => `sx:c:${previewId}`;
export const cancelButtonId = (previewId: string) => `sx:x:${previewId}`;

/** Every preview a reply carries: the router's one, or the several a chat answer lists in `data.previews`. */
export function previewsOf(reply: Reply): PreviewInfo[] {
  const listed = (reply.data as { previews?: unknown } | undefined)?.previews;
  const all = Array.isArray(listed)
    ? (listed as PreviewInfo[]).filter((p) => typeof p?.id === 'string' && BUTTON_ID.test(confirmButtonId(p.id)))
    : [];
  if (reply.preview && !all.some((p) => p.id === reply.preview!.id)) all.unshift(reply.preview);
  return all.slice(0, ROWS_MAX);
}

/**
 * The preview text for Discord: the typed `confirm <id>` instruction becomes the buttons, with
 * the deadline in the reader's own time zone (`<t:unix:R>` is rendered by Discord).
 */
export function previewText(text: string, previews: readonly PreviewInfo[]): string {
  if (previews.length === 0) return text;
  const kept = text.split('\n').filter((line) => !/^Reply "confirm \S+" within/.test(line.trim()));
  const deadline = Math.floor(Math.min(...previews.map((p) => p.expiresAt)) / 1000);
  return [...kept, `Press Confirm <t:${deadline}:R> to send it, or Cancel. Nothing is sent until you confirm.`].join(
    '\n',
  );
}

/** A row of Confirm / Cancel per preview (labelled with its id when there are several). */
export function previewButtons(previews: readonly PreviewInfo[]): ActionRowBuilder<ButtonBuilder>[] {
  const several = previews.length > 1;
  return previews.map((p) =>
    new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder()
        .setCustomId(confirmButtonId(p.id))
        .setLabel(several ? `Confirm ${p.id}` : 'Confirm')
        .setStyle(p.check && !p.check.wouldPass ? ButtonStyle.Danger : ButtonStyle.Success),
      new ButtonBuilder()
        .setCustomId(cancelButtonId(p.id))
        .setLabel(several ? `Cancel ${p.id}` : 'Cancel')
        .setStyle(ButtonStyle.Secondary),
    ),
  );
}
