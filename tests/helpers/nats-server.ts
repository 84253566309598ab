import { startNatsServer, type OwnServer } from '../../scripts/services/servers.js';
import { ensureNatsServer } from '../../scripts/services/tools.js';

/** A nats-server of a test's own (JetStream, file store), which the test may kill and restart. */
export type OwnNatsServer = OwnServer;

/** The nats-server binary the suite uses (built into the tools cache by the global setup). */
export function natsServerBinary(): string {
  return ensureNatsServer();
}

/**
 * Starts nats-server -js on a free port (the first start picks it; restarts reuse it); with a
 * configuration file (users and permissions) and the environment it reads.
 */
export function startOwnNatsServer(
  options: { readonly config?: string; readonly env?: Record<string, string> } = {},
): Promise<OwnNatsServer> {
  return startNatsServer(natsServerBinary(), options);
}
