import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A server process of our own on 127.0.0.1 (nats-server or FerretDB), in a temporary folder of
 * its own: the first start picks a free port (the server binds port 0 and logs the port), later
 * starts reuse it with the same data, so a test can kill it and bring it back.
 */
export interface OwnServer {
  /** `nats://127.0.0.1:PORT` or `mongodb://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** The folder holding its data and logs. */
  readonly dir: string;
  /** Kills the server (SIGKILL by default: nothing is flushed or said goodbye to). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  dispose(): Promise<void>;
}

interface ServerSpec {
  readonly scheme: string;
  /** Temp folder name prefix. */
  readonly label: string;
  /** The command line for a port (0 on the first start) and the folder. */
  args(port: number, dir: string): string[];
  env?: NodeJS.ProcessEnv;
  /** The bound port, once the log shows the server is ready. */
  readyPort(log: string): number | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const READY_WITHIN_MS = 15_000;

async function startOwnServer(bin: string, spec: ServerSpec): Promise<OwnServer> {
  const dir = mkdtempSync(join(tmpdir(), `sextant-${spec.label}-`));
  let child: ChildProcess | undefined;
  let port = 0;
  let runs = 0;

  const start = async () => {
    const log = join(dir, `${spec.label}-${++runs}.log`);
    // The server writes its own log file (nats -l) or we point its output at one (FerretDB).
    const fd = openSync(log, 'a');
    try {
      child = spawn(
        bin,
        spec.args(port, dir).map((a) => a.replace('{log}', log)),
        { stdio: ['ignore', fd, fd], env: { ...process.env, ...spec.env } },
      );
    } finally {
      closeSync(fd);
    }
    const c = child;
    const deadline = Date.now() + READY_WITHIN_MS;
    while (Date.now() < deadline) {
      await sleep(20);
      const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
      const p = spec.readyPort(text);
      if (p !== undefined) {
        port = p;
        return;
      }
      if (c.exitCode !== null || c.signalCode !== null)
        throw new Error(`${bin} exited during start-up (${c.exitCode ?? c.signalCode}): ${text.slice(-2000)}`);
    }
    c.kill('SIGKILL');
    throw new Error(
      `${bin} did not become ready within ${READY_WITHIN_MS / 1000} s; log: ${readFileSync(log, 'utf8').slice(-2000)}`,
    );
  };

  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    // a server that does not stop on SIGTERM within 5 s is killed
    const force = signal === 'SIGKILL' ? undefined : setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(force);
  };

  try {
    await start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    get url() {
      return `${spec.scheme}://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dir,
    kill,
    start,
    dispose: async () => {
      await kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * nats-server with JetStream (file store in its folder), on a free port; with `config`, that
 * configuration file too (users and permissions: deploy/nats/nats.conf), the variables it reads
 * (passwords) in `env`.
 */
export function startNatsServer(
  bin: string,
  options: { readonly config?: string; readonly env?: Record<string, string> } = {},
): Promise<OwnServer> {
  return startOwnServer(bin, {
    scheme: 'nats',
    label: 'nats',
    ...(options.env ? { env: options.env } : {}),
    args: (port, dir) => [
      ...(options.config ? ['-c', options.config] : []),
      '-js',
      '-a',
      '127.0.0.1',
      '-p',
      String(port || -1),
      '-sd',
      join(dir, 'js'),
      '-l',
      '{log}',
    ],
    readyPort: (log) => {
      const m = /Listening for client connections on [^ ]*:(\d+)/.exec(log);
      return m && /Server is ready/.test(log) ? Number(m[1]) : undefined;
    },
  });
}

/**
 * FerretDB on its SQLite backend (one file per database in its folder), on a free port: no
 * other server needed. Telemetry is off (DO_NOT_TRACK and --telemetry=disable: its beacon must
 * not be attempted from here) and so is its debug HTTP listener.
 */
export function startFerretDb(bin: string): Promise<OwnServer> {
  return startOwnServer(bin, {
    scheme: 'mongodb',
    label: 'ferretdb',
    env: { DO_NOT_TRACK: '1' },
    args: (port, dir) => [
      '--handler=sqlite',
      `--sqlite-url=file:${dir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      '--debug-addr=-',
      '--telemetry=disable',
      `--state-dir=${dir}`,
      // INFO: its 'Listening on TCP host:port' line is how the bound port is learnt
      '--log-level=info',
      '--log-format=text',
    ],
    readyPort: (log) => {
      const m = /Listening on TCP 127\.0\.0\.1:(\d+)/.exec(log);
      return m ? Number(m[1]) : undefined;
    },
  });
}
