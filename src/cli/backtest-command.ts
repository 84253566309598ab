import { parseArgs } from 'node:util';
import {
  instancesOf,
  parseParamValue,
  resolveInstance,
  strategyDefinition,
  strategyStem,
  type StrategyParams,
} from '../../agents/strategy/index.js';
import { loadStrategies, loadStrategyOf } from '../app/kernel/index.js';
import { readStrategiesFile } from '../infra/strategies/index.js';
import { loadConfig, sizeOf } from '../../config/index.js';
import { basename } from 'node:path';
import {
  ReportCollector,
  writeReport,
  runBacktest,
  type BacktestResult,
  riskLines,
  fixed,
  pct,
  type ReportStats,
} from '../app/backtest/index.js';
import { unboundedLimits } from '../../agents/risk/index.js';
import { openEmbeddedStore, type Store } from '../infra/store/index.js';
import { CSV_HELP, CSV_OPTIONS, csvInputOf, skippedLines } from './csv-flags.js';
import { dataPairs } from './study-input.js';
import { progressLine } from './progress.js';

const HELP = `Usage: sextant backtest --data <csv> --symbol <SYM> [options]

  --data <file>          CSV of bars: Yahoo daily (Date,Open,High,Low,Close,Adj Close,Volume),
                         intraday (Date,Time,...), Datetime,Open,High,Low,Close,Volume, or
                         date|timestamp,open,high,low,close,volume in any order and case,
                         separated by , ; or tab, times ISO-8601 or epoch s/ms (else --csv-*)
  --symbol <SYM>         Symbol the bars belong to. Several symbols in one account: repeat
                         --data and --symbol in the same order (or write --data SYM=file); the
                         files are merged by time and the strategy trades each symbol
  --strategy <name|path> A built-in (sma-cross, the default; rsi-reversion, ema-cross,
                         bollinger, donchian-breakout, macd) or a strategy file
                         (./strategies/my-strategy.ts); sextant strategy list shows them all
  --param <name=value>   A strategy parameter (repeat it), e.g. --param fast=12 --param stopLoss=0.05
  --strategies <file>    Several strategy instances at once (YAML or JSON: id, strategy, symbols,
                         params, capital; docs/strategies.md); the summary adds each one's PnL
  --fast <n> --slow <n> --period <n> --oversold <x> --overbought <x>
                         Shorthands for --param fast=<n> ... (sma-cross 10, 30; rsi-reversion 14, 30, 70)
  --size <qty|N%>        Entry size: units (the strategy's size parameter, default 100), or a
                         percentage of equity, e.g. 10% (whole units when that buys one or more,
                         else a fraction)
  --cash <amount>        Starting cash (default PORTFOLIO_START_CASH, 100000)
  --fee-bps <x> --slippage-bps <x>               Paper broker costs (default EXEC_FEE_BPS,
                         EXEC_SLIPPAGE_BPS: 0)
  --risk <paper|off>     paper (default): the limits sextant start uses, from the RISK_* keys
                         (buying power, position and loss limits, ...); off: none at all. The
                         output lists refused orders by reason and every trading-state change
  --transport <t>        memory (default) | nats (uses NATS_URL)
  --lockstep             nats: each bar's consequences handled before the next bar, so resting
                         orders (limits, stops) match as in memory; on by itself for bracket
                         params (stopLoss, takeProfit); about a bus round trip per bar
  --lenient              Skip bad rows instead of stopping; the output counts them and names
                         the first few (line and problem)
${CSV_HELP}
  --news <file>          News (NDJSON, or .csv: headline,time[,body,source,url,symbols]) merged
                         with the bars by event time and scored by the sentiment agent (default
                         scorer; SENTIMENT_HALF_LIFE_MS, SENTIMENT_SYMBOL_MAP and
                         SENTIMENT_RECENT_ITEMS apply); in-memory bus only
  --sentiment-min <x>    Only buy while the symbol's sentiment is above x (-1..1); sells always go
  --record <dir>         Record every bus message into an embedded store at <dir> (the audit
                         log: events, orders, fills); <dir> must not hold another run
  --recording <file>     Write an NDJSON recording (.gz to compress) of every bus message, for
                         sextant replay <file> --verify
  --report <file.html>   Write a self-contained HTML report: equity and drawdown charts, round
                         trips, total return, CAGR, max drawdown, Sharpe, win rate, exposure
  --json                 Print one JSON document
Market orders decided on bar t fill at the open of bar t+1.`;

const num = (name: string, value: string | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${value}"`);
  return n;
};

const OPTIONS = {
  data: { type: 'string', multiple: true },
  symbol: { type: 'string', multiple: true },
  strategy: { type: 'string', default: 'sma-cross' },
  param: { type: 'string', multiple: true },
  strategies: { type: 'string' },
  fast: { type: 'string' },
  slow: { type: 'string' },
  period: { type: 'string' },
  oversold: { type: 'string' },
  overbought: { type: 'string' },
  size: { type: 'string' },
  cash: { type: 'string' },
  'fee-bps': { type: 'string' },
  'slippage-bps': { type: 'string' },
  risk: { type: 'string', default: 'paper' },
  transport: { type: 'string', default: 'memory' },
  lenient: { type: 'boolean', default: false },
  lockstep: { type: 'boolean' },
  news: { type: 'string' },
  'sentiment-min': { type: 'string' },
  record: { type: 'string' },
  recording: { type: 'string' },
  report: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
  ...CSV_OPTIONS,
} as const;

const parse = (args: string[]) => parseArgs({ args, options: OPTIONS, strict: true });
type Values = ReturnType<typeof parse>['values'];

/** `sextant backtest`: parses flags, runs, prints JSON or a summary. Resolves to the exit code. */
export async function backtestCommand(args: string[]): Promise<number> {
  const { values } = parse(args);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!values.data) {
    console.error(`sextant backtest: --data (with --symbol) is required\n\n${HELP}`);
    return 2;
  }
  try {
    dataPairs(values); // every file has its symbol
  } catch (err) {
    console.error(`sextant backtest: ${(err as Error).message}`);
    return 2;
  }
  if (values.transport !== 'memory' && values.transport !== 'nats') {
    console.error(`sextant backtest: --transport must be memory or nats, got "${values.transport}"`);
    return 2;
  }
  const sizing = /^\d+(\.\d+)?%$/.test(values.size ?? '')
    ? sizeOf(values.size!)
    : { size: num('size', values.size, 100), sizeFraction: undefined };
  if (!(sizing.size > 0) && !(sizing.sizeFraction! > 0 && sizing.sizeFraction! <= 1)) {
    console.error(
      `sextant backtest: --size must be a positive quantity or a percentage up to 100%, got "${values.size}"`,
    );
    return 2;
  }
  const params: Record<string, unknown> = {};
  for (const k of ['fast', 'slow', 'period', 'oversold', 'overbought'] as const)
    if (values[k] !== undefined) params[k] = num(k, values[k], 0);
  if (sizing.sizeFraction === undefined && values.size !== undefined) params.size = sizing.size;
  for (const p of values.param ?? []) {
    const eq = p.indexOf('=');
    if (eq < 1) {
      console.error(`sextant backtest: --param takes name=value, got "${p}"`);
      return 2;
    }
    params[p.slice(0, eq).trim()] = parseParamValue(p.slice(eq + 1));
  }
  const ref = values.strategy!;
  let strategy: StrategyParams = { id: strategyStem(ref), strategy: ref, params };
  let instances: StrategyParams[] | undefined;
  try {
    const warn = (m: string) => console.error(`sextant backtest: ${m}`);
    if (values.strategies) {
      instances = (await loadStrategies(readStrategiesFile(values.strategies), { warn })) as StrategyParams[];
      instancesOf({ params: instances }); // parameters and ids checked before the run starts
    } else {
      strategy = await loadStrategyOf(strategy, { warn });
      resolveInstance(strategy); // parameters checked before the run starts
    }
  } catch (err) {
    console.error(`sextant backtest: ${(err as Error).message}`);
    return 2;
  }
  if (sizing.sizeFraction !== undefined) strategy = { ...strategy, sizeFraction: sizing.sizeFraction };
  if (values['sentiment-min'] !== undefined) {
    const min = num('sentiment-min', values['sentiment-min'], 0);
    if (min < -1 || min > 1) {
      console.error(`sextant backtest: --sentiment-min must be from -1 to 1, got ${min}`);
      return 2;
    }
    strategy = { ...strategy, sentimentMin: min };
  }
  if (values.risk !== 'paper' && values.risk !== 'off') {
    console.error(`sextant backtest: --risk must be paper or off, got "${values.risk}"`);
    return 2;
  }
  const natsUrl = values.transport === 'nats' ? loadConfig().natsUrl : undefined;
  const progress = values.json ? undefined : progressLine('backtest', 'bars');
  const record = values.record ? await openEmbeddedStore({ dir: values.record, fsync: 'interval' }) : undefined;
  try {
    return await run(values, instances ?? strategy, natsUrl, progress, record);
  } finally {
    await record?.close();
  }
}

async function run(
  values: Values,
  strategy: StrategyParams | StrategyParams[],
  natsUrl: string | undefined,
  progress: ReturnType<typeof progressLine>,
  record: Store | undefined,
): Promise<number> {
  // the statistics (summary, --json, report) come from what the run published
  const report = new ReportCollector();
  const pairs = dataPairs(values);
  const symbols = pairs.map((p) => p.symbol).join(', ');
  // the paper configuration (env, SEXTANT_CONFIG_FILE), as sextant start reads it
  const config = loadConfig();
  const cash = num('cash', values.cash, config.portfolio.startCash);
  const costs = {
    ...config.execution,
    feeBps: num('fee-bps', values['fee-bps'], config.execution.feeBps),
    slippageBps: num('slippage-bps', values['slippage-bps'], config.execution.slippageBps),
  };
  const riskMode = values.risk as 'paper' | 'off'; // checked by backtestCommand
  const result = await runBacktest({
    onEnvelope: report.onEnvelope,
    ...(record ? { record } : {}),
    ...(values.recording ? { recording: values.recording } : {}),
    data: pairs.length === 1 ? pairs[0]!.file : pairs,
    symbol: pairs[0]!.symbol,
    strategy,
    cash,
    transport: values.transport as 'memory' | 'nats', // checked by backtestCommand
    // over NATS it signs in as the configured user (in a deployment: the BACKTEST account's; README "Security model")
    ...(natsUrl ? { natsUrl, ...(config.natsAuth ? { natsAuth: config.natsAuth } : {}) } : {}),
    lenient: values.lenient,
    ...(values.lockstep !== undefined ? { lockstep: values.lockstep } : {}),
    ...csvInputOf(values),
    ...(values.news ? { news: values.news, sentiment: sentimentSettings() } : {}),
    costs,
    limits: riskMode === 'off' ? unboundedLimits : config.risk,
    guard: config.data.guard,
    riskMode,
    // the report draws the strategies' indicator lines; only it reads them, so only it pays for them
    plot: values.report !== undefined,
    ...(progress ? { onProgress: (n: number) => progress.update(n) } : {}),
  });
  progress?.done();
  const data = report.data(
    cash,
    {
      symbol: symbols,
      strategy: (Array.isArray(strategy) ? strategy : [strategy]).map(describe).join('; '),
      data: pairs.map((p) => basename(p.file)).join(' + '),
      costs: `fees ${costs.feeBps} bps, slippage ${costs.slippageBps} bps`,
      generatedAt: new Date(),
    },
    result.risk,
    values.report !== undefined,
  );
  if (values.report) await writeReport(values.report, data);
  const metrics = data.stats;
  if (values.json) {
    const { finalValue, fills, bars, elapsedMs, barsPerSecond, risk, skipped } = result;
    const peakRssMB = Math.round(process.resourceUsage().maxRSS / 102.4) / 10;
    const strategies = result.strategies.map((b) => ({
      id: b.origin.id,
      pnl: b.pnl?.all ?? b.equity,
      positions: b.positions,
    }));
    const symbols = bySymbol(result);
    console.log(
      JSON.stringify({
        finalValue,
        metrics,
        symbols,
        fills,
        bars,
        elapsedMs,
        barsPerSecond,
        peakRssMB,
        risk,
        skipped,
        strategies,
      }),
    );
  } else {
    console.log(summary(result, symbols, metrics));
  }
  // after the summary; on stderr with --json, which keeps stdout one JSON document
  if (values.report) (values.json ? console.error : console.log)(`  report        ${values.report}`);
  return 0;
}

/** An instance as the report names it: strategy (parameters, size), with its id when that differs. */
function describe(p: StrategyParams): string {
  const inst = resolveInstance(p);
  const shown = Object.entries(inst.params)
    .filter(([k, v]) => v !== undefined && !(k === 'size' && inst.sizeFraction !== undefined))
    .map(([k, v]) => `${k} ${String(v)}`);
  if (inst.sizeFraction !== undefined) shown.push(`size ${inst.sizeFraction * 100}% of equity`);
  const name = strategyDefinition(inst.strategy).name;
  return `${inst.id === name ? '' : `${inst.id}: `}${name} (${shown.join(', ')})`;
}

/** The sentiment agent's settings from the configuration (SENTIMENT_*). */
function sentimentSettings() {
  const s = loadConfig().sentiment;
  return { halfLifeMs: s.halfLifeMs, recentItems: s.recentItems, symbolMap: s.symbolMap };
}

/** Each traded symbol's part of the account: realised + unrealised PnL (before fees), fees, fills, holding. */
function bySymbol(r: BacktestResult) {
  return [...new Set(r.fills.map((f) => f.symbol))].map((symbol) => {
    const pos = r.portfolio.positions.find((x) => x.symbol === symbol);
    const own = r.fills.filter((f) => f.symbol === symbol);
    return {
      symbol,
      pnl: (pos?.realizedPnl ?? 0) + (pos?.unrealizedPnl ?? 0),
      fees: own.reduce((s, f) => s + f.fee, 0),
      fills: own.length,
      qty: pos?.qty ?? 0,
    };
  });
}

function summary(r: BacktestResult, symbol: string, m: ReportStats): string {
  const money = (x: number) => x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const p = r.portfolio;
  const lines = [
    `Backtest ${symbol}: ${r.bars.toLocaleString('en-US')} bars in ${r.elapsedMs} ms (${r.barsPerSecond.toLocaleString('en-US')} bars/s, ${r.transport} bus)`,
    `  final value   ${money(r.finalValue)}`,
    `  cash          ${money(p.cash)}`,
    `  realised PnL  ${money(p.realizedPnl)}   unrealised ${money(p.unrealizedPnl)}   fees ${money(p.fees)}`,
    `  max drawdown  ${(100 * r.maxDrawdown).toFixed(2)}%   peak equity ${money(p.peakEquity)}   longest ${Math.round(m.maxDrawdownDurationMs / 86_400_000)} days`,
    `  return        ${pct(m.totalReturn)}   CAGR ${pct(m.cagr)}   volatility ${pct(m.volatility)}   (annualised over ${m.sharpeBasis.periodsPerYear}, ${m.sharpeBasis.calendar === '24/7' ? '24/7 data' : 'weekday data'})`,
    `  ratios        Sharpe ${fixed(m.sharpe)}   Sortino ${fixed(m.sortino)}   Calmar ${fixed(m.calmar)}`,
    `  trades        ${m.closedTrades} closed${m.openTrades ? ` + ${m.openTrades} open` : ''}   win rate ${pct(m.winRate)}   profit factor ${m.profitFactor === Infinity ? '∞' : fixed(m.profitFactor)}   expectancy ${m.expectancy === undefined ? 'n/a' : money(m.expectancy)}   exposure ${pct(m.exposure)}`,
    `  fills         ${r.fills.length}`,
  ];
  const [limits, ...risk] = riskLines(r.risk);
  const fills = lines.pop()!;
  lines.push(`  risk          ${limits}`, ...risk.map((l) => `                ${l}`), fills);
  lines.splice(lines.length - 1, 0, ...skippedLines(r.skipped));
  const symbols = bySymbol(r);
  if (symbols.length > 1)
    lines.push(
      '  by symbol',
      ...symbols.map(
        (x) =>
          `    ${x.symbol.padEnd(20)} PnL ${money(x.pnl)} (fees ${money(x.fees)}), ${x.fills} fills, holding ${x.qty}`,
      ),
    );
  if (r.strategies.length > 1)
    lines.push(
      '  by strategy',
      ...r.strategies.map((b) => `    ${b.origin.id.padEnd(20)} PnL ${money(b.pnl?.all ?? b.equity)}`),
    );
  for (const f of r.fills.slice(-5))
    lines.push(`    ${f.date} ${symbols.length > 1 ? `${f.symbol} ` : ''}${f.side.padEnd(4)} ${f.size} @ ${f.price}`);
  if (r.fills.length > 5) lines.splice(lines.length - 5, 0, `    ... (last 5 of ${r.fills.length})`);
  return lines.join('\n');
}
