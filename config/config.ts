import { hostname } from 'node:os';
import type { AgentName } from '../src/core/index.js';
import type { RiskLimits } from '../agents/risk/index.js';
import type { KeyValues } from './keys.js';
import type { NatsAuth } from '../bus/index.js';

/** An allow-list entry: a chat user, group or Discord role id and the Sextant role it gets. */
export interface IdRole {
  readonly id: string;
  readonly role: 'viewer' | 'operator' | 'admin';
}

/** The validated, frozen configuration every component receives (never read env elsewhere). */
export interface Config {
  readonly instance: string;
  readonly logLevel: KeyValues['LOG_LEVEL'];
  readonly logFormat: KeyValues['LOG_FORMAT'];
  readonly port: number;
  /** Where a process without the API serves /metrics and /health; 0: nowhere. */
  readonly metricsPort: number;
  readonly chat: {
    readonly model: { readonly apiKey: string; readonly model: string; readonly baseURL?: string } | undefined;
    readonly budget: {
      readonly tokensPerDay: number;
      readonly usdPerDay: number;
      readonly usdPerMillionPrompt: number;
      readonly usdPerMillionCompletion: number;
      /** Tokens one person of a role may spend a day; a role not named has no own limit. */
      readonly tokensPerPersonPerDay: Readonly<Partial<Record<'viewer' | 'operator' | 'admin', number>>>;
      /** Tokens all people of a role together may spend a day. */
      readonly tokensPerRolePerDay: Readonly<Partial<Record<'viewer' | 'operator' | 'admin', number>>>;
    };
    readonly memoryMessages: number;
  };
  readonly telegram: {
    readonly token: string | undefined;
    readonly apiRoot: string | undefined;
    readonly webhook: { readonly url: string; readonly secret: string } | undefined;
    readonly users: readonly IdRole[];
    readonly groups: readonly IdRole[];
    readonly rateLimitPerMinute: number;
  };
  readonly discord: {
    readonly token: string | undefined;
    readonly applicationId: string | undefined;
    readonly guildId: string | undefined;
    readonly users: readonly IdRole[];
    readonly roles: readonly IdRole[];
    readonly notifyChannelId: string | undefined;
  };
  readonly api: {
    /** Where the API listens; unset: see API_HOST. */
    readonly host: string | undefined;
    readonly tokens: readonly { readonly token: string; readonly role: 'viewer' | 'operator' | 'admin' }[];
    readonly metricsOpen: boolean;
    readonly rateLimitPerMinute: number;
    readonly corsOrigins: readonly string[];
  };
  readonly natsUrl: string | undefined;
  /** How this process signs in to NATS (NATS_USER/NATS_PASSWORD, NATS_CREDS, NATS_NKEY_SEED_FILE); none: anonymous. */
  readonly natsAuth: NatsAuth | undefined;
  readonly mongoUri: string | undefined;
  readonly dataDir: string;
  /** Where `sextant start` writes NDJSON recordings; unset: none. */
  readonly recordingDir: string | undefined;
  /** The JetStream recording (NATS): capture every subject in the namespace's stream. */
  readonly recordingStream: { readonly on: boolean; readonly maxAgeMs: number; readonly maxBytes: number };
  readonly store: {
    readonly kind: KeyValues['STORE'];
    readonly mongoDb: string | undefined;
    readonly writeConcern: KeyValues['MONGODB_WRITE_CONCERN'];
    readonly record: KeyValues['STORE_RECORD'];
    readonly fsync: KeyValues['STORE_FSYNC'];
    readonly fsyncIntervalMs: number;
    readonly checkpointMs: number;
    readonly bufferMax: number;
    readonly overflow: KeyValues['STORE_OVERFLOW'];
    readonly failureState: KeyValues['STORE_FAILURE_STATE'];
  };
  readonly bus: {
    readonly maxPayloadBytes: number;
    readonly requestTimeoutMs: number;
    readonly namespace: string | undefined;
    readonly ackWaitMs: number;
  };
  readonly runtime: {
    readonly heartbeatMs: number;
    readonly agents: readonly AgentName[];
    readonly partitioned: readonly AgentName[];
    /** PARTITION_TTL_MS: how long a silent instance keeps its symbols. */
    readonly partitionTtlMs: number;
  };
  readonly data: {
    readonly feed: KeyValues['DATA_FEED'];
    readonly file: string | undefined;
    /** DATA_FEED=csv: the mapping file of the CSV's columns and formats (DATA_CSV_MAP). */
    readonly csvMap: string | undefined;
    readonly symbols: readonly string[];
    readonly lenient: boolean;
    readonly paceMs: number;
    /** What a bar must pass before it is published (agents/data/bar-guard.ts). */
    readonly guard: { readonly maxGapMs: number; readonly priceBand: number; readonly confirmBars: number };
    /** DATA_FEED=ccxt: the venue is broker.ccxt's (exchange, symbols, URLs). */
    readonly live: { readonly timeframe: string; readonly warmupBars: number; readonly graceMs: number };
    readonly synthetic: {
      readonly seed: number;
      readonly startPrice: number;
      readonly drift: number;
      readonly volatility: number;
      readonly barMs: number;
    };
  };
  readonly strategy: {
    readonly name: KeyValues['STRATEGY'];
    readonly fast: number;
    readonly slow: number;
    /** Units per entry (when sizeFraction is unset). */
    readonly size: number;
    /** Entries buy this fraction of the strategy's equity (STRATEGY_SIZE=10%). */
    readonly sizeFraction: number | undefined;
    readonly rsi: { readonly period: number; readonly oversold: number; readonly overbought: number };
    /** Buy only while the symbol's sentiment is above this; unset: no filter. */
    readonly sentimentMin: number | undefined;
    /** Publish each strategy's indicator lines per bar (STRATEGY_PLOT). */
    readonly plot: boolean;
    /** STRATEGY_PARAMS as written (values are coerced and checked against the strategy's schema at start). */
    readonly params: Readonly<Record<string, string>>;
    /** STRATEGIES_FILE: several instances; the keys above are then not used. */
    readonly file: string | undefined;
  };
  readonly sentiment: {
    readonly scorer: KeyValues['SENTIMENT_SCORER'];
    readonly halfLifeMs: number;
    /** Company names and aliases to symbols. */
    readonly symbolMap: Readonly<Record<string, string>>;
    readonly newsFile: string | undefined;
    readonly rssUrls: readonly string[];
    readonly rssPollMs: number;
    readonly llmTokensPerDay: number;
    readonly recentItems: number;
  };
  readonly risk: RiskLimits;
  readonly execution: {
    readonly feeBps: number;
    readonly feePerShare: number;
    readonly feeMin: number;
    readonly slippageBps: number;
    readonly maxParticipation: number;
  };
  readonly portfolio: { readonly startCash: number };
  readonly broker: {
    readonly kind: 'paper' | 'ccxt' | 'alpaca';
    readonly ccxt: {
      readonly exchange: string | undefined;
      readonly apiKey: string | undefined;
      readonly secret: string | undefined;
      readonly sandbox: boolean;
      readonly symbols: Readonly<Record<string, string>>;
      readonly timeoutMs: number;
      readonly urls: { readonly rest: string | undefined; readonly ws: string | undefined };
    };
    /** Alpaca (US equities): DATA_FEED=alpaca and BROKER=alpaca share it. */
    readonly alpaca: {
      readonly apiKeyId: string | undefined;
      readonly secretKey: string | undefined;
      /** Sextant symbol -> Alpaca symbol. */
      readonly symbols: Readonly<Record<string, string>>;
      readonly dataFeed: 'iex' | 'sip';
      /** The paper account (true) or real money (false; the loader demands LIVE_TRADING=true). */
      readonly paper: boolean;
      readonly timeoutMs: number;
      /** Overrides of Alpaca's hosts (unset: Alpaca's own). */
      readonly urls: {
        readonly data: string | undefined;
        readonly stream: string | undefined;
        readonly trading: string | undefined;
      };
    };
    readonly live: boolean;
    readonly pollMs: number;
    readonly retry: {
      readonly attempts: number;
      readonly baseDelayMs: number;
      readonly maxDelayMs: number;
      readonly timeoutMs: number;
    };
    readonly breaker: { readonly failureThreshold: number; readonly coolDownMs: number };
    readonly paperFaults: { readonly failRate: number; readonly maxLatencyMs: number };
  };
}

/** ALPACA_SYMBOLS entries (`AAPL`, or `BRKB=BRK.B`) as Sextant symbol -> Alpaca symbol. */
export function alpacaSymbols(entries: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    entries.map((e) => {
      const [sym, venue] = e.split('=').map((x) => x.trim());
      return [sym!, venue ?? sym!];
    }),
  );
}

/** Shapes validated key values into the nested Config. */
export function buildConfig(v: KeyValues): Config {
  return {
    // auto: the host name (each replica of a scaled compose service is a container of its own)
    instance:
      v.SEXTANT_INSTANCE === 'auto'
        ? hostname()
            .replace(/[^A-Za-z0-9_-]/g, '-')
            .slice(0, 40)
        : v.SEXTANT_INSTANCE,
    logLevel: v.LOG_LEVEL,
    logFormat: v.LOG_FORMAT,
    port: v.PORT,
    metricsPort: v.METRICS_PORT,
    chat: {
      model: v.OPENAI_API_KEY
        ? {
            apiKey: v.OPENAI_API_KEY,
            model: v.OPENAI_MODEL,
            ...(v.OPENAI_BASE_URL ? { baseURL: v.OPENAI_BASE_URL } : {}),
          }
        : undefined,
      budget: {
        tokensPerDay: v.CHAT_TOKENS_PER_DAY,
        usdPerDay: v.CHAT_USD_PER_DAY,
        usdPerMillionPrompt: v.CHAT_USD_PER_MILLION_PROMPT,
        usdPerMillionCompletion: v.CHAT_USD_PER_MILLION_COMPLETION,
        tokensPerPersonPerDay: v.CHAT_TOKENS_PER_PERSON_PER_DAY,
        tokensPerRolePerDay: v.CHAT_TOKENS_PER_ROLE_PER_DAY,
      },
      memoryMessages: v.CHAT_MEMORY_MESSAGES,
    },
    telegram: {
      token: v.TELEGRAM_BOT_TOKEN,
      apiRoot: v.TELEGRAM_API_ROOT,
      webhook:
        v.TELEGRAM_WEBHOOK_URL && v.TELEGRAM_WEBHOOK_SECRET
          ? { url: v.TELEGRAM_WEBHOOK_URL, secret: v.TELEGRAM_WEBHOOK_SECRET }
          : undefined,
      users: v.TELEGRAM_ALLOWED_USERS,
      groups: v.TELEGRAM_GROUPS,
      rateLimitPerMinute: v.TELEGRAM_RATE_LIMIT_PER_MINUTE,
    },
    discord: {
      token: v.DISCORD_TOKEN,
      applicationId: v.DISCORD_APPLICATION_ID,
      guildId: v.DISCORD_GUILD_ID,
      users: v.DISCORD_ALLOWED_USERS,
      roles: v.DISCORD_ROLE_MAP,
      notifyChannelId: v.DISCORD_NOTIFY_CHANNEL_ID,
    },
    api: {
      host: v.API_HOST,
      tokens: v.SEXTANT_API_TOKENS,
      metricsOpen: v.API_METRICS_OPEN,
      rateLimitPerMinute: v.API_RATE_LIMIT_PER_MINUTE,
      corsOrigins: v.API_CORS_ORIGINS,
    },
    natsUrl: v.NATS_URL,
    natsAuth: v.NATS_USER
      ? { kind: 'password', user: v.NATS_USER, password: v.NATS_PASSWORD! }
      : v.NATS_CREDS
        ? { kind: 'creds', file: v.NATS_CREDS }
        : v.NATS_NKEY_SEED_FILE
          ? { kind: 'nkey', seedFile: v.NATS_NKEY_SEED_FILE }
          : undefined,
    mongoUri: v.MONGODB_URI,
    dataDir: v.SEXTANT_DATA_DIR,
    recordingDir: v.RECORDING_DIR,
    recordingStream: { on: v.RECORDING_JETSTREAM, maxAgeMs: v.RECORDING_MAX_AGE_MS, maxBytes: v.RECORDING_MAX_BYTES },
    store: {
      kind: v.STORE,
      mongoDb: v.MONGODB_DB,
      writeConcern: v.MONGODB_WRITE_CONCERN,
      record: v.STORE_RECORD,
      fsync: v.STORE_FSYNC,
      fsyncIntervalMs: v.STORE_FSYNC_INTERVAL_MS,
      checkpointMs: v.STORE_CHECKPOINT_MS,
      bufferMax: v.STORE_BUFFER_MAX,
      overflow: v.STORE_OVERFLOW,
      failureState: v.STORE_FAILURE_STATE,
    },
    bus: {
      maxPayloadBytes: v.BUS_MAX_PAYLOAD_BYTES,
      requestTimeoutMs: v.BUS_REQUEST_TIMEOUT_MS,
      namespace: v.SEXTANT_NAMESPACE,
      ackWaitMs: v.BUS_ACK_WAIT_MS,
    },
    runtime: {
      heartbeatMs: v.HEARTBEAT_INTERVAL_MS,
      agents: v.AGENTS ?? defaultAgents(v),
      partitioned: v.PARTITIONED_AGENTS,
      partitionTtlMs: v.PARTITION_TTL_MS,
    },
    data: {
      feed: v.DATA_FEED,
      file: v.DATA_FILE,
      csvMap: v.DATA_CSV_MAP,
      symbols: v.DATA_SYMBOLS,
      lenient: v.DATA_LENIENT,
      paceMs: v.DATA_PACE_MS,
      guard: { maxGapMs: v.DATA_MAX_GAP_MS, priceBand: v.DATA_PRICE_BAND, confirmBars: v.DATA_CONFIRM_BARS },
      live: { timeframe: v.DATA_TIMEFRAME, warmupBars: v.DATA_WARMUP_BARS, graceMs: v.DATA_GRACE_MS },
      synthetic: {
        seed: v.SYNTHETIC_SEED,
        startPrice: v.SYNTHETIC_START_PRICE,
        drift: v.SYNTHETIC_DRIFT,
        volatility: v.SYNTHETIC_VOLATILITY,
        barMs: v.SYNTHETIC_BAR_MS,
      },
    },
    strategy: {
      name: v.STRATEGY,
      fast: v.STRATEGY_FAST,
      slow: v.STRATEGY_SLOW,
      ...sizeOf(v.STRATEGY_SIZE),
      rsi: { period: v.RSI_PERIOD, oversold: v.RSI_OVERSOLD, overbought: v.RSI_OVERBOUGHT },
      sentimentMin: v.STRATEGY_SENTIMENT_MIN,
      plot: v.STRATEGY_PLOT,
      params: v.STRATEGY_PARAMS,
      file: v.STRATEGIES_FILE,
    },
    sentiment: {
      scorer: v.SENTIMENT_SCORER,
      halfLifeMs: v.SENTIMENT_HALF_LIFE_MS,
      symbolMap: Object.fromEntries(
        v.SENTIMENT_SYMBOL_MAP.map((e) => [
          e.slice(0, e.lastIndexOf('=')).trim(),
          e.slice(e.lastIndexOf('=') + 1).trim(),
        ]),
      ),
      newsFile: v.SENTIMENT_NEWS_FILE,
      rssUrls: v.SENTIMENT_RSS_URLS,
      rssPollMs: v.SENTIMENT_RSS_POLL_MS,
      llmTokensPerDay: v.SENTIMENT_LLM_TOKENS_PER_DAY,
      recentItems: v.SENTIMENT_RECENT_ITEMS,
    },
    risk: {
      maxPositionQty: v.RISK_MAX_POSITION_QTY,
      maxPositionNotional: v.RISK_MAX_POSITION_NOTIONAL,
      maxOrderNotional: v.RISK_MAX_ORDER_NOTIONAL,
      maxGrossExposure: v.RISK_MAX_GROSS_EXPOSURE,
      maxOpenOrders: v.RISK_MAX_OPEN_ORDERS,
      maxOrdersPerWindow: v.RISK_MAX_ORDERS_PER_WINDOW,
      maxOrdersPerWindowPerSymbol: v.RISK_MAX_ORDERS_PER_WINDOW_PER_SYMBOL,
      rateWindowMs: v.RISK_RATE_WINDOW_MS,
      maxDailyLoss: v.RISK_MAX_DAILY_LOSS,
      maxDrawdown: v.RISK_MAX_DRAWDOWN,
      priceBand: v.RISK_PRICE_BAND,
      maxLeverage: v.RISK_MAX_LEVERAGE,
      allowShort: v.RISK_ALLOW_SHORT,
      // a live feed can go quiet; file and synthetic bars are as old as they are
      maxBarAgeBars: v.RISK_MAX_BAR_AGE_BARS ?? (isLiveFeedName(v.DATA_FEED) ? 3 : 0),
      ...(v.RISK_ALLOWED_SYMBOLS.length > 0 ? { allowedSymbols: v.RISK_ALLOWED_SYMBOLS } : {}),
      breachState: v.RISK_BREACH_STATE,
      lotSize: v.RISK_LOT_SIZE,
      minQty: v.RISK_MIN_QTY,
      ...(v.RISK_TICK_SIZE !== undefined ? { tickSize: v.RISK_TICK_SIZE } : {}),
      ...(Object.keys(v.RISK_SYMBOL_RULES).length > 0 ? { symbolRules: v.RISK_SYMBOL_RULES } : {}),
    },
    execution: {
      feeBps: v.EXEC_FEE_BPS,
      feePerShare: v.EXEC_FEE_PER_SHARE,
      feeMin: v.EXEC_FEE_MIN,
      slippageBps: v.EXEC_SLIPPAGE_BPS,
      maxParticipation: v.EXEC_MAX_PARTICIPATION,
    },
    portfolio: { startCash: v.PORTFOLIO_START_CASH },
    broker: {
      kind: v.BROKER,
      ccxt: {
        exchange: v.CCXT_EXCHANGE,
        apiKey: v.CCXT_API_KEY,
        secret: v.CCXT_SECRET,
        sandbox: v.CCXT_SANDBOX,
        symbols: Object.fromEntries(
          v.CCXT_SYMBOLS.map((pair) => pair.split('=').map((x) => x.trim()) as [string, string]),
        ),
        timeoutMs: v.CCXT_TIMEOUT_MS,
        urls: { rest: v.CCXT_REST_URL, ws: v.CCXT_WS_URL },
      },
      alpaca: {
        apiKeyId: v.ALPACA_KEY_ID,
        secretKey: v.ALPACA_SECRET_KEY,
        symbols: alpacaSymbols(v.ALPACA_SYMBOLS),
        dataFeed: v.ALPACA_DATA_FEED,
        paper: v.ALPACA_PAPER,
        timeoutMs: v.ALPACA_TIMEOUT_MS,
        urls: { data: v.ALPACA_DATA_URL, stream: v.ALPACA_STREAM_URL, trading: v.ALPACA_TRADING_URL },
      },
      live: v.LIVE_TRADING,
      pollMs: v.EXEC_POLL_MS,
      retry: {
        attempts: v.EXEC_RETRY_ATTEMPTS,
        baseDelayMs: v.EXEC_RETRY_BASE_MS,
        maxDelayMs: Math.max(v.EXEC_RETRY_BASE_MS, 30_000),
        timeoutMs: v.EXEC_CALL_TIMEOUT_MS,
      },
      breaker: { failureThreshold: v.EXEC_BREAKER_FAILURES, coolDownMs: v.EXEC_BREAKER_COOLDOWN_MS },
      paperFaults: { failRate: v.PAPER_FAIL_RATE, maxLatencyMs: v.PAPER_LATENCY_MS },
    },
  };
}

/** `sextant start`'s agents when AGENTS is unset: the trading five, and sentiment when it has news to read. */
function defaultAgents(v: KeyValues): AgentName[] {
  const trading: AgentName[] = ['data', 'strategy', 'risk', 'execution', 'portfolio'];
  return v.SENTIMENT_NEWS_FILE || v.SENTIMENT_RSS_URLS.length > 0 ? [...trading, 'sentiment'] : trading;
}

/** STRATEGY_SIZE as units or, with a % sign, a fraction of equity. */
export function sizeOf(raw: number | string): { size: number; sizeFraction: number | undefined } {
  if (typeof raw === 'string' && raw.endsWith('%')) return { size: 0, sizeFraction: Number(raw.slice(0, -1)) / 100 };
  return { size: Number(raw), sizeFraction: undefined };
}

/** The DATA_FEED values that follow a venue in real time (their bars' age means something). */
export const isLiveFeedName = (feed: string): boolean => feed === 'ccxt' || feed === 'alpaca';
