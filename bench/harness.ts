import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Small helpers shared by the benches: timing, peak-RSS sampling, a text table and result
 * files in `bench/results/`. Nothing here knows about the bus.
 */

/** Where result files go: `bench/results/`, next to this file. */
export const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));

const MB = 1024 * 1024;

/** Bytes to MB with one decimal, for tables and JSON. */
export const toMB = (bytes: number): number => Math.round((bytes / MB) * 10) / 10;

/**
 * Polls `process.memoryUsage.rss()` on a timer and remembers the peak. Timers only fire when
 * the measured code yields to the event loop; `stop()` therefore also takes one last sample.
 * `resourceUsage().maxRSS` is the process-wide peak since start (monotonic), reported as well.
 */
export class RssSampler {
  #peak = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs = 25) {}

  start(): this {
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.intervalMs);
    this.#timer.unref();
    return this;
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.#peak) this.#peak = rss;
  }

  /** Stops sampling; returns the peak RSS seen, in bytes. */
  stop(): number {
    this.sample();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    return this.#peak;
  }
}

export interface Measurement<T> {
  readonly name: string;
  /** Wall time of `fn`, milliseconds. */
  readonly ms: number;
  /** Peak RSS sampled while `fn` ran, bytes. */
  readonly peakRssBytes: number;
  readonly result: T;
}

/** Runs `fn` once, timing it and sampling RSS while it runs. */
export async function measure<T>(name: string, fn: () => T | Promise<T>): Promise<Measurement<T>> {
  const sampler = new RssSampler().start();
  const started = performance.now();
  try {
    const result = await fn();
    const ms = performance.now() - started;
    return { name, ms, peakRssBytes: sampler.stop(), result };
  } finally {
    sampler.stop();
  }
}

/** Messages per second, rounded. */
export const perSecond = (count: number, ms: number): number => Math.round((count * 1000) / ms);

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** What machine a figure was measured on; every result file carries it. */
export function machineInfo() {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    totalMemMB: toMB(os.totalmem()),
    loadAvg: os.loadavg().map((l) => Math.round(l * 100) / 100),
    date: new Date().toISOString(),
  };
}

/** Writes `{ machine, ...results }` as pretty JSON to `bench/results/<file>.json`; returns the path. */
export async function writeResults(file: string, results: object): Promise<string> {
  await mkdir(resultsDir, { recursive: true });
  const target = path.join(resultsDir, file.endsWith('.json') ? file : `${file}.json`);
  await writeFile(target, `${JSON.stringify({ machine: machineInfo(), ...results }, null, 2)}\n`);
  return target;
}

/** A plain text table: first row is the header, numbers right-aligned. */
export function formatTable(rows: readonly (readonly (string | number)[])[]): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toLocaleString('en-US') : c)));
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[], raw: readonly (string | number)[]) =>
    r.map((c, i) => (typeof raw[i] === 'number' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  const out = [line(cells[0]!, rows[0]!), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (let i = 1; i < cells.length; i++) out.push(line(cells[i]!, rows[i]!));
  return out.join('\n');
}
