import { pathToFileURL } from 'node:url';
import { runBacktestBench } from './backtest.bench.js';
import { formatBusBench, runBusBench } from './bus.bench.js';
import { writeResults } from './harness.js';
import { runStoreBench } from './store.bench.js';
import { runStoreSoakBench } from './store-soak.bench.js';
import { runReplayBench } from './replay.bench.js';
import { runApiBench } from './api.bench.js';
import { runLiveBench } from './live.bench.js';
import { runSentimentBench } from './sentiment.bench.js';
import { runOptimizeBench } from './optimize.bench.js';
import { runTracingBench } from './tracing.bench.js';
import { startFerretDb, startNatsServer, type OwnServer } from '../scripts/services/servers.js';
import { ensureNatsServer, ensureTool, tools } from '../scripts/services/tools.js';

/** MONGODB_URI, or the FerretDB this run started for the store bench. */
let mongoUri: string | undefined;

/**
 * `npm run bench`: runs every bench in {@link benches} (or those named on the command line,
 * e.g. `npm run bench -- bus`), writes `bench/results/<name>.json` for each and prints a
 * summary. NATS comes from NATS_URL, MongoDB from MONGODB_URI; when unset, the run starts its
 * own nats-server and FerretDB as the tests do (scripts/services/).
 * BENCH_MESSAGES overrides the per-round message count.
 */

export interface BenchContext {
  readonly natsUrl: string;
  readonly messages: number | undefined;
  readonly log: (line: string) => void;
}

export interface BenchOutcome {
  /** Written to bench/results/<name>.json. */
  readonly result: object;
  /** Printed after the run. */
  readonly summary: string;
  /** Printed loudly (e.g. a tier that could not run). */
  readonly warnings: readonly string[];
}

export interface BenchEntry {
  readonly name: string;
  run(ctx: BenchContext): Promise<BenchOutcome>;
}

export const benches: BenchEntry[] = [
  {
    name: 'optimize',
    async run({ log }) {
      const r = await runOptimizeBench({ log });
      const summary = [
        `optimize ${r.trials} SMA-cross trials over ${r.data} (${r.bars} bars), ${r.workers} workers:`,
        `  sextant    median ${r.sextant.medianWallMs} ms wall (start-up included), ${r.sextant.medianElapsedMs} ms in-process`,
        r.peer
          ? `  ${r.peer.peer}  median ${r.peer.medianWallMs} ms wall, ${r.peer.medianElapsedMs} ms in-process`
          : '  backtrader not measured',
        r.peer
          ? `  speed-up ${r.speedup}x wall, ${r.speedupInProcess}x in-process (goal >= ${r.goal}x); final values ${r.sameFinalValues ? 'identical for every combination' : `DIFFER: ${r.mismatches!.join('; ')}`}`
          : '',
      ].join('\n');
      const warnings = [
        ...(r.peerSkipped ? [`backtrader peer NOT MEASURED: ${r.peerSkipped}`] : []),
        ...(r.speedup !== undefined && r.speedup < r.goal
          ? [`optimize speed-up ${r.speedup}x is BELOW the goal of ${r.goal}x`]
          : []),
        ...(r.sameFinalValues === false ? ['optimize final values differ from backtrader'] : []),
      ];
      return { result: r, summary, warnings };
    },
  },
  {
    name: 'bus',
    async run({ natsUrl, messages, log }) {
      const result = await runBusBench({ natsUrl, log, ...(messages ? { messages } : {}) });
      const warnings = result.natsError
        ? [`NATS figures NOT MEASURED: ${result.natsError}. Start one with \`nats-server -js\` or set NATS_URL.`]
        : [];
      return { result, summary: formatBusBench(result), warnings };
    },
  },
  {
    name: 'backtest',
    async run({ natsUrl }) {
      const reachable = await natsReachable(natsUrl);
      const result = await runBacktestBench({ natsUrl: reachable ? natsUrl : undefined });
      const row = (t: string, recorded = false) =>
        result.runs.find((r) => r.transport === t && r.recorded === recorded);
      const m = row('memory');
      const rec = row('memory', true);
      const n = row('nats');
      const summary = [
        `backtest ${result.bars.toLocaleString('en-US')} bars, ${result.strategy}:`,
        `  in-memory ${m?.barsPerSecond.toLocaleString('en-US')} bars/s (goal ${result.goals.memoryBarsPerSecond.toLocaleString('en-US')}), peak RSS ${m?.peakRssMB} MB (goal <= ${result.goals.rssMB})`,
        `  recording every message (embedded store): ${rec?.barsPerSecond.toLocaleString('en-US')} bars/s, ${result.recordingSlowdown}x the time (goal <= ${result.goals.recordingSlowdownMax}x), peak RSS ${rec?.peakRssMB} MB`,
        n
          ? `  NATS      ${n.barsPerSecond.toLocaleString('en-US')} bars/s (goal ${result.goals.natsBarsPerSecond.toLocaleString('en-US')}), peak RSS ${n.peakRssMB} MB`
          : '  NATS      not measured',
        result.peer
          ? `  peer: ${result.peer.peer} ${result.peer.barsPerSecond.toLocaleString('en-US')} bars/s, peak RSS ${result.peer.peakRssMB} MB (same fills and final value); Sextant in-memory / backtrader = ${result.vsBacktrader}`
          : '  peer: backtrader not measured',
      ].join('\n');
      const warnings = [
        ...(reachable ? [] : [`NATS backtest NOT MEASURED: no NATS server at ${natsUrl}`]),
        ...(result.peerSkipped ? [`backtrader peer NOT MEASURED: ${result.peerSkipped}`] : []),
      ];
      return { result, summary, warnings };
    },
  },
  {
    name: 'store',
    async run() {
      const result = await runStoreBench({ mongoUri: mongoUri });
      const summary = [
        'event-store append (batches of 2000 recorded bars):',
        ...result.rows.map((r) => `  ${r.store.padEnd(32)} ${r.eventsPerSecond.toLocaleString('en-US')} events/s`),
      ].join('\n');
      return {
        result,
        summary,
        warnings: result.mongoSkipped ? [`MongoDB append NOT MEASURED: ${result.mongoSkipped}`] : [],
      };
    },
  },
  {
    // `npm run bench -- soak --soak-events=5000000` for the full soak (README: store limits)
    name: 'soak',
    async run({ log }) {
      const arg = process.argv.find((a) => a.startsWith('--soak-events='));
      const events = arg ? Number(arg.slice('--soak-events='.length)) : 200_000;
      if (!(Number.isInteger(events) && events >= 20_000))
        throw new Error(`--soak-events must be a whole number >= 20000, got ${arg}`);
      const r = await runStoreSoakBench({ events, log });
      const q = r.queries;
      const summary = [
        `embedded store soak: ${r.events.toLocaleString('en-US')} events (${r.minutes.toLocaleString('en-US')} minutes of ${r.symbols.length} symbols with their chains), appended at ${r.appendEventsPerSecond.toLocaleString('en-US')} events/s; file ${r.fileMB} MB`,
        `  p50/p99 ms: trace ${q.trace.p50Ms}/${q.trace.p99Ms}, why ${q.why.p50Ms}/${q.why.p99Ms}, events ${q.events.p50Ms}/${q.events.p99Ms} (goal p99 < ${r.goalP99Ms} ms)`,
        `  RSS ${r.rssMB.first} MB at ${r.points[0]!.events.toLocaleString('en-US')} events, ${r.rssMB.last} MB at the end, max ${r.rssMB.max} MB`,
      ].join('\n');
      return { result: r, summary, warnings: r.met ? [] : [`store soak p99 NOT under ${r.goalP99Ms} ms`] };
    },
  },
  {
    name: 'replay',
    async run({ natsUrl }) {
      const reachable = await natsReachable(natsUrl);
      const r = await runReplayBench({ natsUrl: reachable ? natsUrl : undefined });
      const summary = [
        `record and replay, a ${r.bars.toLocaleString('en-US')}-bar backtest recording (${r.events.toLocaleString('en-US')} events):`,
        ...r.rows.map((x) => `  ${x.flow.padEnd(40)} ${x.eventsPerSecond.toLocaleString('en-US')} events/s`),
        r.replayVsRaw !== undefined
          ? `  replay from JetStream / raw ordered consumer = ${r.replayVsRaw} (goal >= ${r.goals.replayVsRaw}; medians of ${r.rounds?.count} rounds, each round: ${r.rounds?.replayVsRaw.join(', ')})`
          : '',
        r.newThreadReplayVsRaw !== undefined
          ? `  (round 1, whose replay started the reader thread the later rounds reuse: ${r.newThreadReplayVsRaw})`
          : '',
        r.ndjsonVsRaw !== undefined ? `  replay from NDJSON / raw ordered consumer = ${r.ndjsonVsRaw}` : '',
        r.recorder
          ? `  recorder (core publish -> stream): ${r.recorder.eventsPerSecond.toLocaleString('en-US')} events/s, ${r.recorder.published} in, ${r.recorder.stored} stored (goal >= ${r.goals.recorderEventsPerSecond.toLocaleString('en-US')} events/s, none lost)`
          : '',
      ]
        .filter(Boolean)
        .join('\n');
      return {
        result: r,
        summary,
        warnings: r.natsSkipped ? [`JetStream replay and recorder NOT MEASURED: ${r.natsSkipped}`] : [],
      };
    },
  },
  {
    name: 'api',
    async run() {
      const r = await runApiBench();
      const summary = [
        `HTTP API, ${r.concurrency} concurrent keep-alive clients against sextant start (in-memory bus):`,
        ...r.rows.map(
          (x) =>
            `  ${x.route.padEnd(24)} ${x.requestsPerSecond.toLocaleString('en-US')} req/s (p50 ${x.p50Ms} ms, p99 ${x.p99Ms} ms)`,
        ),
        `  POST /api/v1/orders -> order.approved: p50 ${r.orderToApproval.p50Ms} ms, p99 ${r.orderToApproval.p99Ms} ms over ${r.orderToApproval.orders} orders`,
      ].join('\n');
      return { result: r, summary, warnings: [] };
    },
  },
  {
    name: 'live',
    async run({ natsUrl }) {
      const reachable = await natsReachable(natsUrl);
      const r = await runLiveBench({ natsUrl: reachable ? natsUrl : undefined });
      const summary = [
        'live candles (fake Binance websocket, real ccxt) -> order.submitted on the paper broker, in this process:',
        ...r.rows.map(
          (x) =>
            `  ${x.transport.padEnd(7)} p50 ${x.p50Ms} ms, p99 ${x.p99Ms} ms, max ${x.maxMs} ms over ${x.candles} candles${x.transport === 'memory' ? ` (goal p99 <= ${r.goals.memoryP99Ms} ms)` : ''}`,
        ),
      ].join('\n');
      return {
        result: r,
        summary,
        warnings: r.natsSkipped ? [`live latency over NATS NOT MEASURED: ${r.natsSkipped}`] : [],
      };
    },
  },
  {
    name: 'sentiment',
    async run() {
      const r = runSentimentBench();
      const summary = `sentiment scorer ${r.scorer}: ${r.itemsPerSecond.toLocaleString('en-US')} items/s (median of ${r.rounds} passes over ${r.items.toLocaleString('en-US')} tweets; best ${r.bestItemsPerSecond.toLocaleString('en-US')}; goal ${r.goals.itemsPerSecond.toLocaleString('en-US')})`;
      return { result: r, summary, warnings: r.skipped ? [`sentiment scorer items/s NOT MEASURED: ${r.skipped}`] : [] };
    },
  },
  {
    name: 'tracing',
    async run() {
      const r = await runTracingBench();
      const summary = `tracing: ${r.bars.toLocaleString('en-US')}-bar in-memory backtest, medians of ${r.rounds}: off ${r.off.barsPerSecond.toLocaleString('en-US')} bars/s, on ${r.on.barsPerSecond.toLocaleString('en-US')} bars/s (${r.on.spans.toLocaleString('en-US')} spans; ${r.onSlowdown}x the time)`;
      return { result: r, summary, warnings: [] };
    },
  },
];

/** True when a NATS server greets us at `url` (the backtest bench skips NATS otherwise). */
async function natsReachable(url: string): Promise<boolean> {
  const { connect } = await import('node:net');
  const u = new URL(url.split(',')[0]!.trim());
  return new Promise((resolve) => {
    const s = connect({ host: u.hostname, port: Number(u.port || 4222) });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1500, () => done(false));
    s.once('error', () => done(false));
    s.once('data', (d) => done(d.toString().startsWith('INFO')));
  });
}

function loud(lines: readonly string[]): void {
  const bar = '!'.repeat(78);
  console.error(`\n${bar}\n${lines.map((l) => `!!! ${l}`).join('\n')}\n${bar}\n`);
}

async function main(): Promise<number> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = wanted.filter((w) => !benches.some((b) => b.name === w));
  if (unknown.length > 0) {
    console.error(`unknown bench: ${unknown.join(', ')} (known: ${benches.map((b) => b.name).join(', ')})`);
    return 2;
  }
  const selected = wanted.length > 0 ? benches.filter((b) => wanted.includes(b.name)) : benches;
  const messages = process.env.BENCH_MESSAGES ? Number(process.env.BENCH_MESSAGES) : undefined;
  if (messages !== undefined && !(Number.isInteger(messages) && messages > 0)) {
    console.error(`BENCH_MESSAGES must be a positive integer, got ${process.env.BENCH_MESSAGES}`);
    return 2;
  }
  // The servers of the run's own when none are given, as the tests do (scripts/services/).
  const own: OwnServer[] = [];
  let natsUrl = process.env.NATS_URL;
  if (!natsUrl) {
    const server = await startNatsServer(ensureNatsServer((l) => console.log(`  ${l}`)));
    own.push(server);
    natsUrl = server.url;
    console.log(`NATS_URL unset: started nats-server ${tools.nats.version} at ${natsUrl} for this run`);
  }
  mongoUri = process.env.MONGODB_URI;
  if (!mongoUri && selected.some((b) => b.name === 'store')) {
    const server = await startFerretDb(ensureTool(tools.ferretdb, (l) => console.log(`  ${l}`)));
    own.push(server);
    mongoUri = server.url;
    console.log(
      `MONGODB_URI unset: started FerretDB ${tools.ferretdb.version} (SQLite) at ${mongoUri}; its figure is FerretDB's, not MongoDB's`,
    );
  }
  const ctx: BenchContext = {
    natsUrl,
    messages,
    log: (line) => console.log(`  ${line}`),
  };

  const done: { name: string; outcome: BenchOutcome; file: string }[] = [];
  let failed = 0;
  for (const bench of selected) {
    console.log(`\n== bench: ${bench.name}`);
    try {
      const outcome = await bench.run(ctx);
      if (outcome.warnings.length > 0) loud(outcome.warnings);
      const file = await writeResults(bench.name, outcome.result);
      done.push({ name: bench.name, outcome, file });
    } catch (err) {
      failed++;
      console.error(`bench ${bench.name} FAILED:`, err);
    }
  }

  console.log('\n== summary');
  for (const { name, outcome, file } of done) {
    console.log(`\n[${name}] -> ${file}\n${outcome.summary}`);
  }
  const warnings = done.flatMap((d) => d.outcome.warnings);
  if (warnings.length > 0) loud(warnings);
  if (failed > 0) console.error(`\n${failed} bench(es) failed`);
  await Promise.all(own.map((s) => s.dispose()));
  return failed > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = await main();
