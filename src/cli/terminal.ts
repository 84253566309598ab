import pinoPretty from 'pino-pretty';
import type { Config } from '../../config/index.js';
import type { AgentName, LoggerOptions } from '../core/index.js';

/** Whether this run talks to a person: LOG_FORMAT=pretty, or auto on a terminal. */
export function isPretty(config: Config, tty: boolean): boolean {
  return config.logFormat === 'pretty' || (config.logFormat === 'auto' && tty);
}

/**
 * The logger of a run a person watches: readable single lines (pino-pretty), warnings and
 * errors only unless LOG_LEVEL asks for more detail (debug, trace); the decisions themselves are
 * narrated (interfaces/terminal). JSON lines (the default logger) are for everything else.
 */
export function prettyLogger(config: Config, color: boolean): Pick<LoggerOptions, 'level' | 'destination'> {
  return {
    level: config.logLevel === 'info' ? 'warn' : config.logLevel,
    destination: pinoPretty({
      colorize: color,
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname,service,instance',
      sync: true,
    }),
  };
}

/** What runs, where to look, where data goes: the few lines a person reads first. */
export function banner(config: Config, agents: readonly AgentName[], dashboard: string | undefined): string {
  const d = config.data;
  const market =
    d.feed === 'synthetic'
      ? `synthetic ${d.symbols.join(', ')}, one ${d.synthetic.barMs / 1000} s bar every ${d.paceMs} ms of wall time`
      : `${d.feed} file ${d.file} (${d.symbols.join(', ')})`;
  const s = config.strategy;
  const params = Object.entries(s.params).map(([k, v]) => `${k}=${v}`);
  const strategy = s.file
    ? `instances from ${s.file}`
    : s.name === 'sma-cross'
      ? `sma-cross ${s.params.fast ?? s.fast}/${s.params.slow ?? s.slow}`
      : s.name === 'rsi-reversion'
        ? `rsi-reversion ${s.rsi.period} (${s.rsi.oversold}/${s.rsi.overbought})`
        : `${s.name}${params.length ? ` (${params.join(', ')})` : ''}`;
  const store =
    config.store.kind === 'off'
      ? 'nothing kept (STORE=off)'
      : config.mongoUri
        ? 'MongoDB'
        : `kept in ${config.dataDir}`;
  const lines = [
    `Sextant: ${agents.length === config.runtime.agents.length ? 'every agent' : agents.join(', ')} in this process, ${config.natsUrl ? 'over NATS' : 'in-memory bus'}, ${config.broker.kind === 'paper' ? 'paper broker' : `broker ${config.broker.kind}`}`,
    `Market: ${market}; strategy ${strategy}; ${store}`,
    ...(dashboard ? [dashboard] : []),
    'One line per decision below (LOG_FORMAT=json for log lines); Ctrl-C stops after a checkpoint.',
  ];
  return lines.join('\n');
}
