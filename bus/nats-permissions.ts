import {
  BUS_ROLES,
  type BusRole,
  catalog,
  type CatalogEntry,
  type MessageType,
  patterns,
  RECORDED_SUBJECTS,
  subjects,
  type SubjectPattern,
  withPrefix,
} from '../src/core/index.js';
import { recordingStreamName, streamName } from './create-bus.js';

/**
 * What one role may do on NATS: the subjects it may publish to and subscribe to, and whether it may
 * answer requests it received (query services, `agent.control`, JetStream acknowledgements).
 */
export interface NatsPermissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
  readonly allowResponses: boolean;
}

/** The user of operators and their tools (record export, stream replays, nats CLI): everything. */
export const ADMIN_USER = 'admin';
/** The user of backtests over NATS: everything, in an account of its own that cannot see trading. */
export const BACKTEST_USER = 'backtest';

/** Where a role's request replies and JetStream deliveries arrive: an inbox no other role may read. */
export const inboxPrefix = (role: BusRole | typeof ADMIN_USER): string => `_INBOX.${role}`;

/**
 * What every process reads: the market cache (bars, ticks) every kernel keeps, and the figures its
 * metrics follow (order outcomes, trading state, portfolio, agent health; the store watch reads the state).
 */
const EVERY_PROCESS_READS: readonly SubjectPattern[] = [
  patterns.marketBars,
  patterns.marketTicks,
  patterns.orders,
  subjects.riskState(),
  subjects.portfolioUpdated(),
  patterns.agentHealth,
];

/**
 * Core NATS subscriptions beyond those: each agent's inlets off the order path, the query services it
 * answers; the recorder and the API read every Sextant subject (the event log; the API's live stream).
 */
const READS: Readonly<Record<BusRole, readonly SubjectPattern[]>> = {
  data: [patterns.dataAcceptPrice],
  sentiment: [
    patterns.exact(subjects.newsItem()),
    patterns.exact(subjects.sentimentScored()),
    subjects.query('sentiment'),
  ],
  strategy: [patterns.sentimentUpdates, subjects.query('signals')],
  risk: [patterns.riskCommands, patterns.systemRiskCommands, subjects.query('risk')],
  execution: [subjects.query('orders')],
  portfolio: [subjects.query('portfolio'), subjects.query('positions'), subjects.query('strategies')],
  recorder: RECORDED_SUBJECTS as SubjectPattern[],
  api: RECORDED_SUBJECTS as SubjectPattern[],
  bots: [],
};

/**
 * The order path's messages each agent consumes through a JetStream durable consumer (its inlets on
 * `order.*`), and what a restarted agent reads back from the stream (execution: its own outputs).
 */
export const DURABLE_READS: Readonly<Record<BusRole, readonly SubjectPattern[]>> = {
  data: [],
  sentiment: [],
  strategy: [subjects.orderRejected(), subjects.orderFilled(), subjects.orderCancelled(), subjects.orderFailed()],
  risk: [subjects.orderIntent(), subjects.orderFilled(), subjects.orderCancelled(), subjects.orderFailed()],
  execution: [subjects.orderApproved(), patterns.orders],
  portfolio: [subjects.orderFilled()],
  recorder: [],
  api: [],
  bots: [],
};

/** Roles that serve requests (queries, agent control) or acknowledge JetStream deliveries. */
const ANSWERS: ReadonlySet<BusRole> = new Set<BusRole>([
  'data',
  'sentiment',
  'strategy',
  'risk',
  'execution',
  'portfolio',
  'recorder',
]);

/** The store queries the event log's writer answers (src/infra/store/store-queries.ts). */
const STORE_QUERIES = ['trace', 'events', 'order-log', 'fills'] as const;

const isAgent = (role: BusRole): boolean => !(['recorder', 'api', 'bots'] as string[]).includes(role);

/** The subjects of a catalog type `role` may publish on (none when the catalog does not name it). */
function publishable(role: BusRole, type: MessageType, entry: CatalogEntry): string[] {
  const by = entry.by;
  if (by !== 'every role' && !by.includes(role)) return [];
  if (type === 'agent.health') return [subjects.agentHealth(role)]; // its own health only
  if (type === 'query.request') return [`query.*`];
  return entry.pattern ? [entry.pattern] : [];
}

/**
 * The NATS permissions of a role, derived from the message catalog: it may publish exactly the types
 * whose `by` names it (and the system's risk commands, `run.started`, dead letters of what it handles),
 * subscribe to what it reads, and use JetStream only on its namespace's streams. Every subject carries
 * the namespace prefix when there is one (SEXTANT_NAMESPACE).
 */
export function natsPermissions(role: BusRole, options: { readonly namespace?: string } = {}): NatsPermissions {
  const ns = options.namespace ?? '';
  const pub = new Set<string>();
  const sub = new Set<string>();
  for (const [type, entry] of Object.entries(catalog) as [MessageType, CatalogEntry][])
    for (const subject of publishable(role, type, entry)) pub.add(subject);
  // the kill switch of a process whose store takes no writes (src/infra/store/write-watch.ts)
  pub.add(patterns.systemRiskCommands);
  const reads = [...EVERY_PROCESS_READS, ...READS[role]];
  if (isAgent(role)) reads.push(subjects.agentControl(role));
  if (role === 'recorder') for (const q of STORE_QUERIES) reads.push(subjects.query(q));
  for (const r of reads) sub.add(r);
  // dead letters: of what it receives (a message that fails validation or handling) and of what it
  // would have published (a feed's refused bar)
  for (const s of [...sub, ...pub, ...DURABLE_READS[role]]) if (!s.startsWith('dlq.')) pub.add(withPrefix('dlq', s));
  return {
    publish: unique([...[...pub].map((s) => withPrefix(ns, s)), ...jetStreamApi(role, ns)]),
    subscribe: unique([...[...sub].map((s) => withPrefix(ns, s)), `${inboxPrefix(role)}.>`]),
    allowResponses: ANSWERS.has(role),
  };
}

/**
 * The JetStream API a role needs: roles on the order path may look up the namespace's streams and
 * create them when missing (never change or delete them: a stream's configuration could redirect
 * subjects), create and read consumers filtered to what they read, and use the scale-out bucket when
 * they are partitioned (the strategy agent).
 */
function jetStreamApi(role: BusRole, ns: string): string[] {
  const prefix = ns || undefined;
  const orderPublisher = (Object.entries(catalog) as [MessageType, CatalogEntry][]).some(
    ([type, e]) => type.startsWith('order.') && (e.by === 'every role' || e.by.includes(role)),
  );
  const consumes = DURABLE_READS[role];
  if (!orderPublisher && consumes.length === 0) return [];
  const stream = streamName(prefix);
  const recording = recordingStreamName(prefix);
  const out = [
    '$JS.API.INFO',
    `$JS.API.STREAM.INFO.${stream}`,
    `$JS.API.STREAM.CREATE.${stream}`,
    `$JS.API.STREAM.INFO.${recording}`,
    `$JS.API.STREAM.CREATE.${recording}`,
  ];
  if (consumes.length > 0) {
    out.push(
      `$JS.API.CONSUMER.INFO.${stream}.*`,
      `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`,
      `$JS.API.CONSUMER.LIST.${stream}`,
      `$JS.API.CONSUMER.DELETE.${stream}.*`,
    );
    for (const filter of consumes) out.push(`$JS.API.CONSUMER.CREATE.${stream}.*.${withPrefix(ns, filter)}`);
  }
  if (role === 'strategy') {
    const bucket = `sextant_partitions${ns ? `_${ns}` : ''}`;
    const kv = `KV_${bucket}`;
    out.push(
      `$JS.API.STREAM.INFO.${kv}`,
      `$JS.API.STREAM.CREATE.${kv}`,
      `$JS.API.STREAM.MSG.GET.${kv}`,
      `$JS.API.DIRECT.GET.${kv}.>`,
      `$JS.API.CONSUMER.CREATE.${kv}.>`,
      `$JS.API.CONSUMER.INFO.${kv}.*`,
      `$JS.API.CONSUMER.MSG.NEXT.${kv}.*`,
      `$JS.API.CONSUMER.DELETE.${kv}.*`,
      `$KV.${bucket}.>`,
    );
  }
  return out;
}

const unique = (xs: readonly string[]) => [...new Set(xs)];

/** Options of the generated server configuration. */
export interface NatsConfigOptions {
  /** SEXTANT_NAMESPACE of the deployment, if any. */
  readonly namespace?: string;
}

/** The environment variable the server reads a user's password from (`NATS_PASSWORD_RISK`). */
export const passwordVariable = (user: string): string => `NATS_PASSWORD_${user.toUpperCase()}`;

const list = (xs: readonly string[], indent: string) =>
  `[\n${xs.map((x) => `${indent}  ${JSON.stringify(x)}`).join('\n')}\n${indent}]`;

/**
 * The NATS server configuration of a deployment (deploy/nats/nats.conf, written by
 * `npm run nats:config`): the account SEXTANT with one user per role and its permissions, plus the
 * admin user; the account BACKTEST, apart, for backtests over NATS. Passwords are read from the
 * server's environment (`NATS_PASSWORD_<USER>`); the server refuses to start when one is missing.
 * Listening, JetStream storage and monitoring are the command line's (`-js -sd DIR -m 8222`).
 */
export function renderNatsConfig(options: NatsConfigOptions = {}): string {
  const user = (name: string, perms?: NatsPermissions) => {
    const lines = [`      user: ${name}`, `      password: $${passwordVariable(name)}`];
    if (perms)
      lines.push(
        '      permissions: {',
        `        publish: { allow: ${list(perms.publish, '        ')} }`,
        `        subscribe: { allow: ${list(perms.subscribe, '        ')} }`,
        ...(perms.allowResponses ? ['        allow_responses: true'] : []),
        '      }',
      );
    return `    {\n${lines.join('\n')}\n    }`;
  };
  const roles = BUS_ROLES.map((role) => user(role, natsPermissions(role, options)));
  return `# Sextant's NATS users and their permissions: one user per role. Generated from the message catalog
# (src/core/domain/messages.ts: who publishes each type) by bus/nats-permissions.ts; do not edit by hand:
# run \`npm run nats:config\` (a test fails when this file is out of date).${options.namespace ? `\n# Namespace: ${options.namespace}.` : ''}
#
# Each user's password comes from the server's environment: ${passwordVariable('<user>')} (e.g.
# ${passwordVariable('risk')}); nats-server does not start while one is unset. Sextant's processes connect as
# their role (NATS_USER, NATS_PASSWORD or NATS_PASSWORD_FILE); see README "Security model".
# Start: nats-server -c nats.conf -js -sd /data [-m 8222]

accounts {
  SEXTANT {
    jetstream: enabled
    users: [
${[...roles, user(ADMIN_USER)].join('\n')}
    ]
  }
  # backtests over NATS (sextant backtest --transport nats): everything, but nothing of the trading account
  BACKTEST {
    jetstream: enabled
    users: [
${user(BACKTEST_USER)}
    ]
  }
}
`;
}
