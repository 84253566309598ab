import { ROLE_RANK, type Caller, type Role } from '../commands/index.js';

/** A Discord user id or role id and the Sextant role it grants. */
export interface IdRole {
  readonly id: string;
  readonly role: Role;
}

const SNOWFLAKE = /^\d{5,25}$/;
const ROLES = new Set<string>(Object.keys(ROLE_RANK));

/**
 * Parses `DISCORD_ALLOWED_USERS` / `DISCORD_ROLE_MAP`: `id:role` pairs separated by commas or
 * spaces (`123456789012345678:admin, 234567890123456789:viewer`). Throws on a malformed pair:
 * a typo in an access list must stop the start, not silently lock someone out (or in).
 */
export function parseIdRoles(text: string | undefined, what = 'list'): IdRole[] {
  const pairs = (text ?? '').split(/[\s,]+/).filter((p) => p.length > 0);
  return pairs.map((pair) => {
    const [id, role, extra] = pair.split(':');
    if (extra !== undefined || !id || !SNOWFLAKE.test(id) || !role || !ROLES.has(role)) {
      throw new Error(`${what}: "${pair.slice(0, 60)}" is not <discord id>:<viewer|operator|admin>`);
    }
    return { id, role: role as Role };
  });
}

/**
 * The role ids of an interaction's member: a cached GuildMember, or the raw member Discord sent when the guild is not
 * cached.
 */
export function memberRoleIds(member: unknown): string[] {
  const roles = (member as { roles?: unknown } | null | undefined)?.roles;
  if (Array.isArray(roles)) return roles.filter((r): r is string => typeof r === 'string');
  const cache = (roles as { cache?: Map<string, unknown> } | undefined)?.cache;
  return cache ? [...cache.keys()] : [];
}

/**
 * Who a Discord user is to Sextant: `discord:<userId>` with the highest of the role their user
 * id is allow-listed with and the roles mapped from their member roles; undefined for everyone
 * else (they are not served at all).
 */
export function resolveCaller(
  userId: string,
  roleIds: readonly string[],
  users: readonly IdRole[],
  roles: readonly IdRole[],
): Caller | undefined {
  const granted = [...users.filter((u) => u.id === userId), ...roles.filter((r) => roleIds.includes(r.id))].map(
    (g) => g.role,
  );
  if (granted.length === 0) return undefined;
  const role = granted.reduce((best, r) => (ROLE_RANK[r] > ROLE_RANK[best] ? r : best));
  return { id: `discord:${userId}`, role };
}
