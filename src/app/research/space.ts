import type { z } from 'zod';
import type { Prng } from '../../../agents/data/index.js';

/**
 * A study's search space: one dimension per parameter varied, derived from and checked against
 * the strategy's zod schema (its field names, integer or number, bounds).
 */
export type Dimension =
  | { readonly name: string; readonly kind: 'values'; readonly values: readonly (number | string | boolean)[] }
  | { readonly name: string; readonly kind: 'range'; readonly lo: number; readonly hi: number; readonly int: boolean };

/** What the schema says of one field (JSON Schema of zod 4). */
interface FieldInfo {
  readonly type: string | undefined;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly enum?: readonly unknown[];
}

/** The fields of a strategy's params schema, by name (empty when it is not a z.object). */
export function paramFields(schema: z.ZodType): Map<string, FieldInfo> {
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape ?? {};
  const out = new Map<string, FieldInfo>();
  for (const [name, field] of Object.entries(shape)) {
    let json: FieldInfo | undefined;
    try {
      json = field.toJSONSchema?.() as FieldInfo | undefined;
    } catch {
      json = undefined; // a type JSON Schema cannot express: values are checked by the schema itself
    }
    out.set(name, json ?? { type: undefined });
  }
  return out;
}

const NUM = String.raw`-?\d+(?:\.\d+)?(?:e-?\d+)?`;
const RANGE = new RegExp(`^(${NUM})\\.\\.(${NUM})(?::(${NUM}))?$`);

/** A grid value as typed: a number when it reads as one, true/false, else the text. */
const valueOf = (text: string): number | string | boolean => {
  const t = text.trim();
  if (t === 'true' || t === 'false') return t === 'true';
  const n = Number(t);
  return t !== '' && Number.isFinite(n) ? n : t;
};

/**
 * One `--grid` argument: `name=lo..hi:step` (inclusive), `name=lo..hi` (integers: every one; for
 * numbers a range random search samples), or `name=a,b,c`. Errors name the parameter and say what
 * is accepted.
 */
export function parseDimension(spec: string, fields: ReadonlyMap<string, FieldInfo>, strategy: string): Dimension {
  const eq = spec.indexOf('=');
  if (eq < 1) throw new Error(`--grid takes name=lo..hi[:step] or name=a,b,c, got "${spec}"`);
  const name = spec.slice(0, eq).trim();
  const text = spec.slice(eq + 1).trim();
  const field = fields.get(name);
  if (!field)
    throw new Error(
      `${strategy} has no parameter "${name}"; its parameters are ${[...fields.keys()].join(', ') || '(none declared)'}`,
    );
  const int = field.type === 'integer';
  const range = RANGE.exec(text);
  if (range) {
    const lo = Number(range[1]);
    const hi = Number(range[2]);
    if (!(lo <= hi)) throw new Error(`--grid ${name}: the range ${text} runs backwards (lo must be <= hi)`);
    if (int && (!Number.isInteger(lo) || !Number.isInteger(hi)))
      throw new Error(`--grid ${name}: ${name} is an integer, so the range needs integer ends, got ${text}`);
    if (range[3] === undefined) return { name, kind: 'range', lo, hi, int };
    const step = Number(range[3]);
    if (!(step > 0)) throw new Error(`--grid ${name}: the step must be positive, got ${range[3]}`);
    if (int && !Number.isInteger(step)) throw new Error(`--grid ${name}: ${name} is an integer; the step must be too`);
    const values: number[] = [];
    // counted in steps, not accumulated, so 0.1 steps do not drift
    for (let i = 0; lo + i * step <= hi + 1e-9 * Math.max(1, Math.abs(hi)); i++) {
      const v = lo + i * step;
      values.push(int ? Math.round(v) : Number(v.toPrecision(12)));
    }
    return { name, kind: 'values', values };
  }
  const values = text.split(',').map(valueOf);
  if (values.length === 0 || values.some((v) => v === ''))
    throw new Error(`--grid ${name}: give lo..hi[:step] or a list a,b,c, got "${text}"`);
  return { name, kind: 'values', values };
}

/** Every value of a dimension (a range of integers lists them; a range of reals cannot be listed). */
function valuesOf(d: Dimension): readonly (number | string | boolean)[] {
  if (d.kind === 'values') return d.values;
  if (!d.int)
    throw new Error(
      `--grid ${d.name}=${d.lo}..${d.hi} has no step: a grid needs one (${d.name}=${d.lo}..${d.hi}:0.1); --random samples the range as it is`,
    );
  const out: number[] = [];
  for (let v = d.lo; v <= d.hi; v++) out.push(v);
  return out;
}

/** The full grid: every combination, the first dimension varying slowest. */
export function gridPoints(dims: readonly Dimension[]): Record<string, unknown>[] {
  let points: Record<string, unknown>[] = [{}];
  for (const d of dims) {
    const values = valuesOf(d);
    points = points.flatMap((p) => values.map((v) => ({ ...p, [d.name]: v })));
  }
  return points;
}

/**
 * `n` distinct points drawn with `next` (seeded): each dimension uniformly, integers on their
 * lattice, reals anywhere in the range. Fewer when the space has fewer distinct points.
 */
export function randomPoints(dims: readonly Dimension[], n: number, next: Prng): Record<string, unknown>[] {
  const seen = new Set<string>();
  const out: Record<string, unknown>[] = [];
  const finite = dims.every((d) => d.kind === 'values' || d.int);
  const size = finite ? dims.reduce((s, d) => s * valuesOf(d).length, 1) : Infinity;
  const want = Math.min(n, size);
  for (let attempts = 0; out.length < want && attempts < want * 50; attempts++) {
    const p: Record<string, unknown> = {};
    for (const d of dims) {
      if (d.kind === 'values') p[d.name] = d.values[Math.floor(next() * d.values.length)];
      else if (d.int) p[d.name] = d.lo + Math.floor(next() * (d.hi - d.lo + 1));
      else p[d.name] = Number((d.lo + next() * (d.hi - d.lo)).toPrecision(8));
    }
    const key = pointKey(p);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(p);
  }
  return out;
}

/** A point's identity (resume files, de-duplication): its values by name, sorted. */
export const pointKey = (p: Readonly<Record<string, unknown>>): string =>
  JSON.stringify(
    Object.keys(p)
      .sort()
      .map((k) => [k, p[k]]),
  );
