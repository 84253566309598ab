import { z } from 'zod';
import { builtinStrategies, isStrategyPath } from '../agents/strategy/index.js';

/**
 * Every configuration key Sextant reads, in one table: the environment variable name (also
 * the key in an optional JSON config file), its schema, the expected form in words (used in
 * start-up errors), its default, and whether it is a secret (redacted wherever config is shown).
 */
export interface KeySpec<T> {
  readonly schema: z.ZodType<T>;
  readonly expected: string;
  readonly doc: string;
  readonly secret?: 'value' | 'url';
  readonly default?: T;
}

const def = <T>(spec: KeySpec<T>): KeySpec<T> => spec;

/** Accepts a number or a numeric string (env values are strings, file values may be numbers). */
const numeric = (check: z.ZodNumber) =>
  z
    .union([
      z.number(),
      z
        .string()
        .trim()
        .regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, 'not a number'),
    ])
    .transform(Number)
    .pipe(check);

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => numeric(z.number().int().min(min).max(max));
const dec = (min: number, max = Number.MAX_SAFE_INTEGER) => numeric(z.number().min(min).max(max));
const bool = z.union([
  z.boolean(),
  z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => ['true', '1', 'yes'].includes(v)),
]);
const list = z
  .union([z.array(z.string()), z.string()])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter((s) => s.length > 0));
const url = (protocols: string[]) =>
  z.string().refine(
    (v) =>
      v.split(',').every((u) => {
        try {
          return protocols.includes(new URL(u.trim()).protocol);
        } catch {
          return false;
        }
      }),
    `not a ${protocols.join(' or ')} URL`,
  );

/** `id:role` entries (allow-lists of chat users, groups, Discord roles). */
const idRoles = (what: string) =>
  list
    .pipe(
      z.array(
        z
          .string()
          .regex(
            /^-?\d{1,25}:(viewer|operator|admin)$/,
            `each entry is ${what}:role, the role viewer, operator or admin`,
          ),
      ),
    )
    .transform((entries) =>
      entries.map((e) => ({
        id: e.slice(0, e.lastIndexOf(':')),
        role: e.slice(e.lastIndexOf(':') + 1) as 'viewer' | 'operator' | 'admin',
      })),
    );

type Role = 'viewer' | 'operator' | 'admin';
/** `role=amount` entries (`viewer=20000,operator=50000`), or one bare amount for every role. */
const roleAmounts = list.transform((entries, ctx) => {
  const out: Partial<Record<Role, number>> = {};
  if (entries.length === 1 && /^\d+$/.test(entries[0]!)) {
    const n = Number(entries[0]);
    return { viewer: n, operator: n, admin: n };
  }
  for (const entry of entries) {
    const m = /^(viewer|operator|admin)=(\d+)$/.exec(entry);
    if (!m) {
      ctx.addIssue({
        code: 'custom',
        message: `"${entry}" is not role=tokens (role viewer, operator or admin; tokens a whole number)`,
      });
      return z.NEVER;
    }
    if (out[m[1] as Role] !== undefined) {
      ctx.addIssue({ code: 'custom', message: `${m[1]} is given twice` });
      return z.NEVER;
    }
    out[m[1] as Role] = Number(m[2]);
  }
  return out;
});

const RULE_PART = /^(lot|min|tick)=(\d+(\.\d+)?([eE][-+]?\d+)?)$/;
/** `SYMBOL:lot=1:min=1:tick=0.01` entries: each symbol's lot size, minimum quantity and tick size. */
const symbolRules = list.transform((entries, ctx) => {
  const rules: Record<string, { lotSize?: number; minQty?: number; tickSize?: number }> = {};
  for (const entry of entries) {
    const [symbol, ...parts] = entry.split(':');
    const rule: { lotSize?: number; minQty?: number; tickSize?: number } = {};
    for (const part of parts) {
      const m = RULE_PART.exec(part.trim());
      const value = m ? Number(m[2]) : Number.NaN;
      if (!m || !(value <= 1e12) || (m[1] !== 'min' && !(value >= 1e-12))) {
        ctx.addIssue({
          code: 'custom',
          message: `${entry}: "${part}" is not lot=STEP, min=QTY or tick=STEP (a step from 1e-12 to 1e12)`,
        });
        return z.NEVER;
      }
      if (m[1] === 'lot') rule.lotSize = value;
      else if (m[1] === 'min') rule.minQty = value;
      else rule.tickSize = value;
    }
    if (!symbol || !/^[A-Za-z0-9._/-]{1,64}$/.test(symbol.trim()) || parts.length === 0) {
      ctx.addIssue({ code: 'custom', message: `${entry}: expected SYMBOL:lot=STEP:min=QTY:tick=STEP` });
      return z.NEVER;
    }
    rules[symbol.trim()] = rule;
  }
  return rules;
});

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const configKeys = {
  SEXTANT_INSTANCE: def({
    schema: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/),
    expected: 'letters, digits, - or _ (1-40)',
    doc: 'Instance name; part of every message source (<agent>/<instance>) and of the checkpoint key. auto: the host name (replicas of a scaled service).',
    default: '1',
  }),
  LOG_LEVEL: def({
    schema: z.enum(LOG_LEVELS),
    expected: LOG_LEVELS.join(' | '),
    doc: 'pino log level.',
    default: 'info',
  }),
  LOG_FORMAT: def<'auto' | 'json' | 'pretty'>({
    schema: z.enum(['auto', 'json', 'pretty']),
    expected: 'auto | json | pretty',
    doc: 'How sextant start writes to the terminal. auto: pretty on a terminal (a banner, one line per decision, readable log lines), JSON lines otherwise (a log collector).',
    default: 'auto',
  }),
  PORT: def({
    schema: int(0, 65535),
    expected: 'an integer from 0 to 65535',
    doc: 'HTTP API port of sextant start; 0 serves no API (batch runs, tests).',
    default: 3000,
  }),
  API_HOST: def({
    schema: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9.:-]+$/, 'a host name or an IP address'),
    expected: 'a host name or IP address, e.g. 127.0.0.1 or 0.0.0.0',
    doc: 'Address the HTTP API listens on. Unset: 127.0.0.1 when the API uses the local admin token a first start makes (no SEXTANT_API_TOKENS), every interface otherwise.',
  }),
  SEXTANT_API_TOKENS: def<{ token: string; role: 'viewer' | 'operator' | 'admin' }[]>({
    schema: list
      .pipe(
        z.array(
          z
            .string()
            .regex(
              /^[^:\s]{16,}:(viewer|operator|admin)$/,
              'each entry is token:role, the token at least 16 characters, the role viewer, operator or admin',
            ),
        ),
      )
      .transform((entries) =>
        entries.map((e) => ({
          token: e.slice(0, e.lastIndexOf(':')),
          role: e.slice(e.lastIndexOf(':') + 1) as 'viewer' | 'operator' | 'admin',
        })),
      ),
    expected: 'comma-separated token:role entries (role viewer, operator or admin; tokens of 16+ characters)',
    doc: 'HTTP API bearer tokens. Viewers read, operators trade and halt, admins change limits. Empty: sextant start and sextant api make one local admin token (SEXTANT_DATA_DIR/api-token, owner-only) and listen on 127.0.0.1 unless API_HOST is set.',
    secret: 'value',
    default: [],
  }),
  API_METRICS_OPEN: def({
    schema: bool,
    expected: 'true | false',
    doc: 'Serve /metrics without a token (Prometheus scraping inside the deployment).',
    default: true,
  }),
  METRICS_PORT: def({
    schema: int(0, 65535),
    expected: 'an integer from 0 to 65535; 0 = off',
    doc: 'A process that serves no HTTP API (sextant agent, recorder, bots; start with PORT=0) serves Prometheus /metrics and /health on this port, on every interface, without a token: its own handler latencies, bus counters and dead letters. Keep the port inside the deployment. The API process has /metrics on PORT.',
    default: 0,
  }),
  API_RATE_LIMIT_PER_MINUTE: def({
    schema: int(0),
    expected: 'requests per minute per token; 0 = unlimited',
    doc: 'HTTP API rate limit per token (429 with Retry-After past it).',
    default: 600,
  }),
  API_CORS_ORIGINS: def<string[]>({
    schema: list,
    expected: 'comma-separated origins, e.g. https://desk.example.com',
    doc: 'Origins allowed by CORS; empty (default) turns CORS off.',
    default: [],
  }),
  OPENAI_API_KEY: def({
    schema: z.string().min(1),
    expected: 'an API key',
    doc: "The conversational agent's model key (any OpenAI-compatible server). Unset: the offline intent parser answers.",
    secret: 'value',
  }),
  OPENAI_MODEL: def({
    schema: z.string().min(1).max(100),
    expected: 'a model name',
    doc: 'Chat model of the conversational agent.',
    default: 'gpt-4o-mini',
  }),
  OPENAI_BASE_URL: def({
    schema: url(['http:', 'https:']),
    expected: 'http(s)://host/v1',
    doc: 'OpenAI-compatible server; unset means api.openai.com.',
  }),
  CHAT_TOKENS_PER_DAY: def({
    schema: int(0),
    expected: 'tokens per UTC day',
    doc: "The conversational agent's daily token budget (over all conversations); past it the offline parser answers.",
    default: 200_000,
  }),
  CHAT_TOKENS_PER_PERSON_PER_DAY: def<Partial<Record<Role, number>>>({
    schema: roleAmounts,
    expected: 'role=tokens entries (viewer, operator, admin), or one number for every role',
    doc: "Tokens one person may spend on the conversational agent per UTC day, by their role (0: that role gets the offline parser only; a role not named: only the shared budgets limit it). Past it that person's questions go to the offline parser; others still get answers.",
    default: { viewer: 20_000, operator: 50_000, admin: 100_000 },
  }),
  CHAT_TOKENS_PER_ROLE_PER_DAY: def<Partial<Record<Role, number>>>({
    schema: roleAmounts,
    expected: 'role=tokens entries (viewer, operator, admin), or one number for every role',
    doc: 'Tokens all people of a role together may spend per UTC day (a role not named: only CHAT_TOKENS_PER_DAY), so that many viewers cannot spend the day for the operators either.',
    default: { viewer: 100_000 },
  }),
  CHAT_USD_PER_DAY: def({
    schema: dec(0),
    expected: 'US dollars per UTC day',
    doc: "The conversational agent's daily cost budget; past it the offline parser answers.",
    default: 2,
  }),
  CHAT_USD_PER_MILLION_PROMPT: def({
    schema: dec(0),
    expected: 'US dollars per million prompt tokens',
    doc: 'Price of prompt tokens (for the cost budget and metrics).',
    default: 0.15,
  }),
  CHAT_USD_PER_MILLION_COMPLETION: def({
    schema: dec(0),
    expected: 'US dollars per million completion tokens',
    doc: 'Price of completion tokens.',
    default: 0.6,
  }),
  CHAT_MEMORY_MESSAGES: def({
    schema: int(0, 200),
    expected: 'messages, 0-200',
    doc: 'Earlier messages of a conversation the model sees.',
    default: 20,
  }),
  TELEGRAM_BOT_TOKEN: def({
    schema: z.string().regex(/^\d+:[\w-]{20,}$/, 'a bot token from @BotFather (digits:letters)'),
    expected: '123456:ABC-... from @BotFather',
    doc: 'Enables the Telegram bot (long polling).',
    secret: 'value',
  }),
  TELEGRAM_WEBHOOK_URL: def({
    schema: url(['https:', 'http:']),
    expected: 'the public https URL Telegram posts updates to, e.g. https://sextant.example.com/telegram/webhook',
    doc: "Telegram webhook mode instead of long polling: the HTTP API serves POST on this URL's path and the bot registers the URL with setWebhook (needs PORT).",
  }),
  TELEGRAM_WEBHOOK_SECRET: def({
    schema: z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, '16-256 characters of A-Z, a-z, 0-9, _ and -'),
    expected: '16-256 characters of A-Z a-z 0-9 _ -',
    doc: 'Webhook mode: the secret Telegram sends in X-Telegram-Bot-Api-Secret-Token; requests without it are refused (401).',
    secret: 'value',
  }),
  TELEGRAM_API_ROOT: def({
    schema: url(['http:', 'https:']),
    expected: 'http(s)://host:port',
    doc: 'Telegram Bot API address (a self-hosted Bot API server; tests).',
  }),
  TELEGRAM_ALLOWED_USERS: def<{ id: string; role: 'viewer' | 'operator' | 'admin' }[]>({
    schema: idRoles('Telegram user id'),
    expected: 'comma-separated userId:role entries (role viewer, operator or admin)',
    doc: 'Telegram users the bot obeys, with their roles; everyone else gets one polite refusal.',
    default: [],
  }),
  TELEGRAM_GROUPS: def<{ id: string; role: 'viewer' | 'operator' | 'admin' }[]>({
    schema: idRoles('Telegram chat id'),
    expected: 'comma-separated chatId:role entries',
    doc: 'Group chats given a role; other groups are read-only.',
    default: [],
  }),
  TELEGRAM_RATE_LIMIT_PER_MINUTE: def({
    schema: int(1),
    expected: 'messages per minute per user',
    doc: 'Telegram: per-user rate limit.',
    default: 30,
  }),
  DISCORD_TOKEN: def({
    schema: z.string().min(20),
    expected: 'a Discord bot token',
    doc: 'Enables the Discord bot (with DISCORD_APPLICATION_ID).',
    secret: 'value',
  }),
  DISCORD_APPLICATION_ID: def({
    schema: z.string().regex(/^\d{5,25}$/),
    expected: 'the application (client) id',
    doc: 'Discord application id (slash command registration).',
  }),
  DISCORD_GUILD_ID: def({
    schema: z.string().regex(/^\d{5,25}$/),
    expected: 'a guild (server) id',
    doc: 'Register slash commands in this guild only (development); unset registers them globally.',
  }),
  DISCORD_ALLOWED_USERS: def<{ id: string; role: 'viewer' | 'operator' | 'admin' }[]>({
    schema: idRoles('Discord user id'),
    expected: 'comma-separated userId:role entries',
    doc: 'Discord users the bot obeys, with their roles.',
    default: [],
  }),
  DISCORD_ROLE_MAP: def<{ id: string; role: 'viewer' | 'operator' | 'admin' }[]>({
    schema: idRoles('Discord role id'),
    expected: 'comma-separated discordRoleId:role entries',
    doc: 'Discord roles mapped to Sextant roles.',
    default: [],
  }),
  DISCORD_NOTIFY_CHANNEL_ID: def({
    schema: z.string().regex(/^\d{5,25}$/),
    expected: 'a channel id',
    doc: 'Discord channel that receives notifications (fills, refusals, risk state, daily digest).',
  }),
  NATS_URL: def({
    schema: url(['nats:', 'tls:', 'ws:', 'wss:']),
    expected: 'nats://host:port (comma-separated for a cluster)',
    doc: 'NATS server(s). Unset: the in-memory bus (single process).',
    secret: 'url',
  }),
  NATS_USER: def({
    schema: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
    expected: 'a NATS user name (letters, digits, - or _), e.g. risk',
    doc: "The NATS user this process connects as: in a deployment, its role's (deploy/nats/nats.conf: data, sentiment, strategy, risk, execution, portfolio, recorder, api, bots; admin for tools). Needs NATS_PASSWORD or NATS_PASSWORD_FILE. Unset: no user (a server without authorization, tests).",
  }),
  NATS_PASSWORD: def({
    schema: z.string().min(1).max(1024),
    expected: "the NATS user's password",
    doc: 'Password of NATS_USER (or NATS_PASSWORD_FILE: the password in a file, such as a mounted secret).',
    secret: 'value',
  }),
  NATS_PASSWORD_FILE: def({
    schema: z.string().min(1),
    expected: 'a file path (e.g. /run/secrets/nats-password)',
    doc: 'A file holding the password of NATS_USER (a Docker or Kubernetes secret); read at start-up, surrounding whitespace ignored.',
  }),
  NATS_CREDS: def({
    schema: z.string().min(1),
    expected: 'a .creds file path',
    doc: 'A NATS credentials file (user JWT and nkey seed, made with nsc) for a server run in operator mode; instead of NATS_USER.',
  }),
  NATS_NKEY_SEED_FILE: def({
    schema: z.string().min(1),
    expected: 'a file path holding an nkey user seed (SU...)',
    doc: 'A file holding the nkey seed this process signs in with (the server lists its public key); instead of NATS_USER.',
  }),
  MONGODB_URI: def({
    schema: url(['mongodb:', 'mongodb+srv:']),
    expected: 'mongodb://user:pass@host:27017/db',
    doc: 'MongoDB. Unset: the embedded store under SEXTANT_DATA_DIR.',
    secret: 'url',
  }),
  SEXTANT_DATA_DIR: def({
    schema: z.string().min(1),
    expected: 'a directory path',
    doc: 'Where the embedded store lives: sextant.db (SQLite) and snapshots/ (a single-agent process, sextant agent <name>, uses its agent-<name> subdirectory).',
    default: './data',
  }),
  STORE: def<'auto' | 'embedded' | 'mongodb' | 'off'>({
    schema: z.enum(['auto', 'embedded', 'mongodb', 'off']),
    expected: 'auto | embedded | mongodb | off',
    doc: 'Persistence: auto = MongoDB when MONGODB_URI is set, else the embedded store; off keeps nothing (demos, tests).',
    default: 'auto',
  }),
  MONGODB_DB: def({
    schema: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/),
    expected: 'a database name (letters, digits, - or _)',
    doc: 'MongoDB database; defaults to the one in MONGODB_URI, else sextant.',
  }),
  MONGODB_WRITE_CONCERN: def<'majority' | number>({
    schema: z.union([z.literal('majority'), int(0, 50)]),
    expected: 'majority or a number of nodes',
    doc: 'MongoDB write concern (journaled).',
    default: 'majority',
  }),
  RECORDING_JETSTREAM: def({
    schema: bool,
    expected: 'true | false',
    doc: 'On NATS: a SEXTANT_RECORDING stream captures every Sextant subject (export with `sextant record export`, replay with `sextant replay stream:SEXTANT_RECORDING`). The recorder then reads the event log from it through a durable consumer (nothing lost across its restarts), and a restarted risk, portfolio or strategy agent replays its input after its checkpoint from it. The compose file and the Helm chart set it.',
    default: false,
  }),
  RECORDING_MAX_AGE_MS: def({
    schema: int(60_000),
    expected: 'milliseconds',
    doc: 'How long the JetStream recording keeps messages.',
    default: 7 * 86_400_000,
  }),
  RECORDING_MAX_BYTES: def({
    schema: int(1_000_000),
    expected: 'bytes',
    doc: 'Most bytes the JetStream recording keeps (oldest dropped first).',
    default: 10 * 1024 ** 3,
  }),
  RECORDING_DIR: def({
    schema: z.string().min(1),
    expected: 'a directory path',
    doc: 'When set, `sextant start` writes an NDJSON recording (gzip) of every bus message to <dir>/<run>-<time>.ndjson.gz, for `sextant replay --verify`.',
  }),
  STORE_RECORD: def<'auto' | 'on' | 'off'>({
    schema: z.enum(['auto', 'on', 'off']),
    expected: 'auto | on | off',
    doc: 'Write every bus message to the event log from this process. auto: yes, except in a single-agent process on NATS (run one recorder per deployment).',
    default: 'auto',
  }),
  STORE_FSYNC: def<'always' | 'interval' | 'never'>({
    schema: z.enum(['always', 'interval', 'never']),
    expected: 'always | interval | never',
    doc: 'Embedded store (SQLite, WAL): always = synchronous FULL (every commit fsynced); interval = NORMAL plus a checkpoint at most STORE_FSYNC_INTERVAL_MS after a write (writes survive a process crash at once, a power loss after the interval); never = OFF (the OS decides).',
    default: 'interval',
  }),
  STORE_FSYNC_INTERVAL_MS: def({
    schema: int(1, 60_000),
    expected: 'milliseconds',
    doc: 'Embedded store: longest time between a write and its fsync with STORE_FSYNC=interval.',
    default: 1000,
  }),
  STORE_CHECKPOINT_MS: def({
    schema: int(10, 3_600_000),
    expected: 'milliseconds',
    doc: 'How often agent snapshots are saved (at a consistent point); a restart resumes from the last one.',
    default: 1000,
  }),
  STORE_BUFFER_MAX: def({
    schema: int(100),
    expected: 'a number of events',
    doc: 'Events held in memory while the store is unreachable before the STORE_OVERFLOW alarm.',
    default: 100_000,
  }),
  STORE_FAILURE_STATE: def<'HALTED' | 'REDUCING'>({
    schema: z.enum(['HALTED', 'REDUCING']),
    expected: 'HALTED | REDUCING',
    doc: 'Where trading goes while the store does not take writes (checkpoints, the event log); it resumes by itself when writes succeed again.',
    default: 'HALTED',
  }),
  STORE_OVERFLOW: def<'backpressure' | 'halt'>({
    schema: z.enum(['backpressure', 'halt']),
    expected: 'backpressure | halt',
    doc: 'When the store buffer fills: pause the data feed until it drains, or trip the risk kill switch. Nothing is dropped either way.',
    default: 'backpressure',
  }),
  SEXTANT_ALLOW_UNKNOWN_ENV: def({
    schema: bool,
    expected: 'true or false',
    doc: 'Let environment variables with a Sextant prefix (RISK_, EXEC_, DATA_, STRATEGY_, SEXTANT_, ...) that are no Sextant key pass (a shared environment); by default they stop start-up as likely typos.',
    default: false,
  }),
  SEXTANT_NAMESPACE: def({
    schema: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,39}$/),
    expected: 'a letter, then letters, digits, - or _ (1-40)',
    doc: 'Subject namespace: every subject gets this prefix and its own JetStream stream (SEXTANT_<namespace>). Unset: no prefix.',
  }),
  BUS_ACK_WAIT_MS: def({
    schema: int(100, 3_600_000),
    expected: 'milliseconds',
    doc: 'Order path (JetStream): how long a delivered, unacknowledged order message waits before it is delivered again (after a crash).',
    default: 30_000,
  }),
  BUS_MAX_PAYLOAD_BYTES: def({
    schema: int(4096, 64 * 1024 * 1024),
    expected: 'an integer number of bytes, at least 4096',
    doc: 'Largest message accepted on the bus; larger publishes fail, larger receipts are dead-lettered.',
    default: 256 * 1024,
  }),
  BUS_REQUEST_TIMEOUT_MS: def({
    schema: int(1, 600_000),
    expected: 'milliseconds, 1-600000',
    doc: 'Default request/reply timeout.',
    default: 5000,
  }),
  HEARTBEAT_INTERVAL_MS: def({
    schema: int(100, 3_600_000),
    expected: 'milliseconds, 100-3600000',
    doc: 'How often each agent publishes agent.health.<name>.',
    default: 5000,
  }),
  PARTITIONED_AGENTS: def<'strategy'[]>({
    schema: list.pipe(z.array(z.enum(['strategy']))),
    expected: 'comma-separated agent names that run as several instances sharing the symbols (strategy)',
    doc: "Over NATS: instances of these agents share the symbols (each symbol's state in exactly one instance at a time; they may join and leave). Every instance needs its own SEXTANT_INSTANCE. Empty: one instance per agent.",
    default: [],
  }),
  PARTITION_TTL_MS: def({
    schema: int(1_000, 3_600_000),
    expected: 'milliseconds, 1000-3600000',
    doc: 'PARTITIONED_AGENTS: an instance not heard of for this long is taken for crashed, and its symbols move to the others without their state (a crashed instance hands nothing over). Longer lets a crashed instance restart under its SEXTANT_INSTANCE and keep its symbols, replaying from the recording stream (RECORDING_JETSTREAM) what it missed; shorter moves them sooner.',
    default: 3000,
  }),
  AGENTS: def<('data' | 'sentiment' | 'strategy' | 'risk' | 'execution' | 'portfolio')[]>({
    schema: list.pipe(z.array(z.enum(['data', 'sentiment', 'strategy', 'risk', 'execution', 'portfolio']))),
    expected: 'comma-separated agent names (data,sentiment,strategy,risk,execution,portfolio)',
    doc: 'Agents run by `sextant start`. Unset: data,strategy,risk,execution,portfolio, and sentiment too when it has news to read (SENTIMENT_NEWS_FILE or SENTIMENT_RSS_URLS).',
  }),

  DATA_FEED: def({
    schema: z.enum(['synthetic', 'csv', 'ndjson', 'ccxt', 'alpaca']),
    expected: 'synthetic | csv | ndjson | ccxt | alpaca',
    doc: "Market data source for the data agent. ccxt: live closed candles from CCXT_EXCHANGE's public market data (no API key) for the CCXT_SYMBOLS pairs, warmed up by REST (DATA_WARMUP_BARS). alpaca: live minute bars of US equities (ALPACA_SYMBOLS) from Alpaca's market-data stream (ALPACA_DATA_FEED), warmed up by REST; needs ALPACA_KEY_ID and ALPACA_SECRET_KEY.",
    default: 'synthetic',
  }),
  DATA_TIMEFRAME: def({
    schema: z.string().regex(/^[1-9][0-9]*[smhdwM]$/),
    expected: 'a ccxt timeframe, e.g. 1m, 5m, 1h, 1d',
    doc: 'DATA_FEED=ccxt: the candle length, one for every symbol. DATA_FEED=alpaca: 1m only (the stream sends minute bars).',
    default: '1m',
  }),
  DATA_WARMUP_BARS: def({
    schema: int(0, 1000),
    expected: 'a whole number of candles, 0..1000',
    doc: 'DATA_FEED=ccxt|alpaca: closed candles fetched by REST at start, per symbol, and published as history: strategies warm up on them and decide no order.',
    default: 200,
  }),
  DATA_GRACE_MS: def({
    schema: int(0, 3_600_000),
    expected: 'milliseconds',
    doc: "DATA_FEED=ccxt: after a candle's end, how long to wait for the next candle before asking REST whether it closed (a quiet market).",
    default: 5000,
  }),
  DATA_FILE: def({
    schema: z.string().min(1),
    expected: 'a file path',
    doc: 'CSV or NDJSON file for DATA_FEED=csv|ndjson.',
  }),
  DATA_CSV_MAP: def({
    schema: z.string().min(1),
    expected: 'a file path',
    doc: "DATA_FEED=csv: a mapping file (YAML or JSON: separator, header, columns, timeFormat, clockFormat, decimal) for a CSV whose header is not recognised by itself; the same as sextant backtest's --csv-map (README, CSV input).",
  }),
  DATA_SYMBOLS: def({
    schema: list.pipe(z.array(z.string().min(1).max(64)).min(1)),
    expected: 'comma-separated symbols, e.g. SYN,ACME',
    doc: 'Symbols of the synthetic feed; the symbol of a CSV file.',
    default: ['SYN'],
  }),
  DATA_LENIENT: def({
    schema: bool,
    expected: 'true | false',
    doc: 'Skip (and count) bad rows in files (market data and news) instead of stopping.',
    default: false,
  }),
  DATA_PACE_MS: def({
    schema: int(0, 3_600_000),
    expected: 'milliseconds between bars, 0 = as fast as possible',
    doc: 'Real-time pacing of the synthetic feed (and of file feeds when set).',
    default: 250,
  }),
  DATA_MAX_GAP_MS: def({
    schema: int(1),
    expected: 'milliseconds',
    doc: "Largest step in time from a symbol's previous bar; a later bar is refused (dead-lettered) as far in the future.",
    default: 30 * 86_400_000,
  }),
  DATA_PRICE_BAND: def({
    schema: dec(0.000001),
    expected: 'a fraction, e.g. 0.5 for 50%',
    doc: 'Price band: a bar moving further than this from the last close is held back (dead-lettered) until DATA_CONFIRM_BARS bars in a row confirm the new level, or an operator accepts it (the accept-price command: the next bar beyond the band is published).',
    default: 0.5,
  }),
  DATA_CONFIRM_BARS: def({
    schema: int(1, 100),
    expected: 'a whole number of bars',
    doc: 'Bars beyond DATA_PRICE_BAND, in a row and agreeing with each other, that make a genuine jump (the last of them is published).',
    default: 2,
  }),
  SYNTHETIC_SEED: def({
    schema: int(0),
    expected: 'a non-negative integer',
    doc: 'Seed of the synthetic GBM feed.',
    default: 42,
  }),
  SYNTHETIC_START_PRICE: def({
    schema: dec(0.0001),
    expected: 'a positive price',
    doc: 'First price of each synthetic symbol.',
    default: 100,
  }),
  SYNTHETIC_DRIFT: def({
    schema: dec(-10, 10),
    expected: 'annualised drift, e.g. 0.05',
    doc: 'GBM drift per year.',
    default: 0.05,
  }),
  SYNTHETIC_VOLATILITY: def({
    schema: dec(0, 10),
    expected: 'annualised volatility, e.g. 0.3',
    doc: 'GBM volatility per year.',
    default: 0.3,
  }),
  SYNTHETIC_BAR_MS: def({
    schema: int(1000),
    expected: 'milliseconds of market time per bar',
    doc: 'Bar length of the synthetic feed (event time). With DATA_PACE_MS it sets how fast market time runs: 1000 and 250 run it at 4x the wall clock (a market day in 6 hours).',
    default: 1000,
  }),

  STRATEGY: def({
    schema: z
      .string()
      .trim()
      .min(1)
      .refine((v) => v in builtinStrategies || isStrategyPath(v), {
        message: `a built-in (${Object.keys(builtinStrategies).join(', ')}) or the path of a strategy file (./strategies/my-strategy.ts)`,
      }),
    expected: `${Object.keys(builtinStrategies).join(' | ')} | a path to a strategy file`,
    doc: 'Strategy run by the strategy agent: a built-in by name, or a strategy file by path (see docs/strategies.md). `sextant strategy list` shows each with its parameters.',
    default: 'sma-cross',
  }),
  STRATEGIES_FILE: def({
    schema: z.string().trim().min(1),
    expected: 'a YAML or JSON file path',
    doc: 'Several strategy instances in one strategy agent: a file of entries with id, strategy (a built-in or a file path, relative to this file), symbols, params and optional capital (docs/strategies.md). When set, the STRATEGY* keys are not used.',
  }),
  STRATEGY_PARAMS: def<Record<string, string>>({
    schema: list.pipe(
      z
        .array(z.string().regex(/^[A-Za-z][A-Za-z0-9_]*=.+$/, 'each entry is name=value'))
        .transform((a) => Object.fromEntries(a.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]))),
    ),
    expected: 'comma-separated name=value entries, e.g. fast=12,slow=26,stopLoss=0.05',
    doc: "The strategy's parameters (checked against its schema at start; `sextant strategy list` names them). They override STRATEGY_FAST, STRATEGY_SLOW, STRATEGY_SIZE and the RSI_* keys, which still set sma-cross and rsi-reversion.",
    default: {},
  }),
  STRATEGY_FAST: def({
    schema: int(1, 10_000),
    expected: 'bars, 1-10000',
    doc: 'sma-cross: fast SMA length.',
    default: 10,
  }),
  STRATEGY_SLOW: def({
    schema: int(2, 10_000),
    expected: 'bars, 2-10000',
    doc: 'sma-cross: slow SMA length.',
    default: 30,
  }),
  STRATEGY_SIZE: def<number | string>({
    schema: z
      .union([
        z.number().positive(),
        z
          .string()
          .trim()
          .regex(/^(?!0+(\.0+)?%?$)(\d+(\.\d+)?%|\d+(\.\d+)?([eE][-+]?\d+)?)$/, 'a positive quantity or a percentage'),
      ])
      .refine(
        (v) => typeof v === 'number' || !v.endsWith('%') || Number(v.slice(0, -1)) <= 100,
        'a percentage of at most 100%',
      ),
    expected: 'a positive quantity (units), or a percentage of equity, e.g. 10%',
    doc: "Order size of strategy entries: units, or a percentage of the strategy's equity at the entry bar's close (whole units when that buys one or more, else a fraction to 6 decimals, e.g. for a coin).",
    default: 100,
  }),
  RSI_PERIOD: def({ schema: int(2, 1000), expected: 'bars, 2-1000', doc: 'rsi-reversion: RSI period.', default: 14 }),
  RSI_OVERSOLD: def({ schema: dec(0, 100), expected: '0-100', doc: 'rsi-reversion: buy below this RSI.', default: 30 }),
  RSI_OVERBOUGHT: def({
    schema: dec(0, 100),
    expected: '0-100',
    doc: 'rsi-reversion: sell above this RSI.',
    default: 70,
  }),
  STRATEGY_PLOT: def({
    schema: bool,
    expected: 'true | false',
    doc: "Each strategy publishes the lines of its indicators (its plot: e.g. sma-cross's two SMAs) per bar on strategy.plotted.<sym>, for the dashboard's price chart. One small message per bar and strategy; false saves it.",
    default: true,
  }),
  STRATEGY_SENTIMENT_MIN: def({
    schema: dec(-1, 1),
    expected: 'a sentiment from -1 to 1, e.g. 0.1',
    doc: "Sentiment filter: when set, the strategy only buys while the symbol's sentiment (sentiment.updated.<sym>, decayed to the bar's time; 0 without news) is above it. Sells are never held back. Unset: no filter.",
  }),

  SENTIMENT_SCORER: def<'default' | 'llm'>({
    schema: z.enum(['default', 'llm']),
    expected: 'default | llm',
    doc: 'How the sentiment agent scores news: the deterministic finance lexicon, or a chat model (OPENAI_API_KEY, OPENAI_MODEL, OPENAI_BASE_URL) that falls back to it when over budget, failing or answering outside the schema.',
    default: 'default',
  }),
  SENTIMENT_HALF_LIFE_MS: def({
    schema: int(1_000),
    expected: 'milliseconds of event time',
    doc: "A symbol's sentiment halves after this long without news.",
    default: 86_400_000,
  }),
  SENTIMENT_SYMBOL_MAP: def<string[]>({
    schema: list.pipe(
      z.array(z.string().regex(/^[^=]+=[A-Za-z0-9][A-Za-z0-9.\-/:_]{0,63}$/, 'each entry is Name=SYMBOL')),
    ),
    expected: 'comma-separated Name=SYMBOL entries, e.g. Oracle=ORCL,Oracle Corp=ORCL',
    doc: "Company names and aliases that tag news with a symbol (whole words, as written or in capitals); explicit tickers ($ORCL) and an item's own symbols always count.",
    default: [],
  }),
  SENTIMENT_NEWS_FILE: def({
    schema: z.string().min(1),
    expected: 'a file path (.csv, else NDJSON)',
    doc: 'News the sentiment agent publishes on news.item at start: NDJSON or CSV with headline, time and optionally body, source, url, symbols. Bad lines stop start-up naming file and line (DATA_LENIENT=true skips them).',
  }),
  SENTIMENT_RSS_URLS: def<string[]>({
    schema: list.pipe(z.array(url(['http:', 'https:']))),
    expected: 'comma-separated http(s) URLs of RSS or Atom feeds',
    doc: 'Feeds the sentiment agent polls for news (live use).',
    default: [],
  }),
  SENTIMENT_RSS_POLL_MS: def({
    schema: int(5_000, 86_400_000),
    expected: 'milliseconds, 5000-86400000',
    doc: 'How often each RSS/Atom feed is read.',
    default: 300_000,
  }),
  SENTIMENT_LLM_TOKENS_PER_DAY: def({
    schema: int(0),
    expected: 'tokens per UTC day',
    doc: 'Daily token budget of the LLM scorer (with SENTIMENT_SCORER=llm); past it the default scorer scores (fails closed).',
    default: 100_000,
  }),
  SENTIMENT_RECENT_ITEMS: def({
    schema: int(1, 50),
    expected: 'items, 1-50',
    doc: 'Items named with each published sentiment (the newest that moved it), so a person can ask why.',
    default: 10,
  }),

  RISK_MAX_POSITION_QTY: def({
    schema: dec(0),
    expected: 'a non-negative quantity',
    doc: 'Largest absolute position per symbol.',
    default: 10_000,
  }),
  RISK_MAX_POSITION_NOTIONAL: def({
    schema: dec(0),
    expected: 'a non-negative amount',
    doc: 'Largest absolute position value per symbol (qty x price).',
    default: 1_000_000,
  }),
  RISK_MAX_ORDER_NOTIONAL: def({
    schema: dec(0),
    expected: 'a non-negative amount',
    doc: 'Largest notional of one order.',
    default: 1_000_000,
  }),
  RISK_MAX_GROSS_EXPOSURE: def({
    schema: dec(0),
    expected: 'a non-negative amount',
    doc: 'Largest sum over symbols of |position x price|.',
    default: 2_000_000,
  }),
  RISK_MAX_OPEN_ORDERS: def({
    schema: int(0),
    expected: 'a whole number',
    doc: 'Most orders approved and not yet finished at once.',
    default: 50,
  }),
  RISK_MAX_ORDERS_PER_WINDOW: def({
    schema: int(0),
    expected: 'a whole number',
    doc: 'Most approvals per RISK_RATE_WINDOW_MS over all symbols.',
    default: 120,
  }),
  RISK_MAX_ORDERS_PER_WINDOW_PER_SYMBOL: def({
    schema: int(0),
    expected: 'a whole number',
    doc: 'Most approvals per RISK_RATE_WINDOW_MS for one symbol.',
    default: 30,
  }),
  RISK_RATE_WINDOW_MS: def({
    schema: int(1),
    expected: 'milliseconds of event time',
    doc: 'Sliding window of the order-rate limits.',
    default: 60_000,
  }),
  RISK_MAX_DAILY_LOSS: def({
    schema: dec(0),
    expected: 'a non-negative amount',
    doc: 'Loss since the start of the UTC day that trips RISK_BREACH_STATE.',
    default: 5_000,
  }),
  RISK_MAX_DRAWDOWN: def({
    schema: dec(0, 1),
    expected: 'a fraction 0-1, e.g. 0.2',
    doc: 'Fall from peak equity that trips RISK_BREACH_STATE.',
    default: 0.2,
  }),
  RISK_PRICE_BAND: def({
    schema: dec(0.000001),
    expected: 'a fraction, e.g. 0.1 for 10%',
    doc: 'How far a limit or stop price may be from the last trade (fat finger).',
    default: 0.1,
  }),
  RISK_ALLOWED_SYMBOLS: def<string[]>({
    schema: list,
    expected: 'comma-separated symbols; empty allows all',
    doc: 'When set, only these symbols may trade.',
    default: [],
  }),
  RISK_BREACH_STATE: def<'REDUCING' | 'HALTED'>({
    schema: z.enum(['REDUCING', 'HALTED']),
    expected: 'REDUCING | HALTED',
    doc: 'Where a daily-loss or drawdown breach takes trading.',
    default: 'REDUCING',
  }),
  RISK_MAX_LEVERAGE: def({
    schema: dec(1),
    expected: 'a number >= 1 (1 = a cash account)',
    doc: 'Buying power as a multiple of equity: an order that grows exposure needs maxLeverage x equity, less exposure held or reserved by open orders and their fees. 1 refuses a buy the cash (after open orders) does not cover.',
    default: 1,
  }),
  RISK_MAX_BAR_AGE_BARS: def({
    schema: int(0, 100_000),
    expected: 'a whole number of bar lengths, 0 = off',
    doc: "Stale market data: an order that grows a position is refused (stale_market_data) when its symbol's last bar closed more than this many bar lengths before it was decided. Unset: 3 with a live feed (DATA_FEED=ccxt or alpaca), off otherwise.",
  }),
  RISK_ALLOW_SHORT: def({
    schema: bool,
    expected: 'true | false',
    doc: 'Whether sells may open or grow a short position.',
    default: false,
  }),
  RISK_LOT_SIZE: def({
    schema: dec(1e-12, 1e12),
    expected: 'a quantity step, e.g. 0.00001',
    doc: 'Quantity step of a symbol without a rule in RISK_SYMBOL_RULES: risk refuses an order that is not a whole number of lots (lot_size), unless it closes a whole position.',
    default: 1e-8,
  }),
  RISK_MIN_QTY: def({
    schema: dec(0, 1e12),
    expected: 'a quantity',
    doc: 'Smallest quantity of one order for a symbol without a rule in RISK_SYMBOL_RULES (below_min_qty), unless it closes a whole position.',
    default: 1e-6,
  }),
  RISK_TICK_SIZE: def({
    schema: dec(1e-12, 1e12),
    expected: 'a price step, e.g. 0.01',
    doc: 'Price step of limit and stop prices for a symbol without a rule in RISK_SYMBOL_RULES (tick_size). Unset: any price.',
  }),
  RISK_SYMBOL_RULES: def<Record<string, { lotSize?: number; minQty?: number; tickSize?: number }>>({
    schema: symbolRules,
    expected:
      'comma-separated SYMBOL:lot=STEP:min=QTY:tick=STEP entries (each part optional), e.g. ORCL:lot=1:tick=0.01',
    doc: "Each symbol's lot size, minimum order quantity and tick size (what is left out takes RISK_LOT_SIZE, RISK_MIN_QTY, RISK_TICK_SIZE). With BROKER=ccxt the venue's market precision and limits are used where the venue gives them. A strategy without its own lotSizes rounds its sizes to these lots.",
    default: {},
  }),

  EXEC_FEE_BPS: def({
    schema: dec(0, 10_000),
    expected: 'basis points of notional',
    doc: 'Paper broker fee.',
    default: 0,
  }),
  EXEC_FEE_PER_SHARE: def({
    schema: dec(0),
    expected: 'an amount per unit',
    doc: 'Paper broker fee per unit.',
    default: 0,
  }),
  EXEC_FEE_MIN: def({
    schema: dec(0),
    expected: 'an amount per fill',
    doc: 'Paper broker minimum fee per fill.',
    default: 0,
  }),
  EXEC_MAX_PARTICIPATION: def({
    schema: dec(0, 1),
    expected: 'a fraction 0-1; 0 = no limit',
    doc: "Paper broker: largest fraction of a bar's volume one order may take (the rest fills later: partial fills).",
    default: 0,
  }),
  EXEC_SLIPPAGE_BPS: def({
    schema: dec(0, 10_000),
    expected: 'basis points',
    doc: 'Paper broker slippage against the order (buys pay more).',
    default: 0,
  }),

  EXEC_RETRY_ATTEMPTS: def({
    schema: int(1, 20),
    expected: 'attempts in all, 1-20',
    doc: 'Broker calls: attempts per order submit (exponential backoff with jitter between them).',
    default: 4,
  }),
  EXEC_RETRY_BASE_MS: def({
    schema: int(1, 60_000),
    expected: 'milliseconds',
    doc: 'Broker calls: first backoff; doubles per attempt (full jitter).',
    default: 50,
  }),
  EXEC_CALL_TIMEOUT_MS: def({
    schema: int(1, 600_000),
    expected: 'milliseconds',
    doc: 'Broker calls: timeout of one call.',
    default: 5_000,
  }),
  EXEC_BREAKER_FAILURES: def({
    schema: int(1, 1_000),
    expected: 'a whole number',
    doc: 'Broker calls: consecutive failures that open the circuit breaker.',
    default: 5,
  }),
  EXEC_BREAKER_COOLDOWN_MS: def({
    schema: int(1, 3_600_000),
    expected: 'milliseconds',
    doc: 'Broker calls: how long the breaker stays open before a probe.',
    default: 10_000,
  }),
  PAPER_FAIL_RATE: def({
    schema: dec(0, 1),
    expected: 'a fraction 0-1',
    doc: 'Paper broker fault mode: share of submit calls that fail (tests, drills).',
    default: 0,
  }),
  PAPER_LATENCY_MS: def({
    schema: int(0, 60_000),
    expected: 'milliseconds',
    doc: 'Paper broker fault mode: most latency added to a submit call (random 0..N).',
    default: 0,
  }),
  BROKER: def<'paper' | 'ccxt' | 'alpaca'>({
    schema: z.enum(['paper', 'ccxt', 'alpaca']),
    expected: 'paper | ccxt | alpaca',
    doc: "Who takes orders: the paper broker (default), a crypto venue through ccxt (testnet unless LIVE_TRADING=true and CCXT_SANDBOX=false), or Alpaca (US equities; Alpaca's paper account unless LIVE_TRADING=true and ALPACA_PAPER=false).",
    default: 'paper',
  }),
  CCXT_EXCHANGE: def({
    schema: z.string().regex(/^[a-z0-9]{2,40}$/),
    expected: 'a ccxt exchange id, e.g. binance',
    doc: 'BROKER=ccxt and DATA_FEED=ccxt: the venue. Only binance spot has been exercised (against a local fake of its API).',
  }),
  CCXT_API_KEY: def({
    schema: z.string().min(1),
    expected: 'the venue API key',
    doc: 'BROKER=ccxt: API key.',
    secret: 'value',
  }),
  CCXT_SECRET: def({
    schema: z.string().min(1),
    expected: 'the venue API secret',
    doc: 'BROKER=ccxt: API secret.',
    secret: 'value',
  }),
  CCXT_SANDBOX: def({
    schema: bool,
    expected: 'true | false',
    doc: 'BROKER=ccxt: use the venue testnet. false trades real money and needs LIVE_TRADING=true.',
    default: true,
  }),
  CCXT_SYMBOLS: def<string[]>({
    schema: list,
    expected: 'comma-separated SEXTANT=VENUE pairs, e.g. BTCUSDT=BTC/USDT',
    doc: 'BROKER=ccxt: Sextant symbol to venue symbol.',
    default: [],
  }),
  CCXT_REST_URL: def({
    schema: z.string().url(),
    expected: 'a URL, e.g. https://gateway.example/api/v3',
    doc: "Points ccxt's REST API (urls.api.public and .private, the binance layout) elsewhere: a proxy, a self-hosted gateway, a test double. Used by DATA_FEED=ccxt and BROKER=ccxt.",
  }),
  CCXT_WS_URL: def({
    schema: z.string().regex(/^wss?:\/\/\S+$/),
    expected: 'a ws:// or wss:// URL',
    doc: "Points ccxt's websocket market streams (urls.api.ws.spot, the binance layout) elsewhere. DATA_FEED=ccxt.",
  }),
  CCXT_TIMEOUT_MS: def({
    schema: int(100, 60_000),
    expected: 'milliseconds',
    doc: 'BROKER=ccxt: timeout of one HTTP call to the venue (keep EXEC_CALL_TIMEOUT_MS above 3x this).',
    default: 1500,
  }),
  ALPACA_KEY_ID: def({
    schema: z.string().min(1),
    expected: 'the Alpaca API key id',
    doc: 'DATA_FEED=alpaca and BROKER=alpaca: API key id (a paper key for the paper account).',
    secret: 'value',
  }),
  ALPACA_SECRET_KEY: def({
    schema: z.string().min(1),
    expected: 'the Alpaca API secret key',
    doc: 'DATA_FEED=alpaca and BROKER=alpaca: API secret key.',
    secret: 'value',
  }),
  ALPACA_SYMBOLS: def<string[]>({
    schema: list,
    expected: 'comma-separated symbols, or SEXTANT=VENUE pairs, e.g. AAPL,MSFT or BRKB=BRK.B',
    doc: 'DATA_FEED=alpaca and BROKER=alpaca: the US equities traded, each a Sextant symbol that is the Alpaca symbol or a SEXTANT=VENUE pair.',
    default: [],
  }),
  ALPACA_DATA_FEED: def<'iex' | 'sip'>({
    schema: z.enum(['iex', 'sip']),
    expected: 'iex | sip',
    doc: "DATA_FEED=alpaca: Alpaca's data feed. iex (free: the IEX exchange only, so minutes without an IEX trade have no bar) or sip (every US exchange; a paid subscription).",
    default: 'iex',
  }),
  ALPACA_PAPER: def({
    schema: bool,
    expected: 'true | false',
    doc: "BROKER=alpaca: trade Alpaca's paper account (paper-api.alpaca.markets). false trades real money at api.alpaca.markets and needs LIVE_TRADING=true.",
    default: true,
  }),
  ALPACA_DATA_URL: def({
    schema: url(['http:', 'https:']),
    expected: 'an http(s) URL, e.g. https://data.alpaca.markets',
    doc: "DATA_FEED=alpaca: Alpaca's market-data REST API (bars) elsewhere: a proxy, a gateway, a test double. Unset: https://data.alpaca.markets.",
  }),
  ALPACA_STREAM_URL: def({
    schema: z.string().regex(/^wss?:\/\/\S+$/),
    expected: 'a ws:// or wss:// URL, e.g. wss://stream.data.alpaca.markets',
    doc: "DATA_FEED=alpaca: Alpaca's market-data websocket elsewhere; /v2/<ALPACA_DATA_FEED> is appended. Unset: wss://stream.data.alpaca.markets.",
  }),
  ALPACA_TRADING_URL: def({
    schema: url(['http:', 'https:']),
    expected: 'an http(s) URL, e.g. https://paper-api.alpaca.markets',
    doc: "Alpaca's trading API elsewhere (orders, and the market calendar DATA_FEED=alpaca reads); its trade-updates websocket is the same host at /stream (ws:// or wss://). Unset: the paper or live host by ALPACA_PAPER.",
  }),
  ALPACA_TIMEOUT_MS: def({
    schema: int(100, 60_000),
    expected: 'milliseconds',
    doc: 'DATA_FEED=alpaca and BROKER=alpaca: timeout of one HTTP call to Alpaca (keep EXEC_CALL_TIMEOUT_MS above it).',
    default: 3000,
  }),
  BROKER_DRILL: def({
    schema: bool,
    expected: 'true | false',
    doc: "Lets BROKER=ccxt or BROKER=alpaca run on a synthetic or file feed, against the venue testnet or Alpaca's paper account only: a drill of the order path. Without it a live broker needs live market data from its own venue.",
    default: false,
  }),
  LIVE_TRADING: def({
    schema: bool,
    expected: 'true | false',
    doc: 'Explicit opt-in to real-money trading (BROKER=ccxt with CCXT_SANDBOX=false, BROKER=alpaca with ALPACA_PAPER=false).',
    default: false,
  }),
  EXEC_POLL_MS: def({
    schema: int(50, 600_000),
    expected: 'milliseconds',
    doc: 'Live venues: how often execution asks about working orders (fills, cancels).',
    default: 1000,
  }),
  PORTFOLIO_START_CASH: def({
    schema: dec(0),
    expected: 'a non-negative amount',
    doc: 'Starting cash.',
    default: 100_000,
  }),
} as const;

export type ConfigKey = keyof typeof configKeys;
export type KeyValues = { [K in ConfigKey]: (typeof configKeys)[K] extends KeySpec<infer T> ? T : never };
