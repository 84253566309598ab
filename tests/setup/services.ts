import { connect as netConnect } from 'node:net';
import type { TestProject } from 'vitest/node';
import { startFerretDb, startNatsServer, type OwnServer } from '../../scripts/services/servers.js';
import { ensureNatsServer, ensureTool, tools, versionOf } from '../../scripts/services/tools.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The NATS URL (JetStream) every NATS test uses. */
    natsUrl: string;
    /** The MongoDB-wire URI every MongoDB test uses. */
    mongoUri: string;
    /** What serves them, for test names and the log. */
    services: { nats: string; mongo: string };
  }
}

/**
 * The services of the whole suite. NATS_URL / MONGODB_URI when given (they must answer), else
 * servers of the run's own: nats-server and FerretDB (a MongoDB wire-protocol server on SQLite),
 * built once per machine into a cache (scripts/services/tools.ts) and started on free ports in
 * temporary folders, removed when the run ends. A tier that cannot run fails the run here with
 * the reason: nothing is skipped for want of a server.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: OwnServer[] = [];
  const say = (line: string) => console.log(`[services] ${line}`);
  try {
    let natsUrl = process.env.NATS_URL;
    let natsWhat: string;
    if (natsUrl) {
      await probeNats(natsUrl.split(',')[0]!.trim());
      natsWhat = `NATS at NATS_URL=${natsUrl}`;
    } else {
      const bin = ensureNatsServer(say);
      const server = await startNatsServer(bin);
      started.push(server);
      natsUrl = server.url;
      natsWhat = `${versionOf(bin)} (started for this run)`;
    }

    let mongoUri = process.env.MONGODB_URI;
    let mongoWhat: string;
    if (mongoUri) {
      await pingMongo(mongoUri);
      mongoWhat = `MongoDB at MONGODB_URI`;
    } else {
      const server = await startFerretDb(ensureTool(tools.ferretdb, say));
      started.push(server);
      mongoUri = server.url;
      mongoWhat = `FerretDB ${tools.ferretdb.version} on SQLite (started for this run)`;
    }
    say(`NATS: ${natsWhat} at ${natsUrl}`);
    say(`MongoDB wire: ${mongoWhat} at ${redact(mongoUri)}`);
    project.provide('natsUrl', natsUrl);
    project.provide('mongoUri', mongoUri);
    project.provide('services', { nats: natsWhat, mongo: mongoWhat });
  } catch (err) {
    await Promise.all(started.map((s) => s.dispose()));
    throw new Error(
      `the test services could not be had, so the NATS / MongoDB tiers cannot run: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return async () => {
    await Promise.all(started.map((s) => s.dispose()));
  };
}

/** Resolves when a NATS server with JetStream greets at the URL's host and port; throws otherwise. */
function probeNats(url: string, timeoutMs = 3000): Promise<void> {
  const u = new URL(url.includes('://') ? url : `nats://${url}`);
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: u.hostname, port: Number(u.port || 4222) });
    const fail = (why: string) => {
      socket.destroy();
      reject(new Error(`NATS_URL=${url}: ${why}`));
    };
    socket.setTimeout(timeoutMs, () => fail(`no answer within ${timeoutMs} ms`));
    socket.once('error', (e) => fail(e.message));
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString();
      const nl = buf.indexOf('\r\n');
      if (nl < 0) return;
      if (!buf.startsWith('INFO ')) return fail('it answered, but not as a NATS server');
      let info: { jetstream?: boolean };
      try {
        info = JSON.parse(buf.slice(5, nl)) as { jetstream?: boolean };
      } catch {
        return fail('its INFO line is not JSON');
      }
      socket.destroy();
      if (info.jetstream) resolve();
      else fail('the server has no JetStream (start it with -js)');
    });
  });
}

async function pingMongo(uri: string): Promise<void> {
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.db('admin').command({ ping: 1 });
  } catch (err) {
    throw new Error(`MONGODB_URI is set (${redact(uri)}) but nothing answered a ping: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    await client.close().catch(() => undefined);
  }
}

const redact = (uri: string) => uri.replace(/\/\/[^@/]*@/, '//***@');
