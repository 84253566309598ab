import { connect as netConnect } from 'node:net';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A reachable NATS URL with JetStream, or null when the NATS tier cannot run. */
    natsUrl: string | null;
    natsUnavailableReason: string;
    /** A reachable MongoDB URI, or null when the MongoDB tier cannot run. */
    mongoUri: string | null;
    mongoUnavailableReason: string;
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
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
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

  const mongo = await findMongo();
  if (!mongo.uri) {
    console.warn(`\n!!! MongoDB tier NOT RUN (reported as skipped): ${mongo.reason}. !!!\n`);
    if (process.env.CI === 'true' && process.env.MONGODB_URI) throw new Error(`CI set MONGODB_URI but ${mongo.reason}`);
  }
  project.provide('mongoUri', mongo.uri);
  project.provide('mongoUnavailableReason', mongo.reason);
  return mongo.stop;
}

/**
 * The MongoDB for the store contract: MONGODB_URI when set (it must answer), else a
 * mongodb-memory-server replica set when that package is installed and can get its binary
 * (it downloads one: fine on a developer machine with internet, impossible on an offline one).
 */
async function findMongo(): Promise<{ uri: string | null; reason: string; stop: () => Promise<void> }> {
  const none = async () => undefined;
  const given = process.env.MONGODB_URI;
  if (given) {
    const { MongoClient } = await import('mongodb');
    const client = new MongoClient(given, { serverSelectionTimeoutMS: 3000 });
    try {
      await client.db('admin').command({ ping: 1 });
      return { uri: given, reason: '', stop: none };
    } catch (err) {
      return { uri: null, reason: `MONGODB_URI is set but MongoDB did not answer: ${(err as Error).message}`, stop: none };
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  const pkg = 'mongodb-memory-server';
  let mms: { MongoMemoryReplSet: { create(o: unknown): Promise<{ getUri(): string; stop(): Promise<boolean> }> } };
  try {
    mms = (await import(pkg)) as typeof mms;
  } catch {
    return { uri: null, reason: 'MONGODB_URI is unset and mongodb-memory-server is not installed (`npm i -D mongodb-memory-server` on a machine with internet, or point MONGODB_URI at a MongoDB)', stop: none };
  }
  try {
    const server = await mms.MongoMemoryReplSet.create({ replSet: { count: 1 } });
    return { uri: server.getUri(), reason: '', stop: async () => void (await server.stop()) };
  } catch (err) {
    return { uri: null, reason: `MONGODB_URI is unset and mongodb-memory-server could not start a MongoDB: ${(err as Error).message}`, stop: none };
  }
}
