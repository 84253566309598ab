import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** A static asset held in memory, with a content hash for cache-busting URLs. */
export interface Asset {
  readonly body: string;
  readonly contentType: string;
  /** First 12 hex digits of the body's SHA-256: part of the URL, so it can be cached for good. */
  readonly hash: string;
}

/** Makes an in-memory asset (and its hash) from text. */
export function asset(body: string, contentType: string): Asset {
  return { body, contentType, hash: createHash('sha256').update(body).digest('hex').slice(0, 12) };
}

let cached: { readonly js: Asset; readonly css: Asset } | undefined;

/**
 * uPlot (the chart library of the dashboard and the backtest report: ~50 KB minified, no
 * dependencies, canvas-drawn, fast with many points), read once from node_modules. Resolved with
 * `createRequire`, so it works from source (tsx, vitest) and from the esbuild bundle alike
 * (`--packages=external` keeps node_modules beside dist in production).
 */
export function chartAssets(): { readonly js: Asset; readonly css: Asset } {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const read = (file: string) => readFileSync(require.resolve(`uplot/dist/${file}`), 'utf8');
  cached = {
    js: asset(read('uPlot.iife.min.js'), 'text/javascript; charset=utf-8'),
    css: asset(read('uPlot.min.css'), 'text/css; charset=utf-8'),
  };
  return cached;
}
