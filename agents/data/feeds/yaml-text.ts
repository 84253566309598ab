import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

/**
 * `yaml`'s parse, loaded on first use: only a CSV mapping file needs it, and loading it
 * (~30 ms) would otherwise count in the start-up of every backtest and study thread.
 */
let yaml: typeof Yaml | undefined;

export function parseYamlText(text: string): unknown {
  yaml ??= createRequire(import.meta.url)('yaml') as typeof Yaml;
  return yaml.parse(text);
}
