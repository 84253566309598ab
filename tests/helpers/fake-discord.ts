import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** One REST call discord.js made, as the fake received it. */
export interface RestCall {
  readonly method: string;
  /** Without `/api/v10`, e.g. `/interactions/1/tok/callback`. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly authorization: string | undefined;
}

/** What a test says about the person pressing or typing. */
export interface Who {
  readonly userId: string;
  /** Discord role ids of their guild membership; undefined: a DM (no member). */
  readonly roleIds?: readonly string[];
}

export interface FakeDiscord {
  /** For `new Client({ rest: { api } })`. */
  readonly api: string;
  readonly calls: RestCall[];
  /** Tokens the gateway was identified with. */
  readonly identified: string[];
  /** Sends a slash command through the gateway; returns the interaction id. */
  slash(who: Who, name: string, options?: Record<string, string | number | boolean>): string;
  /** Presses a button on a message the bot sent; returns the interaction id. */
  press(who: Who, customId: string, message: { content: string; components: unknown[] }): string;
  /** The guild interactions come from. */
  readonly guildId: string;
  /**
   * Sends GUILD_CREATE for that guild (with these role ids and the interactions' channel): discord.js caches it;
   * members then arrive as GuildMember objects and button messages as Message objects.
   */
  createGuild(roleIds: readonly string[]): void;
  /** Interaction callbacks (reply, defer, update) of one interaction. */
  callbacks(interactionId: string): { type: number; data: Record<string, unknown> }[];
  /** Follow-ups and edits sent with the interaction's token (webhook calls). */
  followUps(interactionId: string): RestCall[];
  close(): Promise<void>;
}

const API_PREFIX = '/api/v10';
const GUILD_ID = '900000000000000001';
const CHANNEL_ID = '900000000000000002';
let sequence = 0;
const snowflake = () => `${1_100_000_000_000_000_000n + BigInt(++sequence)}`;

const user = (id: string, bot = false) => ({
  id,
  username: `user${id.slice(-4)}`,
  discriminator: '0',
  global_name: null,
  avatar: null,
  ...(bot ? { bot: true } : {}),
});

function messageJson(applicationId: string, channelId: string, body: Record<string, unknown>): Record<string, unknown> {
  return {
    id: snowflake(),
    channel_id: channelId,
    type: 0,
    content: typeof body.content === 'string' ? body.content : '',
    author: user(applicationId, true),
    timestamp: new Date().toISOString(),
    edited_timestamp: null,
    tts: false,
    mention_everyone: false,
    mentions: [],
    mention_roles: [],
    attachments: [],
    embeds: [],
    pinned: false,
    flags: typeof body.flags === 'number' ? body.flags : 0,
    components: Array.isArray(body.components) ? body.components : [],
  };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const text = Buffer.concat(parts).toString('utf8');
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * A local stand-in for Discord: the REST API discord.js calls (command registration,
 * interaction callbacks, webhook follow-ups and edits, channel messages, `/gateway/bot`) and a
 * gateway WebSocket that answers HELLO / IDENTIFY / heartbeats and dispatches interactions, so
 * `client.login()` connects and interactions arrive as real discord.js objects.
 */
export async function startFakeDiscord(applicationId: string): Promise<FakeDiscord> {
  const calls: RestCall[] = [];
  const identified: string[] = [];
  const tokens = new Map<string, string>(); // interaction token -> interaction id
  const sockets = new Set<WebSocket>();
  let seq = 0;
  let port = 0;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const pathname = decodeURIComponent(url.pathname);
      const path = pathname.startsWith(API_PREFIX) ? pathname.slice(API_PREFIX.length) : pathname;
      const body = await readBody(req);
      const authorization = req.headers.authorization;
      calls.push({ method: req.method ?? 'GET', path, query: url.searchParams, body, authorization });
      const json = (status: number, data: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(data));
      };
      const m = (re: RegExp) => re.exec(path);
      if (req.method === 'GET' && path === '/gateway/bot') {
        return json(200, {
          url: `ws://127.0.0.1:${port}`,
          shards: 1,
          session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
        });
      }
      if (req.method === 'PUT' && m(/^\/applications\/\d+(\/guilds\/\d+)?\/commands$/)) {
        return json(
          200,
          (body as Record<string, unknown>[]).map((c) => ({
            ...c,
            id: snowflake(),
            application_id: applicationId,
            version: '1',
            type: 1,
          })),
        );
      }
      if (req.method === 'POST' && m(/^\/interactions\/\d+\/[^/]+\/callback$/)) {
        res.writeHead(204).end();
        return;
      }
      if (req.method === 'POST' && m(/^\/webhooks\/\d+\/[^/]+$/))
        return json(200, messageJson(applicationId, CHANNEL_ID, body as Record<string, unknown>));
      if (req.method === 'PATCH' && m(/^\/webhooks\/\d+\/[^/]+\/messages\/[^/]+$/))
        return json(200, messageJson(applicationId, CHANNEL_ID, body as Record<string, unknown>));
      const channel = m(/^\/channels\/(\d+)\/messages$/);
      if (req.method === 'POST' && channel)
        return json(200, messageJson(applicationId, channel[1]!, body as Record<string, unknown>));
      return json(404, { message: `Unknown route ${req.method} ${path}`, code: 0 });
    })().catch(() => res.writeHead(500).end());
  });

  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 45_000 }, s: null, t: null }));
    socket.on('message', (raw: Buffer) => {
      const packet = JSON.parse(raw.toString('utf8')) as { op: number; d: { token?: string } };
      if (packet.op === 1) socket.send(JSON.stringify({ op: 11 }));
      if (packet.op === 2) {
        identified.push(packet.d.token ?? '');
        const ready = {
          v: 10,
          user: user(applicationId, true),
          guilds: [],
          session_id: 'fake-session',
          resume_gateway_url: `ws://127.0.0.1:${port}`,
          shard: [0, 1],
          application: { id: applicationId, flags: 0 },
        };
        socket.send(JSON.stringify({ op: 0, t: 'READY', s: ++seq, d: ready }));
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;

  const dispatch = (t: string, d: unknown) => {
    for (const s of sockets) s.send(JSON.stringify({ op: 0, t, s: ++seq, d }));
  };
  const interaction = (who: Who, type: number, data: unknown, extra: Record<string, unknown> = {}): string => {
    const id = snowflake();
    const token = `itok-${id}`;
    tokens.set(token, id);
    const person = who.roleIds
      ? {
          guild_id: GUILD_ID,
          channel: { id: CHANNEL_ID, type: 0, guild_id: GUILD_ID, name: 'desk' },
          member: {
            user: user(who.userId),
            roles: [...who.roleIds],
            joined_at: new Date(0).toISOString(),
            deaf: false,
            mute: false,
            flags: 0,
            permissions: '0',
            nick: null,
            avatar: null,
            premium_since: null,
            pending: false,
          },
        }
      : { user: user(who.userId) };
    dispatch('INTERACTION_CREATE', {
      id,
      application_id: applicationId,
      type,
      token,
      version: 1,
      channel_id: CHANNEL_ID,
      locale: 'en-US',
      app_permissions: '0',
      entitlements: [],
      authorizing_integration_owners: {},
      context: who.roleIds ? 0 : 1,
      attachment_size_limit: 8_388_608,
      data,
      ...person,
      ...extra,
    });
    return id;
  };
  /** The option type as registered (as Discord would send it), else guessed from the value. */
  const typeOf = (command: string, option: string, v: string | number | boolean) => {
    const registered = calls.filter((c) => c.method === 'PUT' && c.path.endsWith('/commands')).at(-1)?.body as
      { name: string; options?: { name: string; type: number }[] }[] | undefined;
    const known = registered?.find((c) => c.name === command)?.options?.find((o) => o.name === option)?.type;
    return known ?? (typeof v === 'string' ? 3 : typeof v === 'boolean' ? 5 : Number.isInteger(v) ? 4 : 10);
  };

  const role = (id: string, name: string, position: number) => ({
    id,
    name,
    permissions: '0',
    position,
    color: 0,
    hoist: false,
    managed: false,
    mentionable: false,
    flags: 0,
    icon: null,
    unicode_emoji: null,
  });

  return {
    api: `http://127.0.0.1:${port}/api`,
    guildId: GUILD_ID,
    createGuild: (roleIds) =>
      dispatch('GUILD_CREATE', {
        id: GUILD_ID,
        name: 'Sextant desk',
        icon: null,
        owner_id: '1',
        roles: [role(GUILD_ID, '@everyone', 0), ...roleIds.map((id, n) => role(id, `role${n}`, n + 1))],
        emojis: [],
        stickers: [],
        features: [],
        members: [],
        channels: [
          {
            id: CHANNEL_ID,
            type: 0,
            name: 'desk',
            guild_id: GUILD_ID,
            position: 0,
            permission_overwrites: [],
            nsfw: false,
            topic: null,
            last_message_id: null,
            rate_limit_per_user: 0,
            parent_id: null,
          },
        ],
        threads: [],
        presences: [],
        voice_states: [],
        stage_instances: [],
        guild_scheduled_events: [],
        soundboard_sounds: [],
        unavailable: false,
        member_count: 1,
        large: false,
        joined_at: new Date(0).toISOString(),
        premium_tier: 0,
        preferred_locale: 'en-US',
        verification_level: 0,
        default_message_notifications: 0,
        explicit_content_filter: 0,
        mfa_level: 0,
        nsfw_level: 0,
        system_channel_flags: 0,
      }),
    calls,
    identified,
    slash: (who, name, options = {}) =>
      interaction(who, 2, {
        id: snowflake(),
        name,
        type: 1,
        options: Object.entries(options).map(([n, value]) => ({ name: n, type: typeOf(name, n, value), value })),
      }),
    press: (who, customId, message) =>
      interaction(
        who,
        3,
        { custom_id: customId, component_type: 2 },
        { message: messageJson(applicationId, CHANNEL_ID, message) },
      ),
    callbacks: (interactionId) =>
      calls
        .filter((c) => c.method === 'POST' && c.path.startsWith(`/interactions/${interactionId}/`))
        .map((c) => c.body as { type: number; data: Record<string, unknown> }),
    followUps: (interactionId) =>
      calls.filter((c) => c.path.startsWith('/webhooks/') && tokens.get(c.path.split('/')[3] ?? '') === interactionId),
    async close() {
      for (const s of sockets) s.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
