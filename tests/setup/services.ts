import { connect as netConnect } from 'node:net';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A reachable NATS URL with JetStream, or null when the NATS tier cannot run. */
    natsUrl: string | null;
    natsUnavailableReason: string;
  }
}

/** Answers true when a NATS server greets us with INFO at host:port. */
function probe(url: string, timeoutMs = 1500): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = netConnect({ host: u.hostname, port: Number(u.port || 4222) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (d) => done(d.toString().startsWith('INFO')));
  });
}

/**
 * Finds the NATS server for the integration tier: NATS_URL, else 127.0.0.1:4222. When none
 * answers, the tier is skipped with a loud message, except under CI=true, where the run fails.
 */
export default async function setup(project: TestProject): Promise<void> {
  const candidate = process.env.NATS_URL || 'nats://127.0.0.1:4222';
  const ok = await probe(candidate.split(',')[0]!.trim());
  const reason = ok ? '' : `no NATS server answered at ${candidate}`;
  if (!ok) {
    const banner = `\n!!! NATS integration tier NOT RUN: ${reason}. Start one with \`nats-server -js\` or set NATS_URL. !!!\n`;
    if (process.env.CI === 'true') {
      throw new Error(`CI=true requires the NATS tier, but ${reason}. .ci/run starts nats-server; check it.`);
    }
    console.warn(banner);
  }
  project.provide('natsUrl', ok ? candidate : null);
  project.provide('natsUnavailableReason', reason);
}
