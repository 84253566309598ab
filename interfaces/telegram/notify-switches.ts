import { NOTIFICATION_KINDS, type NotificationKind } from '../notify/index.js';

const USAGE = 'Usage: /notify [fills|rejections|risk|digest|all] [on|off], e.g. /notify fills on or /notify all off.';

/**
 * Which notification kinds each chat receives (`/notify`). None by default. Kept in memory
 * only: the switches reset to "none" when Sextant restarts, and people run `/notify` again.
 */
export class NotifySwitches {
  readonly #byChat = new Map<number, Set<NotificationKind>>();

  /** The chats that asked for this kind. */
  chatsFor(kind: NotificationKind): number[] {
    return [...this.#byChat].filter(([, kinds]) => kinds.has(kind)).map(([chat]) => chat);
  }

  /** Forgets a chat (the bot was blocked or removed from it). */
  drop(chatId: number): void {
    this.#byChat.delete(chatId);
  }

  /**
   * Runs `/notify` with its words: none shows the switches; `<kind...|all> on|off` changes them.
   * Answers the text to reply, and whether the words were understood.
   */
  command(chatId: number, words: readonly string[]): { readonly ok: boolean; readonly text: string } {
    if (words.length === 0) return { ok: true, text: this.#describe(chatId) };
    const state = words.at(-1)!.toLowerCase();
    const named = words.slice(0, -1).map((w) => w.toLowerCase());
    if ((state !== 'on' && state !== 'off') || named.length === 0) return { ok: false, text: USAGE };
    const unknown = named.filter((w) => w !== 'all' && !(NOTIFICATION_KINDS as readonly string[]).includes(w));
    if (unknown.length > 0)
      return { ok: false, text: `I do not know the notification "${unknown[0]!.slice(0, 20)}". ${USAGE}` };
    const kinds = named.includes('all') ? [...NOTIFICATION_KINDS] : (named as NotificationKind[]);
    const current = this.#byChat.get(chatId) ?? new Set<NotificationKind>();
    for (const k of kinds) {
      if (state === 'on') current.add(k);
      else current.delete(k);
    }
    if (current.size > 0) this.#byChat.set(chatId, current);
    else this.#byChat.delete(chatId);
    return { ok: true, text: this.#describe(chatId) };
  }

  #describe(chatId: number): string {
    const on = this.#byChat.get(chatId);
    const lines = NOTIFICATION_KINDS.map((k) => `${k.padEnd(11)} ${on?.has(k) ? 'on' : 'off'}`);
    return [
      'Notifications for this chat:',
      ...lines,
      'Change with /notify fills on, /notify all off. (Kept in memory: they reset when Sextant restarts.)',
    ].join('\n');
  }
}
