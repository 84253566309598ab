import { editDistance } from '../src/core/index.js';
import { readFileSync } from 'node:fs';
import { configKeys, type ConfigKey, type KeySpec, type KeyValues } from './keys.js';
import { alpacaSymbols, buildConfig, type Config } from './config.js';

/** Start-up failed because of configuration; the message names every bad key. */
export class ConfigError extends Error {
  readonly code = 'invalid_config';
  readonly retryable = false;
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  /** Environment variables; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** A JSON file of the same keys; environment variables win. Defaults to SEXTANT_CONFIG_FILE. */
  file?: string;
  /** Values that win over everything (CLI flags). */
  overrides?: Partial<Record<ConfigKey, unknown>>;
}

const show = (v: unknown, secret: boolean) => (secret ? '(hidden)' : JSON.stringify(v));

function readFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`SEXTANT_CONFIG_FILE: cannot read ${path}: ${(err as Error).message}`]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError([`SEXTANT_CONFIG_FILE: ${path} is not JSON: ${(err as Error).message}`]);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError([`SEXTANT_CONFIG_FILE: ${path} must hold one JSON object of KEY: value pairs`]);
  }
  const unknown = Object.keys(parsed).filter((k) => !(k in configKeys));
  if (unknown.length > 0) {
    throw new ConfigError(unknown.map((k) => `${k} (in ${path}): unknown key; known keys are listed in .env.example`));
  }
  return parsed as Record<string, unknown>;
}

/**
 * Loads, validates and freezes the configuration. Precedence: overrides > environment > file >
 * defaults; an empty environment value counts as unset. Any bad value stops start-up with a
 * ConfigError naming the key, what is wrong and the expected form.
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const filePath = options.file ?? env.SEXTANT_CONFIG_FILE;
  const file = filePath ? readFile(filePath) : {};
  const problems: string[] = [];
  // a misspelt key in the environment would otherwise be ignored silently and its default used
  const allowUnknown =
    configKeys.SEXTANT_ALLOW_UNKNOWN_ENV.schema.safeParse(env.SEXTANT_ALLOW_UNKNOWN_ENV).data === true;
  for (const name of Object.keys(env)) {
    const meant = nearKey(name);
    if (meant)
      problems.push(
        `${name}: not a Sextant setting; did you mean ${meant}? (it was ignored, so ${meant} would have its default)`,
      );
    else if (!allowUnknown && ownedUnknown(name)) {
      const closest = closestKey(name, Math.ceil(name.length / 2));
      problems.push(
        `${name}: unknown key${closest ? `; did you mean ${closest}?` : ''} (${name.split('_')[0]}_ variables are Sextant's; SEXTANT_ALLOW_UNKNOWN_ENV=true lets unknown ones pass)`,
      );
    }
  }
  const values: Record<string, unknown> = {};
  /** Keys set somewhere (not left to their default). */
  const given = new Set<string>();
  for (const [key, spec] of Object.entries(configKeys) as [ConfigKey, KeySpec<unknown>][]) {
    const fromEnv = env[key];
    const [raw, origin] =
      options.overrides?.[key] !== undefined
        ? [options.overrides[key], 'from the command line']
        : fromEnv !== undefined && fromEnv !== ''
          ? [fromEnv, 'from the environment']
          : file[key] !== undefined
            ? [file[key], `from ${filePath}`]
            : [undefined, 'default'];
    if (raw === undefined) {
      values[key] = spec.default;
      continue;
    }
    given.add(key);
    const parsed = spec.schema.safeParse(raw);
    if (parsed.success) values[key] = parsed.data;
    else {
      const why = parsed.error.issues[0]?.message ?? 'invalid';
      problems.push(
        `${key}: ${show(raw, Boolean(spec.secret))} ${origin} is invalid (${why}); expected ${spec.expected}`,
      );
    }
  }
  if (problems.length === 0) {
    const v = values as KeyValues;
    if (v.STRATEGY_FAST >= v.STRATEGY_SLOW) {
      problems.push(`STRATEGY_FAST: ${v.STRATEGY_FAST} must be less than STRATEGY_SLOW (${v.STRATEGY_SLOW})`);
    }
    if (v.RSI_OVERSOLD >= v.RSI_OVERBOUGHT) {
      problems.push(`RSI_OVERSOLD: ${v.RSI_OVERSOLD} must be less than RSI_OVERBOUGHT (${v.RSI_OVERBOUGHT})`);
    }
    if ((v.DATA_FEED === 'csv' || v.DATA_FEED === 'ndjson') && !v.DATA_FILE) {
      problems.push(`DATA_FILE: required when DATA_FEED=${v.DATA_FEED}; expected a file path`);
    }
    for (const pair of v.CCXT_SYMBOLS)
      if (!/^[^=\s]+=[^=\s]+$/.test(pair))
        problems.push(`CCXT_SYMBOLS: "${pair}" is not a SEXTANT=VENUE pair; expected e.g. BTCUSDT=BTC/USDT`);
    if (v.DATA_FEED === 'ccxt') {
      if (!v.CCXT_EXCHANGE)
        problems.push(`CCXT_EXCHANGE: required when DATA_FEED=ccxt; expected ${configKeys.CCXT_EXCHANGE.expected}`);
      const mapped = new Set(v.CCXT_SYMBOLS.map((pair) => pair.split('=')[0]!.trim()));
      if (mapped.size === 0)
        problems.push(
          'CCXT_SYMBOLS: required when DATA_FEED=ccxt (which venue market each symbol is); expected e.g. BTCUSDT=BTC/USDT',
        );
      else if (!given.has('DATA_SYMBOLS'))
        values.DATA_SYMBOLS = [...mapped]; // the symbols are the pairs'
      else
        for (const sym of v.DATA_SYMBOLS)
          if (!mapped.has(sym))
            problems.push(
              `DATA_SYMBOLS: ${sym} has no venue market in CCXT_SYMBOLS; expected one of ${[...mapped].join(', ')} (or leave DATA_SYMBOLS unset for all of them)`,
            );
    }
    for (const entry of v.ALPACA_SYMBOLS)
      if (!/^[^=\s]+(=[^=\s]+)?$/.test(entry))
        problems.push(
          `ALPACA_SYMBOLS: "${entry}" is not a symbol or a SEXTANT=VENUE pair; expected e.g. AAPL or BRKB=BRK.B`,
        );
    const alpacaKeys = (why: string) => {
      for (const k of ['ALPACA_KEY_ID', 'ALPACA_SECRET_KEY'] as const)
        if (!v[k]) problems.push(`${k}: required when ${why}; expected ${configKeys[k].expected}`);
    };
    if (v.DATA_FEED === 'alpaca') {
      alpacaKeys('DATA_FEED=alpaca');
      if (v.DATA_TIMEFRAME !== '1m')
        problems.push(
          `DATA_TIMEFRAME: ${v.DATA_TIMEFRAME} is not served by Alpaca's bar stream, which sends minute bars; expected 1m with DATA_FEED=alpaca`,
        );
      const mapped = new Set(Object.keys(alpacaSymbols(v.ALPACA_SYMBOLS)));
      if (mapped.size === 0)
        problems.push(
          'ALPACA_SYMBOLS: required when DATA_FEED=alpaca (the US equities to follow); expected e.g. AAPL,MSFT',
        );
      else if (!given.has('DATA_SYMBOLS')) values.DATA_SYMBOLS = [...mapped];
      else
        for (const sym of v.DATA_SYMBOLS)
          if (!mapped.has(sym))
            problems.push(
              `DATA_SYMBOLS: ${sym} is not in ALPACA_SYMBOLS; expected one of ${[...mapped].join(', ')} (or leave DATA_SYMBOLS unset for all of them)`,
            );
    }
    if (v.BROKER === 'alpaca') {
      alpacaKeys('BROKER=alpaca');
      if (!v.ALPACA_PAPER && !v.LIVE_TRADING)
        problems.push(
          'LIVE_TRADING: must be true to trade real money (BROKER=alpaca with ALPACA_PAPER=false); expected true, or ALPACA_PAPER=true for the paper account',
        );
      // orders priced from anything but Alpaca's own market data would not be the market's
      const fake =
        v.DATA_FEED === 'synthetic'
          ? 'a seeded random walk'
          : v.DATA_FEED === 'ccxt'
            ? `${v.CCXT_EXCHANGE ?? 'a crypto venue'} (ccxt)`
            : `the file ${v.DATA_FILE ?? '(DATA_FILE)'}`;
      if (v.DATA_FEED === 'alpaca') {
        // live prices from the market the orders go to
      } else if (!v.BROKER_DRILL) {
        problems.push(
          `BROKER: alpaca sends orders to Alpaca, but DATA_FEED=${v.DATA_FEED} prices them from ${fake}, not from that market; expected DATA_FEED=alpaca, or BROKER_DRILL=true to drill the order path on the paper account`,
        );
      } else if (!v.ALPACA_PAPER || v.LIVE_TRADING) {
        problems.push(
          'BROKER_DRILL: a drill on test data never trades real money; expected ALPACA_PAPER=true and LIVE_TRADING unset',
        );
      }
    }
    if (v.BROKER === 'ccxt') {
      for (const k of ['CCXT_EXCHANGE', 'CCXT_API_KEY', 'CCXT_SECRET'] as const)
        if (!v[k]) problems.push(`${k}: required when BROKER=ccxt; expected ${configKeys[k].expected}`);
      if (!v.CCXT_SANDBOX && !v.LIVE_TRADING)
        problems.push(
          'LIVE_TRADING: must be true to trade real money (BROKER=ccxt with CCXT_SANDBOX=false); expected true, or set CCXT_SANDBOX=true for the testnet',
        );
      // A venue must never get orders decided on prices that are not the market's: BROKER=ccxt
      // needs the live feed (DATA_FEED=ccxt), or an explicit drill on the testnet.
      const fake =
        v.DATA_FEED === 'synthetic'
          ? 'a seeded random walk'
          : v.DATA_FEED === 'alpaca'
            ? "Alpaca's US equities"
            : `the file ${v.DATA_FILE ?? '(DATA_FILE)'}`;
      if (v.DATA_FEED === 'ccxt') {
        // live prices from the same venue the orders go to
      } else if (!v.BROKER_DRILL) {
        problems.push(
          `BROKER: ccxt sends orders to ${v.CCXT_EXCHANGE ?? 'a venue'}, but DATA_FEED=${v.DATA_FEED} prices them from ${fake}, not from that market; expected a live data feed, or BROKER_DRILL=true to drill the order path on the venue testnet`,
        );
      } else if (!v.CCXT_SANDBOX || v.LIVE_TRADING) {
        problems.push(
          'BROKER_DRILL: a drill on test data never trades real money; expected CCXT_SANDBOX=true and LIVE_TRADING unset',
        );
      }
    }
    if (v.TELEGRAM_WEBHOOK_URL && !v.TELEGRAM_WEBHOOK_SECRET)
      problems.push(
        'TELEGRAM_WEBHOOK_SECRET: required with TELEGRAM_WEBHOOK_URL (anyone could post fake updates otherwise); expected 16-256 characters of A-Z a-z 0-9 _ -',
      );
    if (v.TELEGRAM_WEBHOOK_URL && v.PORT === 0)
      problems.push(
        'PORT: 0 serves no HTTP, but TELEGRAM_WEBHOOK_URL needs the HTTP API to receive updates; expected a port, or unset TELEGRAM_WEBHOOK_URL for long polling',
      );
    if (v.METRICS_PORT > 0 && v.METRICS_PORT === v.PORT)
      problems.push(
        `METRICS_PORT: ${v.METRICS_PORT} is PORT too; the API process serves /metrics on PORT already, other processes need a port of their own; expected another port, or 0`,
      );
    if (v.DISCORD_TOKEN && !v.DISCORD_APPLICATION_ID)
      problems.push('DISCORD_APPLICATION_ID: required with DISCORD_TOKEN; expected the application (client) id');
    if (v.SENTIMENT_SCORER === 'llm' && !v.OPENAI_API_KEY)
      problems.push(
        'OPENAI_API_KEY: required when SENTIMENT_SCORER=llm; expected an API key (or SENTIMENT_SCORER=default)',
      );
    problems.push(...natsAuthProblems(v, values));
    if (v.STORE === 'mongodb' && !v.MONGODB_URI)
      problems.push('MONGODB_URI: required when STORE=mongodb; expected mongodb://user:pass@host:27017/db');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(buildConfig(values as KeyValues));
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Prefixes of Sextant's own variables: one that is not a key there is a typo or a setting that
 * no longer exists. Prefixes other software shares (API_, LOG_, NATS_, MONGODB_, OPENAI_,
 * TELEGRAM_, DISCORD_, BUS_) are not claimed; only near misses of their keys are refused.
 */
export const OWNED_PREFIXES = [
  'SEXTANT',
  'RISK',
  'EXEC',
  'DATA',
  'STRATEGY',
  'SENTIMENT',
  'STORE',
  'SYNTHETIC',
  'RECORDING',
  'RSI',
  'PAPER',
  'BROKER',
  'PORTFOLIO',
  'CCXT',
  'ALPACA',
  'CHAT',
];

/** Variables of an owned prefix that the project itself uses outside the configuration (its test tooling). */
const NOT_CONFIG = new Set(['SEXTANT_TOOLS_DIR']);

/** `name` has an owned prefix and is no key. */
function ownedUnknown(name: string): boolean {
  return (
    !(name in configKeys) && !NOT_CONFIG.has(name) && OWNED_PREFIXES.includes(name.split('_')[0]!) && name.includes('_')
  );
}

/**
 * The key of the same prefix closest to `name`, at most `max` edits away (an insertion, deletion or
 * change of one letter each); undefined when there is none.
 */
function closestKey(name: string, max: number): ConfigKey | undefined {
  const prefix = name.split('_')[0]!;
  let best: { key: ConfigKey; d: number } | undefined;
  for (const key of Object.keys(configKeys) as ConfigKey[]) {
    // the lengths alone rule most keys out: the distance is at least their difference
    if (key.split('_')[0] !== prefix || Math.abs(key.length - name.length) > max) continue;
    const d = editDistance(name, key);
    if (d <= max && (!best || d < best.d)) best = { key, d };
  }
  return best?.key;
}

/**
 * The configuration key `name` is a near miss of (one or two letters changed, added or dropped),
 * when it is not a key itself; undefined otherwise. Only names that share a key's prefix are
 * looked at, so unrelated variables of the environment are left alone.
 */
export function nearKey(name: string): ConfigKey | undefined {
  return name in configKeys ? undefined : closestKey(name, 2);
}

/** Reads a secret file named by `key`: its content without surrounding whitespace, or a problem naming the key. */
function readSecretFile(key: ConfigKey, path: string): { value?: string; problem?: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    return { problem: `${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  if (text.length === 0) return { problem: `${key}: ${path} is empty; expected ${configKeys[key].expected}` };
  return { value: text };
}

/**
 * The NATS credentials: one way to sign in at most (a user and password, a creds file, an nkey seed),
 * whole (a user needs its password and a password its user), with the files they name readable.
 * The password read from NATS_PASSWORD_FILE becomes NATS_PASSWORD; the seed replaces its file's path.
 */
function natsAuthProblems(v: KeyValues, values: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const ways = [
    v.NATS_USER || v.NATS_PASSWORD || v.NATS_PASSWORD_FILE ? 'NATS_USER' : undefined,
    v.NATS_CREDS ? 'NATS_CREDS' : undefined,
    v.NATS_NKEY_SEED_FILE ? 'NATS_NKEY_SEED_FILE' : undefined,
  ].filter((w) => w !== undefined);
  if (ways.length > 1) problems.push(`${ways[1]}: set together with ${ways[0]}; expected one way to sign in to NATS`);
  if (v.NATS_PASSWORD && v.NATS_PASSWORD_FILE)
    problems.push('NATS_PASSWORD_FILE: set together with NATS_PASSWORD; expected one of them');
  else if (v.NATS_PASSWORD_FILE) {
    const read = readSecretFile('NATS_PASSWORD_FILE', v.NATS_PASSWORD_FILE);
    if (read.problem) problems.push(read.problem);
    else values.NATS_PASSWORD = read.value;
  }
  if (v.NATS_USER && !v.NATS_PASSWORD && !v.NATS_PASSWORD_FILE)
    problems.push(
      `NATS_PASSWORD: required with NATS_USER (${v.NATS_USER}); expected its password, or NATS_PASSWORD_FILE`,
    );
  if (!v.NATS_USER && (v.NATS_PASSWORD || v.NATS_PASSWORD_FILE))
    problems.push(
      `NATS_USER: required with ${v.NATS_PASSWORD ? 'NATS_PASSWORD' : 'NATS_PASSWORD_FILE'}; expected ${configKeys.NATS_USER.expected}`,
    );
  if (v.NATS_CREDS) {
    const read = readSecretFile('NATS_CREDS', v.NATS_CREDS);
    if (read.problem) problems.push(read.problem);
    else if (!/-----BEGIN NATS USER JWT-----/.test(read.value!) || !/-----BEGIN USER NKEY SEED-----/.test(read.value!))
      problems.push(
        `NATS_CREDS: ${v.NATS_CREDS} is not a NATS credentials file (a user JWT and an nkey seed); expected ${configKeys.NATS_CREDS.expected}`,
      );
  }
  if (v.NATS_NKEY_SEED_FILE) {
    const read = readSecretFile('NATS_NKEY_SEED_FILE', v.NATS_NKEY_SEED_FILE);
    if (read.problem) problems.push(read.problem);
    else if (!/^SU[A-Z2-7]{56}$/.test(read.value!))
      problems.push(
        `NATS_NKEY_SEED_FILE: ${v.NATS_NKEY_SEED_FILE} does not hold an nkey user seed (SU followed by 56 characters)`,
      );
  }
  const auth = ways.length > 0;
  if (auth && !v.NATS_URL) problems.push(`${ways[0]}: NATS credentials without NATS_URL; expected NATS_URL too`);
  return problems;
}
