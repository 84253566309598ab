import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

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

/** For tests and tools that must not print. */
export const silentLogger: Logger = pino({ level: 'silent' });
