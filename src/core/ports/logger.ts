import { createRequire } from 'node:module';
import type * as Pino from 'pino';
import type { Logger as PinoLogger, DestinationStream } from 'pino';

/**
 * pino, loaded by the first createLogger: a process or thread that logs nothing (a backtest, a
 * study's worker threads, which use silentLogger) does not load it (~25 ms of start-up each).
 */
let pinoModule: typeof Pino | undefined;
const pinoOf = (): typeof Pino => (pinoModule ??= createRequire(import.meta.url)('pino') as typeof Pino);

/** The logger type every component receives through its deps. */
export type Logger = PinoLogger;

export interface LoggerOptions {
  level?: string;
  /** Identifies the process (e.g. `sextant/1`); every line carries it. */
  instance?: string;
  /** Where lines go; stdout by default. Tests pass a stream. */
  destination?: DestinationStream;
}

/**
 * The one root logger: JSON lines, ISO time. Components take `logger.child({ agent })`;
 * every line about a message adds `messageLogFields(env)` (type, correlationId, causationId).
 * Secrets never reach it: config is logged only through `redactConfig`.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const { pino } = pinoOf();
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'sextant', ...(options.instance ? { instance: options.instance } : {}) },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}

const nothing = (): void => undefined;

/**
 * For tests and tools that must not print: every level method does nothing, and a child is the
 * logger itself. Made without pino (see pinoOf); it has the parts of pino's Logger that Sextant
 * uses (the level methods, child, isLevelEnabled, flush, level, bindings).
 */
export const silentLogger: Logger = (() => {
  const silent = {
    level: 'silent',
    fatal: nothing,
    error: nothing,
    warn: nothing,
    info: nothing,
    debug: nothing,
    trace: nothing,
    silent: nothing,
    child: () => silent,
    isLevelEnabled: () => false,
    flush: (cb?: (err?: Error) => void) => cb?.(),
    bindings: () => ({}),
  };
  return silent as unknown as Logger;
})();
