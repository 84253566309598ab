import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import type { Message, Plugin } from 'esbuild';
import type TypeScript from 'typescript';
import { registerStrategy, sdk, type AnyStrategy } from '../../../agents/strategy/index.js';

/** A strategy file that cannot be used: the message names the file and, where known, the line. */
export class StrategyLoadError extends Error {
  readonly code = 'strategy_load_failed';
  constructor(message: string) {
    super(message);
    this.name = 'StrategyLoadError';
  }
}

/** The specifier strategy files import the SDK by. */
export const SDK_SPECIFIER = 'sextant/strategy';
const SDK_GLOBAL = Symbol.for('sextant.strategy-sdk');

/** The repository root (where package.json says sextant), found from this module. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'sextant') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the sextant package root');
    dir = up;
  }
}

/** The SDK's source, for the type checker. */
const sdkSourcePath = () => join(repoRoot(), 'agents/strategy/sdk/index.ts');

const where = (m: Message) =>
  m.location ? `${m.location.file}:${m.location.line}:${m.location.column + 1}: ${m.text}` : m.text;

/**
 * `sextant/strategy` inside a strategy file is the running process's own SDK (one copy: the
 * built-ins and user strategies share indicator code and the guard), handed over on a global.
 */
const sdkPlugin: Plugin = {
  name: 'sextant-sdk',
  setup(b) {
    b.onResolve({ filter: /^sextant\/strategy$/ }, () => ({ path: 'sdk', namespace: 'sextant-sdk' }));
    b.onLoad({ filter: /.*/, namespace: 'sextant-sdk' }, () => ({
      contents: `const sdk = globalThis[Symbol.for('sextant.strategy-sdk')];\n${Object.keys(sdk)
        .map((k) => `export const ${k} = sdk.${k};`)
        .join('\n')}\n`,
      loader: 'js',
    }));
  },
};

/**
 * Type-checks a strategy file with the repository's TypeScript (a dev dependency): the errors,
 * each with file and line, or undefined when it checks. Undefined too when TypeScript is not
 * installed (a production image); the load says so.
 */
async function typeErrors(file: string): Promise<string[] | 'unavailable'> {
  let ts: typeof TypeScript;
  try {
    ts = (await import('typescript')).default;
  } catch {
    return 'unavailable';
  }
  const options: TypeScript.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    skipLibCheck: true,
    types: [],
    lib: ['lib.es2023.d.ts'],
    paths: { [SDK_SPECIFIER]: [sdkSourcePath()] },
  };
  const program = ts.createProgram([file], options);
  const root = repoRoot();
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.category === ts.DiagnosticCategory.Error)
    .filter((d) => !d.file || !d.file.fileName.startsWith(join(root, 'agents')))
    .slice(0, 10)
    .map((d) => {
      const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
      if (!d.file || d.start === undefined) return text;
      const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
      return `${relative(process.cwd(), d.file.fileName)}:${line + 1}:${character + 1}: ${text}`;
    });
}

/** What a loaded file must export (default): checked here so a mistake is named at load, not at the first bar. */
function checkDefinition(file: string, value: unknown): AnyStrategy {
  const d = value as Partial<AnyStrategy> | undefined;
  const problems: string[] = [];
  if (!d || typeof d !== 'object') problems.push('it has no default export of defineStrategy({...})');
  else {
    if (typeof d.name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/i.test(d.name))
      problems.push('name must be letters, digits and dashes');
    if (typeof d.description !== 'string') problems.push('description must be a sentence');
    if (!d.params || typeof (d.params as { safeParse?: unknown }).safeParse !== 'function')
      problems.push('params must be a zod schema (z.object({...}))');
    if (typeof d.init !== 'function') problems.push('init must be a function (params, symbol) => state');
    if (typeof d.onBar !== 'function') problems.push('onBar must be a function (ctx, state) => state');
  }
  if (problems.length > 0) throw new StrategyLoadError(`${file}: not a strategy: ${problems.join('; ')}`);
  return d as AnyStrategy;
}

const cache = new Map<string, { stamp: string; definition: AnyStrategy }>();

export interface LoadOptions {
  /** Type-check the file first (default true; needs the dev dependency typescript). */
  readonly typecheck?: boolean;
  /** Told when the file could not be type-checked. */
  readonly warn?: (message: string) => void;
}

/**
 * Loads a strategy file (TypeScript or JavaScript): type-checks it, bundles it with esbuild
 * (its own imports included; `sextant/strategy` is this process's SDK), imports it with source
 * maps on (errors name the file's own lines), checks its default export, and registers it under
 * its absolute path. Returns that key, for instances' `strategy`. Loading the same unchanged file
 * again reuses it.
 */
export async function loadStrategyFile(
  path: string,
  options: LoadOptions = {},
): Promise<{ key: string; definition: AnyStrategy }> {
  const file = resolve(path);
  if (!existsSync(file)) throw new StrategyLoadError(`strategy file not found: ${path} (looked at ${file})`);
  const st = statSync(file);
  const stamp = `${st.mtimeMs}:${st.size}`;
  const hit = cache.get(file);
  if (hit?.stamp === stamp) {
    registerStrategy(file, hit.definition);
    return { key: file, definition: hit.definition };
  }
  if (options.typecheck !== false && /\.(c|m)?ts$/.test(file)) {
    const errors = await typeErrors(file);
    if (errors === 'unavailable') options.warn?.(`${path}: not type-checked (typescript is not installed)`);
    else if (errors.length > 0) throw new StrategyLoadError(`${path} does not type-check:\n  ${errors.join('\n  ')}`);
  }
  // written next to nothing of the user's: a per-process cache in the OS temp dir, so stack traces map back to the file
  const outfile = join(
    tmpdir(),
    'sextant-strategies',
    `${basename(file).replace(/\.[^.]+$/, '')}-${createHash('sha256').update(`${file}:${stamp}`).digest('hex').slice(0, 12)}.mjs`,
  );
  // esbuild loads only when a strategy file does (every other command starts without it)
  const { build } = await import('esbuild');
  try {
    await build({
      entryPoints: [file],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: true,
      sourcemap: 'inline',
      sourcesContent: false,
      logLevel: 'silent',
      nodePaths: [join(repoRoot(), 'node_modules')],
      plugins: [sdkPlugin],
    });
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    throw new StrategyLoadError(
      `${path} could not be compiled:\n  ${errors ? errors.map(where).join('\n  ') : (err as Error).message}`,
    );
  }
  (globalThis as Record<symbol, unknown>)[SDK_GLOBAL] = sdk;
  process.setSourceMapsEnabled(true);
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(outfile).href)) as { default?: unknown };
  } catch (err) {
    throw new StrategyLoadError(`${path} threw while loading: ${(err as Error).stack ?? String(err)}`);
  }
  const definition = checkDefinition(path, mod.default);
  cache.set(file, { stamp, definition });
  registerStrategy(file, definition);
  return { key: file, definition };
}
