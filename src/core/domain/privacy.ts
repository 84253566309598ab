import { DEAD_LETTER_TYPE } from '../messaging/dead-letter.js';

/**
 * Message types that belong to one person rather than to the account, with the payload field
 * naming them: a conversation with the assistant (`chat.exchange`: the question and answer of
 * `payload.user`, the id an adapter gives its caller: `api:<token name>`, `telegram:<user id>`).
 * Everything else on the bus (market data, signals, orders, fills, risk, agents) is the account's,
 * which anyone with a token reads.
 */
export const PERSONAL_TYPES: Readonly<Record<string, 'user'>> = { 'chat.exchange': 'user' };

/**
 * Subjects whose dead letters carry a person's message in their original bytes (which may be
 * truncated or unreadable, so whose it is cannot be told): only admins read those.
 */
export const PERSONAL_SUBJECT_PREFIX = 'chat.';

/**
 * Whose a message is: a person's id, `null` for a person's message whose owner cannot be told (a
 * dead letter of a chat subject), `undefined` for the account's.
 */
export function ownerOf(env: { readonly type: string; readonly payload: unknown }): string | null | undefined {
  const field = PERSONAL_TYPES[env.type];
  if (field !== undefined) {
    const owner = (env.payload as Record<string, unknown> | null)?.[field];
    return typeof owner === 'string' && owner.length > 0 ? owner : null;
  }
  if (env.type === DEAD_LETTER_TYPE) {
    const subject = (env.payload as { subject?: unknown } | null)?.subject;
    return typeof subject === 'string' && subject.startsWith(PERSONAL_SUBJECT_PREFIX) ? null : undefined;
  }
  return undefined;
}

/**
 * True when the person `viewer` (an adapter's caller id) may read the message: the account's
 * messages and their own. Admins read everything: callers check the role and do not ask.
 */
export function visibleTo(env: { readonly type: string; readonly payload: unknown }, viewer: string): boolean {
  const owner = ownerOf(env);
  return owner === undefined || owner === viewer;
}
