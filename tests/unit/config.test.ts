import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config/load.js';
import { redactConfig } from '../../src/core/util/redact.js';

describe('config', () => {
  it('defaults give an embedded single-process setup', () => {
    const c = loadConfig({ env: {} });
    expect(c.natsUrl).toBeUndefined();
    expect(c.mongoUri).toBeUndefined();
    expect(c.port).toBe(3000);
    expect(c.logLevel).toBe('info');
    expect(c.data.symbols).toEqual(['SYN']);
    expect(Object.isFrozen(c) && Object.isFrozen(c.data.symbols)).toBe(true);
  });

  it('a bad value stops start-up naming the key, the problem and the expected form', () => {
    let err: unknown;
    try {
      loadConfig({ env: { PORT: 'eighty', LOG_LEVEL: 'loud' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toMatch(/PORT: "eighty" from the environment is invalid .*expected an integer from 0 to 65535/);
    expect(message).toMatch(/LOG_LEVEL: "loud"/);
  });

  it("each symbol's lot, minimum and tick come from RISK_SYMBOL_RULES over the defaults; a malformed rule names the key", () => {
    const c = loadConfig({ env: { RISK_SYMBOL_RULES: 'ORCL:lot=1:tick=0.01, BTCUSDT:lot=0.00001:min=0.0001' } });
    expect(c.risk).toMatchObject({
      lotSize: 1e-8,
      minQty: 1e-6,
      symbolRules: { ORCL: { lotSize: 1, tickSize: 0.01 }, BTCUSDT: { lotSize: 0.00001, minQty: 0.0001 } },
    });
    expect(c.risk.tickSize).toBeUndefined();
    expect(loadConfig({ env: { RISK_TICK_SIZE: '0.01' } }).risk.tickSize).toBe(0.01);
    expect(() => loadConfig({ env: { RISK_SYMBOL_RULES: 'ORCL:lot=0' } })).toThrow(/RISK_SYMBOL_RULES: .*lot=0/);
    expect(() => loadConfig({ env: { RISK_SYMBOL_RULES: 'ORCL:size=1' } })).toThrow(/RISK_SYMBOL_RULES/);
    expect(() => loadConfig({ env: { RISK_SYMBOL_RULES: 'ORCL' } })).toThrow(/RISK_SYMBOL_RULES/);
  });

  it('chat budgets per person and per role come from role=tokens entries or one number; a bad entry names the key', () => {
    expect(loadConfig({ env: {} }).chat.budget).toMatchObject({
      tokensPerDay: 200_000,
      tokensPerPersonPerDay: { viewer: 20_000, operator: 50_000, admin: 100_000 },
      tokensPerRolePerDay: { viewer: 100_000 },
    });
    const c = loadConfig({
      env: { CHAT_TOKENS_PER_PERSON_PER_DAY: 'viewer=0, operator=9000', CHAT_TOKENS_PER_ROLE_PER_DAY: '40000' },
    });
    expect(c.chat.budget.tokensPerPersonPerDay).toEqual({ viewer: 0, operator: 9000 });
    expect(c.chat.budget.tokensPerRolePerDay).toEqual({ viewer: 40_000, operator: 40_000, admin: 40_000 });
    expect(() => loadConfig({ env: { CHAT_TOKENS_PER_PERSON_PER_DAY: 'guest=10' } })).toThrow(
      /CHAT_TOKENS_PER_PERSON_PER_DAY: .*"guest=10" is not role=tokens/,
    );
    expect(() => loadConfig({ env: { CHAT_TOKENS_PER_ROLE_PER_DAY: 'viewer=1,viewer=2' } })).toThrow(
      /CHAT_TOKENS_PER_ROLE_PER_DAY: .*viewer is given twice/,
    );
    // the .env.example line of a map default loads as that default
    expect(
      loadConfig({ env: { CHAT_TOKENS_PER_PERSON_PER_DAY: 'viewer=20000,operator=50000,admin=100000' } }).chat.budget
        .tokensPerPersonPerDay,
    ).toEqual({ viewer: 20_000, operator: 50_000, admin: 100_000 });
  });

  it('never prints a secret value in an error', () => {
    expect(() => loadConfig({ env: { NATS_URL: 'http://u:hunter2@x' } })).toThrow(/NATS_URL: \(hidden\)/);
    expect(() => loadConfig({ env: { NATS_URL: 'http://u:hunter2@x' } })).not.toThrow(/hunter2/);
  });

  it('cross-field rules are checked', () => {
    expect(() => loadConfig({ env: { STRATEGY_FAST: '30', STRATEGY_SLOW: '10' } })).toThrow(
      /STRATEGY_FAST: 30 must be less than STRATEGY_SLOW/,
    );
  });

  it('METRICS_PORT on the port of the API stops start-up naming both; a port of its own or 0 passes', () => {
    expect(() => loadConfig({ env: { PORT: '3000', METRICS_PORT: '3000' } })).toThrow(/METRICS_PORT: 3000 is PORT too/);
    expect(loadConfig({ env: { PORT: '0', METRICS_PORT: '9464' } }).metricsPort).toBe(9464);
    expect(loadConfig({ env: {} }).metricsPort).toBe(0);
  });

  it('a live broker on a synthetic or file feed stops start-up naming the keys; a drill runs only on the testnet', () => {
    const ccxt = {
      BROKER: 'ccxt',
      CCXT_EXCHANGE: 'binance',
      CCXT_API_KEY: 'k',
      CCXT_SECRET: 's',
      CCXT_SYMBOLS: 'BTCUSDT=BTC/USDT',
      DATA_SYMBOLS: 'BTCUSDT',
    };
    expect(() => loadConfig({ env: ccxt })).toThrow(
      /BROKER: ccxt sends orders to binance, but DATA_FEED=synthetic prices them from a seeded random walk, not from that market; expected a live data feed, or BROKER_DRILL=true/,
    );
    expect(() => loadConfig({ env: { ...ccxt, DATA_FEED: 'csv', DATA_FILE: 'btc.csv' } })).toThrow(
      /DATA_FEED=csv prices them from the file btc.csv/,
    );
    expect(loadConfig({ env: { ...ccxt, BROKER_DRILL: 'true' } }).broker.kind).toBe('ccxt');
    expect(() =>
      loadConfig({ env: { ...ccxt, BROKER_DRILL: 'true', CCXT_SANDBOX: 'false', LIVE_TRADING: 'true' } }),
    ).toThrow(/BROKER_DRILL: a drill on test data never trades real money/);
  });

  it('DATA_FEED=ccxt: live candles of the CCXT_SYMBOLS pairs; a live broker may then trade them (the testnet unless LIVE_TRADING)', () => {
    const feed = { DATA_FEED: 'ccxt', CCXT_EXCHANGE: 'binance', CCXT_SYMBOLS: 'BTCUSDT=BTC/USDT,ETHUSDT=ETH/USDT' };
    const c = loadConfig({ env: feed });
    expect(c.data.symbols).toEqual(['BTCUSDT', 'ETHUSDT']);
    expect(c.data.live).toEqual({ timeframe: '1m', warmupBars: 200, graceMs: 5000 });
    expect(loadConfig({ env: { ...feed, DATA_SYMBOLS: 'ETHUSDT' } }).data.symbols).toEqual(['ETHUSDT']);
    expect(() => loadConfig({ env: { ...feed, DATA_SYMBOLS: 'SOLUSDT' } })).toThrow(
      /DATA_SYMBOLS: SOLUSDT has no venue market in CCXT_SYMBOLS; expected one of BTCUSDT, ETHUSDT/,
    );
    expect(() => loadConfig({ env: { DATA_FEED: 'ccxt', CCXT_EXCHANGE: 'binance' } })).toThrow(
      /CCXT_SYMBOLS: required when DATA_FEED=ccxt/,
    );
    expect(() => loadConfig({ env: { DATA_FEED: 'ccxt', CCXT_SYMBOLS: 'BTCUSDT=BTC/USDT' } })).toThrow(
      /CCXT_EXCHANGE: required when DATA_FEED=ccxt/,
    );
    expect(() => loadConfig({ env: { ...feed, DATA_TIMEFRAME: 'minute' } })).toThrow(/DATA_TIMEFRAME: .*minute/);
    const broker = { ...feed, BROKER: 'ccxt', CCXT_API_KEY: 'k', CCXT_SECRET: 's' };
    expect(loadConfig({ env: broker }).broker.kind).toBe('ccxt');
    expect(() => loadConfig({ env: { ...broker, CCXT_SANDBOX: 'false' } })).toThrow(/LIVE_TRADING: must be true/);
    expect(loadConfig({ env: { ...feed, CCXT_WS_URL: 'ws://127.0.0.1:9/ws' } }).broker.ccxt.urls.ws).toBe(
      'ws://127.0.0.1:9/ws',
    );
    expect(() => loadConfig({ env: { ...feed, CCXT_WS_URL: 'http://x' } })).toThrow(/CCXT_WS_URL/);
  });

  it('DATA_FEED=alpaca: minute bars of the ALPACA_SYMBOLS equities, IEX by default; the keys are required and never shown', () => {
    const feed = {
      DATA_FEED: 'alpaca',
      ALPACA_KEY_ID: 'PKKEYID123',
      ALPACA_SECRET_KEY: 'the-secret-value',
      ALPACA_SYMBOLS: 'AAPL,BRKB=BRK.B',
    };
    const c = loadConfig({ env: feed });
    expect(c.data.symbols).toEqual(['AAPL', 'BRKB']);
    expect(c.broker.alpaca).toMatchObject({ symbols: { AAPL: 'AAPL', BRKB: 'BRK.B' }, dataFeed: 'iex', paper: true });
    expect(c.risk.maxBarAgeBars).toBe(3);
    expect(loadConfig({ env: { ...feed, ALPACA_DATA_FEED: 'sip' } }).broker.alpaca.dataFeed).toBe('sip');
    expect(() => loadConfig({ env: { ...feed, ALPACA_DATA_FEED: 'otc' } })).toThrow(/ALPACA_DATA_FEED: .*iex \| sip/);
    const shown = JSON.stringify(redactConfig(c));
    expect(shown).not.toContain('PKKEYID123');
    expect(shown).not.toContain('the-secret-value');
    expect(() => loadConfig({ env: { ...feed, ALPACA_SECRET_KEY: '' } })).toThrow(
      /ALPACA_SECRET_KEY: required when DATA_FEED=alpaca/,
    );
    expect(() => loadConfig({ env: { DATA_FEED: 'alpaca', ALPACA_SYMBOLS: 'AAPL' } })).toThrow(
      /ALPACA_KEY_ID: required when DATA_FEED=alpaca/,
    );
    expect(() => loadConfig({ env: { ...feed, ALPACA_SYMBOLS: '' } })).toThrow(/ALPACA_SYMBOLS: required/);
    expect(() => loadConfig({ env: { ...feed, DATA_TIMEFRAME: '5m' } })).toThrow(
      /DATA_TIMEFRAME: 5m is not served by Alpaca's bar stream.*expected 1m/,
    );
    expect(() => loadConfig({ env: { ...feed, DATA_SYMBOLS: 'MSFT' } })).toThrow(
      /DATA_SYMBOLS: MSFT is not in ALPACA_SYMBOLS/,
    );
    expect(() => loadConfig({ env: { ...feed, ALPACA_STREAM_URL: 'http://x' } })).toThrow(/ALPACA_STREAM_URL/);
  });

  it("BROKER=alpaca: the paper account unless LIVE_TRADING; refused on a feed that is not Alpaca's, but as a paper drill", () => {
    const keys = { ALPACA_KEY_ID: 'PKKEYID123', ALPACA_SECRET_KEY: 'the-secret-value', ALPACA_SYMBOLS: 'AAPL' };
    const live = { ...keys, DATA_FEED: 'alpaca', BROKER: 'alpaca' };
    expect(loadConfig({ env: live }).broker).toMatchObject({ kind: 'alpaca', live: false, alpaca: { paper: true } });
    expect(() => loadConfig({ env: { ...live, ALPACA_PAPER: 'false' } })).toThrow(
      /LIVE_TRADING: must be true to trade real money \(BROKER=alpaca with ALPACA_PAPER=false\)/,
    );
    expect(loadConfig({ env: { ...live, ALPACA_PAPER: 'false', LIVE_TRADING: 'true' } }).broker.alpaca.paper).toBe(
      false,
    );
    // a live broker on a feed that is not the market it trades
    expect(() => loadConfig({ env: { ...keys, BROKER: 'alpaca', DATA_SYMBOLS: 'AAPL' } })).toThrow(
      /BROKER: alpaca sends orders to Alpaca, but DATA_FEED=synthetic prices them from a seeded random walk, not from that market; expected DATA_FEED=alpaca, or BROKER_DRILL=true/,
    );
    expect(() =>
      loadConfig({
        env: { ...keys, BROKER: 'alpaca', DATA_FEED: 'ccxt', CCXT_EXCHANGE: 'binance', CCXT_SYMBOLS: 'AAPL=BTC/USDT' },
      }),
    ).toThrow(/DATA_FEED=ccxt prices them from binance \(ccxt\)/);
    const drill = { ...keys, BROKER: 'alpaca', DATA_SYMBOLS: 'AAPL', BROKER_DRILL: 'true' };
    expect(loadConfig({ env: drill }).broker.kind).toBe('alpaca');
    expect(() => loadConfig({ env: { ...drill, ALPACA_PAPER: 'false', LIVE_TRADING: 'true' } })).toThrow(
      /BROKER_DRILL: a drill on test data never trades real money; expected ALPACA_PAPER=true/,
    );
    expect(() => loadConfig({ env: { ...live, ALPACA_KEY_ID: '' } })).toThrow(
      /ALPACA_KEY_ID: required when BROKER=alpaca/,
    );
    expect(() => loadConfig({ env: { ...keys, ALPACA_PAPR: 'false' } })).toThrow(/ALPACA_PAPR: .*ALPACA_PAPER/);
  });

  it('a misspelt key in the environment stops start-up naming it and the key it resembles; unrelated variables are left alone', () => {
    expect(() => loadConfig({ env: { RISK_MAX_DRAWDOWM: '0.1' } })).toThrow(
      /RISK_MAX_DRAWDOWM: not a Sextant setting; did you mean RISK_MAX_DRAWDOWN\?/,
    );
    expect(() => loadConfig({ env: { MONGODB_URL: 'mongodb://h/db' } })).toThrow(/did you mean MONGODB_URI\?/);
    expect(
      loadConfig({
        env: { PATH: '/bin', HOME: '/root', SEXTANT_TOOLS_DIR: '/tmp/t', API_KEY: 'x', RISK_MAX_DRAWDOWN: '0.1' },
      }).risk.maxDrawdown,
    ).toBe(0.1);
  });

  it("an unknown variable with one of Sextant's prefixes stops start-up too, naming the closest key; an escape hatch lets it pass", () => {
    expect(() => loadConfig({ env: { RISK_MAX_POSITON_NOTIONAL_USD: '5000' } })).toThrow(
      /RISK_MAX_POSITON_NOTIONAL_USD: unknown key; did you mean RISK_MAX_POSITION_NOTIONAL\? \(RISK_ variables are Sextant's; SEXTANT_ALLOW_UNKNOWN_ENV=true lets unknown ones pass\)/,
    );
    expect(() => loadConfig({ env: { DATA_SCIENCE: 'yes' } })).toThrow(/DATA_SCIENCE: unknown key/);
    expect(loadConfig({ env: { DATA_SCIENCE: 'yes', SEXTANT_ALLOW_UNKNOWN_ENV: 'true' } }).data.feed).toBe('synthetic');
  });

  it('STRATEGY_SIZE takes units or a percentage of equity', () => {
    expect(loadConfig({ env: { STRATEGY_SIZE: '250' } }).strategy).toMatchObject({
      size: 250,
      sizeFraction: undefined,
    });
    expect(loadConfig({ env: { STRATEGY_SIZE: '10%' } }).strategy).toMatchObject({ sizeFraction: 0.1 });
    expect(() => loadConfig({ env: { STRATEGY_SIZE: '0%' } })).toThrow(
      /STRATEGY_SIZE: "0%" from the environment is invalid/,
    );
    expect(() => loadConfig({ env: { STRATEGY_SIZE: '150%' } })).toThrow(
      /STRATEGY_SIZE: .*a percentage of at most 100%/,
    );
    expect(() => loadConfig({ env: { STRATEGY_SIZE: 'lots' } })).toThrow(
      /STRATEGY_SIZE: .*expected a positive quantity \(units\), or a percentage of equity, e.g. 10%/,
    );
  });

  it('reads a JSON file, environment wins, unknown file keys are errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-config-'));
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ PORT: 4000, LOG_LEVEL: 'debug' }));
    const c = loadConfig({ env: { LOG_LEVEL: 'warn' }, file });
    expect(c.port).toBe(4000);
    expect(c.logLevel).toBe('warn');
    writeFileSync(file, JSON.stringify({ PROT: 4000 }));
    expect(() => loadConfig({ env: {}, file })).toThrow(/PROT \(in .*\): unknown key/);
  });

  it('NATS credentials: a user with its password (or a password file), whole, one way only; a bad one names the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-nats-auth-'));
    const url = { NATS_URL: 'nats://127.0.0.1:4222' };
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ env: { ...url, ...env } });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    };
    const file = join(dir, 'risk.password');
    writeFileSync(file, '  s3cret-from-a-secret\n');
    const c = loadConfig({ env: { ...url, NATS_USER: 'risk', NATS_PASSWORD_FILE: file } });
    expect(c.natsAuth).toEqual({ kind: 'password', user: 'risk', password: 's3cret-from-a-secret' });
    expect(JSON.stringify(redactConfig(c))).not.toContain('s3cret');
    expect(loadConfig({ env: { ...url, NATS_USER: 'api', NATS_PASSWORD: 'pw' } }).natsAuth).toMatchObject({
      user: 'api',
    });
    expect(problems({ NATS_USER: 'risk' })).toMatch(/NATS_PASSWORD: required with NATS_USER \(risk\)/);
    expect(problems({ NATS_PASSWORD: 'pw-only' })).toMatch(/NATS_USER: required with NATS_PASSWORD/);
    expect(problems({ NATS_PASSWORD: 'pw-only' })).not.toContain('pw-only');
    expect(problems({ NATS_USER: 'risk', NATS_PASSWORD_FILE: join(dir, 'missing') })).toMatch(
      /NATS_PASSWORD_FILE: cannot read .*missing: ENOENT/,
    );
    writeFileSync(join(dir, 'empty'), '\n');
    expect(problems({ NATS_USER: 'risk', NATS_PASSWORD_FILE: join(dir, 'empty') })).toMatch(
      /NATS_PASSWORD_FILE: .*empty is empty/,
    );
    expect(problems({ NATS_USER: 'risk', NATS_PASSWORD: 'pw', NATS_CREDS: file })).toMatch(
      /NATS_CREDS: set together with NATS_USER; expected one way to sign in to NATS/,
    );
    expect(problems({ NATS_CREDS: file })).toMatch(/NATS_CREDS: .* is not a NATS credentials file/);
    expect(problems({ NATS_NKEY_SEED_FILE: file })).toMatch(/NATS_NKEY_SEED_FILE: .* does not hold an nkey user seed/);
    expect(() => loadConfig({ env: { NATS_USER: 'risk', NATS_PASSWORD: 'pw' } })).toThrow(
      /NATS_USER: NATS credentials without NATS_URL/,
    );
  });

  it('redacts passwords in URLs and secret-named values', () => {
    const c = loadConfig({
      env: { NATS_URL: 'nats://svc:s3cret@nats:4222', MONGODB_URI: 'mongodb://app:pw@mongo:27017/sextant' },
    });
    const shown = JSON.stringify(redactConfig({ ...c, apiToken: 'abc' }));
    expect(shown).not.toMatch(/s3cret|pw@|"abc"/);
    expect(shown).toContain('nats://svc:***@nats:4222');
  });
});

describe('.env.example', () => {
  it('documents every configuration key exactly as config/keys.ts defines it', async () => {
    const { readFileSync } = await import('node:fs');
    const { renderEnvExample } = await import('../../config/env-example.js');
    expect(readFileSync('.env.example', 'utf8').trim()).toBe(renderEnvExample().trim());
  });

  it("the README's configuration reference is the one config/keys.ts generates (npm run docs:config)", async () => {
    const { readFileSync } = await import('node:fs');
    const { withConfigReference } = await import('../../config/env-example.js');
    const readme = readFileSync('README.md', 'utf8');
    expect(withConfigReference(readme) === readme, 'README.md is stale: run npm run docs:config').toBe(true);
  });
});
