import { spawn, type ChildProcess } from 'node:child_process';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { recordingStreamName, streamName } from '../../bus/create-bus.js';
import { join, resolve } from 'node:path';
import { sharedFile } from './test-data.js';

const root = resolve(import.meta.dirname, '../..');

/** A `sextant agent <name>` (or any sextant command) running as a process of its own. */
export interface AgentProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Everything it printed so far (only the tail past 50 MB). */
  output(): string;
  /** SIGTERM (drain and exit), waiting for the exit; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * How long a process may take to log that it is running. A strategy instance joining mid-run is
 * running only once it has taken its symbols over (and handled what was parked for them): under
 * the whole suite on a slow day of the 2-core VM that took over 20 s while it was already
 * handling messages.
 */
const START_MS = 60_000;

/**
 * Starts `sextant <args>` from the source tree with only `env` (plus PATH and HOME) and resolves
 * once it logs "sextant running"; rejects with its output if it exits or takes over START_MS.
 */
export function startAgentProcess(
  name: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<AgentProcess> {
  return new Promise((resolveStart, reject) => {
    const child = spawn(process.execPath, ['--max-semi-space-size=64', join(root, 'src/cli/sextant.mjs'), ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const keep = (d: Buffer) => {
      out += d.toString();
      if (out.length > 50_000_000) out = out.slice(-10_000_000);
    };
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start within ${START_MS / 1000} s:\n${out.slice(-3000)}`)),
      START_MS,
    );
    const proc: AgentProcess = {
      name,
      child,
      output: () => out,
      async stop(graceMs = 10_000) {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(kill);
      },
    };
    child.stdout!.on('data', (d: Buffer) => {
      keep(d);
      if (out.includes('sextant running')) {
        clearTimeout(timer);
        resolveStart(proc);
      }
    });
    child.stderr!.on('data', keep);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was running:\n${out.slice(-3000)}`));
    });
  });
}

/** SIGKILL: the process dies at once (no drain, no last checkpoint); resolves once it has exited. */
export async function killHard(proc: AgentProcess): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise((r) => proc.child.once('exit', r));
  proc.child.kill('SIGKILL');
  await exited;
}

/** Limits that never bind (as the backtest's): this run checks the pipeline, not risk. */
export const OPEN_LIMITS = {
  RISK_MAX_POSITION_QTY: '1000000000',
  RISK_MAX_POSITION_NOTIONAL: '1000000000000',
  RISK_MAX_ORDER_NOTIONAL: '1000000000000',
  RISK_MAX_GROSS_EXPOSURE: '1000000000000',
  RISK_MAX_OPEN_ORDERS: '100000',
  RISK_MAX_ORDERS_PER_WINDOW: '100000000',
  RISK_MAX_ORDERS_PER_WINDOW_PER_SYMBOL: '100000000',
  RISK_MAX_DAILY_LOSS: '1000000000000',
  RISK_MAX_DRAWDOWN: '1',
  RISK_PRICE_BAND: '1000',
};

/**
 * The settings of the ORCL SMA(10,30) reference run through agent processes (tests/integration:
 * multi-process, nats-permissions): the CSV feed paced at about 1,000 bars/s (across processes nothing
 * holds the feed back for the slowest consumer), limits that never bind, no store.
 */
export function orclRunEnv(natsUrl: string): Record<string, string> {
  return {
    NATS_URL: natsUrl,
    STORE: 'off',
    PORT: '0',
    HEARTBEAT_INTERVAL_MS: '60000',
    BUS_REQUEST_TIMEOUT_MS: '20000',
    STRATEGY: 'sma-cross',
    STRATEGY_FAST: '10',
    STRATEGY_SLOW: '30',
    STRATEGY_SIZE: '100',
    PORTFOLIO_START_CASH: '100000',
    DATA_FEED: 'csv',
    DATA_FILE: sharedFile('market/orcl-1995-2014.csv'),
    DATA_SYMBOLS: 'ORCL',
    DATA_PACE_MS: '1',
    ...OPEN_LIMITS,
  };
}

/**
 * What a deployment test leaves on the shared NATS server, removed: each namespace's order
 * stream and scale-out bucket (absent ones are fine).
 */
export async function removeNamespaces(natsUrl: string, namespaces: readonly string[]): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    for (const ns of namespaces) {
      await jsm.streams.delete(streamName(ns)).catch(() => undefined);
      await jsm.streams.delete(recordingStreamName(ns)).catch(() => undefined);
      // a KV bucket is the stream KV_<bucket>
      await jsm.streams.delete(`KV_sextant_partitions_${ns}`).catch(() => undefined);
    }
  } finally {
    await nc.close();
  }
}
