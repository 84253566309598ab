import { basename } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { csvFeed, mergeByTime, readAll, type FeedItem } from '../../agents/data/index.js';
import {
  isStrategyPath,
  parseParamValue,
  resolveInstance,
  strategyDefinition,
  strategyStem,
  type StrategyInstance,
} from '../../agents/strategy/index.js';
import { unboundedLimits } from '../../agents/risk/index.js';
import { loadStrategyOf } from '../app/kernel/index.js';
import type { TrialSetup } from '../app/research/index.js';
import { loadConfig, sizeOf } from '../../config/index.js';
import { CSV_HELP, CSV_OPTIONS, csvInputOf, type CsvFlagValues } from './csv-flags.js';

/** The flags every research command shares with `sextant backtest` (data, strategy, account). */
export const STUDY_OPTIONS = {
  ...CSV_OPTIONS,
  data: { type: 'string', multiple: true },
  symbol: { type: 'string', multiple: true },
  strategy: { type: 'string', default: 'sma-cross' },
  param: { type: 'string', multiple: true },
  size: { type: 'string' },
  cash: { type: 'string' },
  'fee-bps': { type: 'string' },
  'slippage-bps': { type: 'string' },
  risk: { type: 'string', default: 'paper' },
  lenient: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

export const STUDY_HELP = `  --data <file>          CSV of bars (as sextant backtest reads); repeat it with --symbol for
                         several symbols in one account, or write --data SYM=file
  --symbol <SYM>         The symbol of each --data, in the same order
  --strategy <name|path> A built-in (sextant strategy list) or a strategy file (default sma-cross)
  --param <name=value>   A fixed strategy parameter (repeat it); the ones varied come from --grid
  --size <qty|N%>        Entry size in units or a percentage of equity (as sextant backtest)
  --cash <amount>        Starting cash (default PORTFOLIO_START_CASH, 100000)
  --fee-bps <x> --slippage-bps <x>   Paper broker costs (default EXEC_FEE_BPS, EXEC_SLIPPAGE_BPS)
  --risk <paper|off>     paper (default): the limits sextant start uses (RISK_* keys); off: none
  --lenient              Skip and count bad CSV rows instead of stopping
${CSV_HELP}
  --json                 Print one JSON document`;

type StudyValues = CsvFlagValues & {
  data?: string[];
  symbol?: string[];
  strategy?: string;
  param?: string[];
  size?: string;
  cash?: string;
  'fee-bps'?: string;
  'slippage-bps'?: string;
  risk?: string;
  lenient?: boolean;
};

/** What a research command runs on: the data read once, the trial setup, names for the output. */
export interface StudyInput {
  readonly items: FeedItem[];
  readonly setup: TrialSetup;
  readonly symbols: string[];
  /** e.g. `orcl-1995-2014.csv` or `a.csv + b.csv`. */
  readonly dataLabel: string;
  /** The strategy's name (its definition's). */
  readonly strategyName: string;
  /** Rows skipped in lenient mode. */
  readonly skippedRows: number;
}

/** A user error: printed as one line with exit code 2. */
export class UsageError extends Error {}

const num = (name: string, value: string | undefined, fallback: number): number => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${value}"`);
  return n;
};

/** `--data`/`--symbol` pairs: `--data f --symbol S` repeated in order, or `--data S=f`. */
export function dataPairs(values: StudyValues): { symbol: string; file: string }[] {
  const data = values.data ?? [];
  const syms = values.symbol ?? [];
  if (data.length === 0) throw new UsageError('--data is required (a CSV of bars)');
  let k = 0;
  const pairs = data.map((d) => {
    // SYM=file; a path with '=' in a folder name is not read as one (the symbol part has no '/')
    const m = /^([A-Za-z0-9._:-]+)=(.+)$/.exec(d);
    if (m) return { symbol: m[1]!, file: m[2]! };
    return { symbol: syms[k++] ?? '', file: d };
  });
  const missing = pairs.find((p) => p.symbol === '');
  if (missing)
    throw new UsageError(`--data ${missing.file} has no symbol: add --symbol SYM (one per --data, in order)`);
  if (k < syms.length) throw new UsageError(`${syms.length} --symbol for ${k} --data without a symbol`);
  const seen = new Set<string>();
  for (const p of pairs) {
    if (seen.has(p.symbol)) throw new UsageError(`symbol ${p.symbol} is given twice`);
    seen.add(p.symbol);
  }
  return pairs;
}

/** Reads the data (each file once, merged by time) and builds the setup from the shared flags. */
export async function studyInput(values: StudyValues, warn: (m: string) => void): Promise<StudyInput> {
  const pairs = dataPairs(values);
  let skippedRows = 0;
  let csv: ReturnType<typeof csvInputOf>['csv'];
  try {
    csv = csvInputOf(values).csv;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const streams = pairs.map((p) => {
    const feed = csvFeed({
      file: p.file,
      symbol: p.symbol,
      lenient: values.lenient ?? false,
      ...(csv?.mapFile !== undefined ? { mapFile: csv.mapFile } : {}),
      ...(csv?.mapping !== undefined ? { mapping: csv.mapping } : {}),
    });
    const items = readAll(feed);
    skippedRows += feed.skipped;
    if (items.length === 0) throw new UsageError(`${p.file} holds no bars`);
    return items;
  });
  const items = mergeByTime(streams);
  const params: Record<string, unknown> = {};
  const sizing = /^\d+(\.\d+)?%$/.test(values.size ?? '')
    ? sizeOf(values.size!)
    : { size: num('size', values.size, 100), sizeFraction: undefined };
  if (!(sizing.size > 0) && !(sizing.sizeFraction! > 0 && sizing.sizeFraction! <= 1))
    throw new UsageError(`--size must be a positive quantity or a percentage up to 100%, got "${values.size}"`);
  if (sizing.sizeFraction === undefined && values.size !== undefined) params.size = sizing.size;
  for (const p of values.param ?? []) {
    const eq = p.indexOf('=');
    if (eq < 1) throw new UsageError(`--param takes name=value, got "${p}"`);
    params[p.slice(0, eq).trim()] = parseParamValue(p.slice(eq + 1));
  }
  const ref = values.strategy ?? 'sma-cross';
  const loaded = (await loadStrategyOf({ id: strategyStem(ref), strategy: ref, params }, { warn })) as StrategyInstance;
  const strategy: StrategyInstance =
    sizing.sizeFraction !== undefined ? { ...loaded, sizeFraction: sizing.sizeFraction } : loaded;
  if (values.risk !== 'paper' && values.risk !== 'off')
    throw new UsageError(`--risk must be paper or off, got "${values.risk}"`);
  const config = loadConfig();
  const setup: TrialSetup = {
    strategy,
    cash: num('cash', values.cash, config.portfolio.startCash),
    costs: {
      ...config.execution,
      feeBps: num('fee-bps', values['fee-bps'], config.execution.feeBps),
      slippageBps: num('slippage-bps', values['slippage-bps'], config.execution.slippageBps),
    },
    limits: values.risk === 'off' ? unboundedLimits : config.risk,
    riskMode: values.risk,
    guard: config.data.guard,
    ...(isStrategyPath(ref) ? { strategyFiles: [strategy.strategy] } : {}),
  };
  return {
    items,
    setup,
    symbols: pairs.map((p) => p.symbol),
    dataLabel: pairs.map((p) => basename(p.file)).join(' + '),
    strategyName: strategyDefinition(strategy.strategy).name,
    skippedRows,
  };
}

/** Checks a full parameter set against the strategy's schema (throws its message). */
export const checkParams = (setup: TrialSetup, params: Record<string, unknown>) =>
  resolveInstance({ ...setup.strategy, params: { ...setup.strategy.params, ...params } });

export { progressLine } from './progress.js';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true }>
>['values'];

/**
 * Runs a research command: parses its flags (a wrong flag: one line and exit 2), prints `help` on
 * --help, and turns a user's mistake (UsageError, parameters the strategy refuses) into one line
 * `sextant <name>: ...` with exit 2. Anything else is our fault and propagates (main prints it).
 */
export async function studyCommand<O extends Options>(
  name: string,
  options: O,
  help: string,
  args: string[],
  body: (values: Values<O>) => Promise<number>,
): Promise<number> {
  let values: Values<O>;
  try {
    values = parseArgs({ args, options, strict: true }).values as Values<O>;
  } catch (err) {
    console.error(`sextant ${name}: ${(err as Error).message}\n(sextant ${name} --help lists the options)`);
    return 2;
  }
  if ((values as { help?: boolean }).help) {
    console.log(help);
    return 0;
  }
  try {
    return await body(values);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code === 'invalid_strategy_params') {
      console.error(`sextant ${name}: ${(err as Error).message}`);
      return 2;
    }
    throw err;
  }
}
