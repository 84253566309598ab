import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A nats-server of a test's own (JetStream, file store), which the test may kill and restart. */
export interface OwnNatsServer {
  readonly url: string;
  readonly port: number;
  /** Kills the server (SIGKILL by default: nothing is flushed or said goodbye to). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port with the same JetStream store. */
  start(): Promise<void>;
  /** Kills it and removes its store. */
  dispose(): Promise<void>;
}

/** Debian installs nats-server to /usr/sbin, which a non-root PATH may lack. */
export function natsServerBinary(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat('/usr/sbin', '/usr/local/bin')) {
    const bin = join(dir, 'nats-server');
    if (dir && existsSync(bin)) return bin;
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts nats-server -js on a free port (the first start picks it; restarts reuse it). */
export async function startOwnNatsServer(): Promise<OwnNatsServer> {
  const bin = natsServerBinary();
  if (!bin) throw new Error('nats-server is not installed (apt install nats-server); the chaos tests start their own');
  const dir = mkdtempSync(join(tmpdir(), 'sextant-own-nats-'));
  let child: ChildProcess | undefined;
  let port = -1;
  let runs = 0;

  const start = async () => {
    const log = join(dir, `nats-${++runs}.log`);
    child = spawn(bin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'js'), '-l', log], { stdio: 'ignore' });
    for (let i = 0; i < 200; i++) {
      await sleep(25);
      const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
      const m = /Listening for client connections on [^ ]*:(\d+)/.exec(text);
      if (m && /Server is ready/.test(text)) {
        port = Number(m[1]);
        return;
      }
      if (child.exitCode !== null) throw new Error(`nats-server exited during start-up: ${text}`);
    }
    throw new Error('nats-server did not become ready in 5 s');
  };

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await exited;
  };

  await start();
  return {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    kill,
    start,
    dispose: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
