import { ROLE_RANK, type Role } from '../commands/index.js';

/** A Telegram user or group chat and the role it is given (ids as numbers or as config strings). */
export interface TelegramGrant {
  readonly id: number | string;
  readonly role: Role;
}

export interface TelegramAccessOptions {
  readonly users: readonly TelegramGrant[];
  readonly groups: readonly TelegramGrant[];
  readonly rateLimitPerMinute: number;
  readonly now: () => number;
}

/** What to do with one message or button tap of a user. */
export type Admission =
  | { readonly kind: 'allowed'; readonly role: Role }
  /** Not on the allow-list, first time: one polite refusal. */
  | { readonly kind: 'refuse' }
  /** Not on the allow-list again, or over the rate limit again: silence. */
  | { readonly kind: 'ignore' }
  /** Over the rate limit for the first time this minute: one "slow down". */
  | { readonly kind: 'slow-down' };

const MINUTE_MS = 60_000;
/** Strangers remembered (to refuse each only once); the oldest are forgotten past this. */
const MAX_REFUSED = 10_000;

const lower = (a: Role, b: Role): Role => (ROLE_RANK[a] <= ROLE_RANK[b] ? a : b);

/**
 * Who may talk to the bot, with which role, and how often. A user's role comes from the
 * allow-list; in a group chat it is at most viewer (read-only) unless the group is granted a
 * role, then the lower of the two. Strangers get one refusal each, then silence. Allowed users
 * get `rateLimitPerMinute` messages per fixed one-minute window, one "slow down" past it.
 */
export class TelegramAccess {
  readonly #users: ReadonlyMap<string, Role>;
  readonly #groups: ReadonlyMap<string, Role>;
  readonly #refused = new Set<string>();
  readonly #windows = new Map<string, { start: number; count: number; warned: boolean }>();

  constructor(private readonly options: TelegramAccessOptions) {
    this.#users = new Map(options.users.map((u) => [String(u.id).trim(), u.role]));
    this.#groups = new Map(options.groups.map((g) => [String(g.id).trim(), g.role]));
  }

  /** The user's role in this chat, or undefined for a stranger. */
  roleOf(userId: number, chat: { readonly id: number; readonly type: string }): Role | undefined {
    const role = this.#users.get(String(userId));
    if (role === undefined) return undefined;
    if (chat.type === 'private') return role;
    return lower(role, this.#groups.get(String(chat.id)) ?? 'viewer');
  }

  /** Decides one message or button tap (counts it against the rate limit when allowed). */
  admit(userId: number, chat: { readonly id: number; readonly type: string }): Admission {
    const role = this.roleOf(userId, chat);
    const key = String(userId);
    if (role === undefined) {
      if (this.#refused.has(key)) return { kind: 'ignore' };
      this.#refused.add(key);
      if (this.#refused.size > MAX_REFUSED) this.#refused.delete(this.#refused.values().next().value!);
      return { kind: 'refuse' };
    }
    const now = this.options.now();
    let w = this.#windows.get(key);
    if (!w || now - w.start >= MINUTE_MS) {
      w = { start: now, count: 0, warned: false };
      this.#windows.set(key, w); // one entry per allow-listed user: bounded by the list
    }
    w.count += 1;
    if (w.count <= this.options.rateLimitPerMinute) return { kind: 'allowed', role };
    if (w.warned) return { kind: 'ignore' };
    w.warned = true;
    return { kind: 'slow-down' };
  }
}
