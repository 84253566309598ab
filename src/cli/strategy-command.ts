import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import type { z } from 'zod';
import { builtinStrategies, isStrategyPath, type AnyStrategy } from '../../agents/strategy/index.js';
import { loadStrategyFile } from '../infra/strategies/index.js';

const HELP = `Usage: sextant strategy <list|new> ...

  list [file...]         The built-in strategies (and the strategy files given) with their
                         parameters: name, type, default and what each means
  new <name> [--dir d]   Write a commented strategy file <d>/<name>.ts (default d: strategies)
                         and its test <d>/<name>.test.ts; then
                           sextant backtest --strategy ./strategies/<name>.ts --data ... --symbol ...
See docs/strategies.md for the guide.`;

/** One line per parameter of a zod object: name, type, default, description. */
export function describeParams(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape) return ['  (parameters not declared as z.object)'];
  const defaults = (schema.safeParse({}).data ?? {}) as Record<string, unknown>;
  return Object.entries(shape).map(([name, field]) => {
    const json = field.toJSONSchema?.() as { type?: string; enum?: unknown[] } | undefined;
    const type = json?.enum ? json.enum.join('|') : (json?.type ?? 'value');
    const d = defaults[name];
    const about = field.description ?? '';
    return `  ${name.padEnd(12)} ${String(type).padEnd(8)} ${(d === undefined ? '(optional)' : `default ${String(d)}`).padEnd(16)} ${about}`.trimEnd();
  });
}

const show = (def: AnyStrategy, where: string) =>
  [`${def.name}  ${where}`, `  ${def.description}`, ...describeParams(def.params)].join('\n');

const template = (name: string) => `import { defineStrategy, SMA, z } from 'sextant/strategy';

/**
 * ${name}: describe the rule in one sentence a trader would say.
 *
 * The rules of every strategy (docs/strategies.md):
 * - state is plain data (numbers, strings, arrays, plain objects): it is saved with snapshots and
 *   replayed, so no class instances, Maps or Dates in it;
 * - callbacks return the next state and never change the one they got;
 * - no clock (use ctx.time, the event's time), no Math.random, no I/O: a replay must decide the
 *   same, and the guard refuses Date.now(), new Date(), Math.random() and performance.now().
 */
export default defineStrategy({
  name: '${name}',
  description: 'Buys when the close rises above its SMA while flat; sells everything when it falls below.',
  // parameters: validated and defaulted; --param period=30 or STRATEGY_PARAMS=period=30 set them
  params: z.object({
    period: z.number().int().min(2).default(20).describe('SMA length, bars'),
    size: z.number().positive().default(100).describe('units bought on an entry'),
    stopLoss: z.number().positive().lt(1).optional().describe('stop-loss below the entry fill, a fraction'),
  }),
  // the state of one symbol before its first bar
  init: (p) => ({ sma: SMA.init(p.period), above: false }),
  // the lines it draws on the dashboard's price chart and in backtest reports, read from the state
  plot: {
    lines: (p) => [{ key: 'sma', label: \`SMA\${p.period}\` }],
    values: (s) => ({ sma: s.sma.value }),
  },
  // a closed bar: update the indicators, decide, return the next state
  onBar(ctx, s) {
    const sma = SMA.next(s.sma, ctx.bar.close);
    if (sma.value === undefined) return { ...s, sma }; // warming up
    const above = ctx.bar.close > sma.value;
    const p = ctx.params;
    if (above && !s.above && ctx.position === 0)
      ctx.buy(p.size, {
        ...(p.stopLoss !== undefined ? { stopLoss: p.stopLoss } : {}), // a bracket: the stop works once the entry fills
        reasons: [\`close \${ctx.bar.close} crossed above SMA\${p.period} \${sma.value.toFixed(4)}\`],
        indicators: { sma: sma.value, close: ctx.bar.close },
      });
    else if (!above && s.above && ctx.position > 0)
      ctx.close({ reasons: [\`close \${ctx.bar.close} fell below SMA\${p.period} \${sma.value.toFixed(4)}\`] });
    return { sma, above };
  },
});
`;

const testTemplate = (name: string) => `import { describe, expect, it } from 'vitest';
import { runBacktest } from '../src/app/backtest/index.js';

// A backtest of the strategy over a file of bars, through the same agents as live trading.
describe('${name}', () => {
  it('trades the sample ORCL data under the paper limits', async () => {
    const result = await runBacktest({
      data: 'tests/fixtures/data/market/orcl-1995-2014.csv',
      symbol: 'ORCL',
      strategy: { id: '${name}', strategy: new URL('./${name}.ts', import.meta.url).pathname, params: {} },
      cash: 100_000,
      transport: 'memory',
    });
    expect(result.fills.length).toBeGreaterThan(0);
    expect(result.risk.refusals.total).toBe(0);
  });
});
`;

/** \`sextant strategy\`: list the strategies, or scaffold a new one. Resolves to the exit code. */
export async function strategyCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === 'list') {
    const blocks = Object.values(builtinStrategies).map((d) => show(d, '(built-in)'));
    for (const file of rest.filter(isStrategyPath)) {
      const { definition } = await loadStrategyFile(file, { warn: (m) => console.error(m) });
      blocks.push(show(definition, file));
    }
    console.log(blocks.join('\n\n'));
    return 0;
  }
  if (sub === 'new') {
    const name = rest[0];
    if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
      console.error('sextant strategy new: give a name of lower-case letters, digits and dashes, e.g. my-breakout');
      return 2;
    }
    const at = rest.indexOf('--dir');
    const dir = at >= 0 && rest[at + 1] ? rest[at + 1]! : 'strategies';
    const file = join(dir, `${name}.ts`);
    const test = join(dir, `${name}.test.ts`);
    if (name in builtinStrategies) {
      console.error(`sextant strategy new: ${name} is a built-in's name; choose another`);
      return 2;
    }
    if (existsSync(file) || existsSync(test)) {
      console.error(`sextant strategy new: ${existsSync(file) ? file : test} exists; nothing written`);
      return 2;
    }
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, template(name));
    writeFileSync(test, testTemplate(name).replace("'../src/", `'${relative(dir, 'src').replace(/\\/g, '/')}/`));
    const ref = isAbsolute(file) ? file : `./${file}`;
    console.log(
      `wrote ${file} and ${test}\n  backtest: sextant backtest --strategy ${ref} --data tests/fixtures/data/market/orcl-1995-2014.csv --symbol ORCL\n  paper:    STRATEGY=${ref} npm start`,
    );
    return 0;
  }
  console.log(HELP);
  return sub === undefined || sub === 'help' || sub === '--help' ? 0 : 2;
}
