// The layers of Sextant, bottom to top, and what each may import (see ARCHITECTURE.md).
// eslint.config.js enforces them with eslint-plugin-boundaries; tests/unit/lint-layers.test.ts
// shows that an import against the direction fails the lint.

/** Every source folder is one element of a layer. */
export const layerElements = [
  { type: 'core', pattern: 'src/core' },
  { type: 'bus', pattern: 'bus' },
  { type: 'runtime', pattern: 'src/runtime' },
  { type: 'agent', pattern: 'agents/*', capture: ['agent'] },
  { type: 'infra', pattern: 'src/infra/*', capture: ['area'] },
  { type: 'config', pattern: 'config' },
  { type: 'app', pattern: 'src/app/*', capture: ['area'] },
  { type: 'interface', pattern: 'interfaces/*', capture: ['adapter'] },
  { type: 'entry', pattern: 'src/cli' },
];

/** The layers in order: each may import itself and those before it (with the exceptions below). */
export const LAYERS = ['core', 'bus', 'runtime', 'agent', 'infra', 'config', 'app', 'interface', 'entry'];

/**
 * Modules loaded only on demand (a dynamic import: ccxt, LangChain, the bots, the MongoDB
 * driver), which a public entry must not pull in: they are public entries of their own.
 */
export const LAZY_ENTRIES = [
  'agents/data/feeds/alpaca-feed.ts',
  'agents/data/feeds/ccxt-feed.ts',
  'agents/execution/alpaca-broker.ts',
  'agents/execution/ccxt-broker.ts',
  'agents/sentiment/llm-scorer.ts',
  'agents/sentiment/scoring/index.ts',
  'interfaces/chat/chat-agent.ts',
  'interfaces/discord/bot.ts',
  'interfaces/telegram/bot.ts',
  'src/infra/store/mongo/mongo-store.ts',
];

/** What another element may import of an element: its index.ts, or a lazy entry. */
const PUBLIC = [
  'index.ts',
  'alpaca-broker.ts',
  'ccxt-broker.ts',
  'feeds/alpaca-feed.ts',
  'feeds/ccxt-feed.ts',
  'llm-scorer.ts',
  'scoring/index.ts',
  'chat-agent.ts',
  'bot.ts',
  'mongo/mongo-store.ts',
];

const below = (type) => LAYERS.slice(0, LAYERS.indexOf(type));
/** Each layer's elements and what names one element of it (a captured folder). */
const CAPTURE = { agent: 'agent', infra: 'area', app: 'area', interface: 'adapter' };
const own = (type) =>
  CAPTURE[type] ? { type, captured: { [CAPTURE[type]]: `{{ from.element.captured.${CAPTURE[type]} }}` } } : { type };

export const layerPolicies = [
  // within an element, any file; another element only through its public entry
  ...LAYERS.map((type) => ({ from: { element: { type } }, allow: { to: { element: own(type) } } })),
  ...LAYERS.map((type) => ({
    from: { element: { type } },
    allow: { to: { element: { type: below(type), fileInternalPath: PUBLIC } } },
  })),
  // elements of one layer that may use each other: infrastructure areas, application areas
  ...['infra', 'app'].map((type) => ({
    from: { element: { type } },
    allow: { to: { element: { type, fileInternalPath: PUBLIC } } },
  })),
  // the composition root may use the other entry-layer files
  { from: { element: { type: 'entry' } }, allow: { to: { element: { type: 'entry' } } } },
  // an agent knows no other agent: they meet only on the bus (no policy lets agent reach agent)
  // an interface adapts the command layer (interfaces/commands), which knows none of them; the
  // adapters share the notifier and the conversational agent, and know no other adapter
  {
    from: { element: { type: 'interface', captured: { adapter: '!commands' } } },
    allow: {
      to: {
        element: { type: 'interface', captured: { adapter: ['commands', 'notify', 'chat'] }, fileInternalPath: PUBLIC },
      },
    },
  },
];

/**
 * The agents' ports to the outside world: bindings (agent.ts: where real clocks, timers and
 * brokers are plugged in), feeds and news sources that read files or the network, broker
 * adapters and the LLM scorer. Everything else under agents/ is domain code and must be pure
 * (eslint.config.js).
 */
export const AGENT_PORTS = [
  'agents/*/agent.ts',
  'agents/data/pump.ts',
  'agents/data/feeds/alpaca-feed.ts',
  'agents/data/feeds/ccxt-feed.ts',
  'agents/data/feeds/csv-feed.ts',
  'agents/data/feeds/live-outlet.ts',
  'agents/data/feeds/ndjson-feed.ts',
  'agents/data/feeds/read-feed-file.ts',
  'agents/data/feeds/yaml-text.ts',
  'agents/execution/alpaca-broker.ts',
  'agents/execution/broker.ts',
  'agents/execution/ccxt-broker.ts',
  'agents/execution/resilience.ts',
  'agents/strategy/sdk/guard.ts',
  'agents/sentiment/llm-scorer.ts',
  'agents/sentiment/news/news-file.ts',
  'agents/sentiment/news/pump.ts',
  'agents/sentiment/news/rss-feed.ts',
  'agents/sentiment/scoring/labelled-csv.ts',
];
