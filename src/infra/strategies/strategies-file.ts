import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { z } from 'zod';
import { isStrategyPath, type StrategyInstance } from '../../../agents/strategy/index.js';
import { StrategyLoadError } from './load.js';

const instanceSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, dot, dash or underscore, at most 64'),
    strategy: z.string().min(1),
    symbols: z.array(z.string().min(1)).min(1).optional(),
    params: z.record(z.string(), z.unknown()).default({}),
    capital: z.number().positive().optional(),
    sizeFraction: z.number().positive().max(1).optional(),
    sentimentMin: z.number().min(-1).max(1).optional(),
    lotSizes: z.record(z.string(), z.number().positive()).optional(),
  })
  .strict();

const fileSchema = z.union([
  z.object({ strategies: z.array(instanceSchema).min(1) }).strict(),
  z.array(instanceSchema).min(1),
]);

/**
 * Reads a strategies file (YAML or JSON): the strategy instances one agent runs, each with its
 * id, strategy (a built-in's name or a file's path, relative to the strategies file), symbols,
 * parameters and optional capital. Checked here: a mistake names the file, the entry and the
 * field. Parameters are checked against each strategy's schema when the agent starts.
 */
export function readStrategiesFile(path: string): StrategyInstance[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new StrategyLoadError(`strategies file ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = /\.json$/i.test(path)
      ? JSON.parse(text)
      : (createRequire(import.meta.url)('yaml') as typeof Yaml).parse(text);
  } catch (err) {
    throw new StrategyLoadError(
      `strategies file ${path} is not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    );
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'file'}: ${i.message}`);
    throw new StrategyLoadError(
      `strategies file ${path}: ${problems.join('; ')} (expected "strategies:" with entries of id, strategy, symbols, params, capital)`,
    );
  }
  const list = Array.isArray(parsed.data) ? parsed.data : parsed.data.strategies;
  const ids = new Set<string>();
  const base = dirname(resolve(path));
  return list.map((e, n) => {
    if (ids.has(e.id))
      throw new StrategyLoadError(`strategies file ${path}: entry ${n}: the id "${e.id}" is used twice`);
    ids.add(e.id);
    return { ...e, strategy: isStrategyPath(e.strategy) ? resolve(base, e.strategy) : e.strategy };
  });
}
