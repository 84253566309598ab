/**
 * JSON that keeps what plain JSON loses in stored state: non-finite numbers (unbounded risk
 * limits are `Infinity`) are written as `{"$num":"Infinity"}` and read back as numbers. Every
 * other value is plain JSON, so stored files stay readable with ordinary tools.
 */
export function toStoredJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'number' && !Number.isFinite(v) ? { $num: String(v) } : v,
  );
}

export function fromStoredJson(text: string): unknown {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const n = (v as { $num?: unknown }).$num;
      if (typeof n === 'string' && Object.keys(v).length === 1) return Number(n);
    }
    return v;
  });
}

/** True when a value holds a number JSON cannot represent (the event log checks this cheaply). */
export const NON_FINITE_MARK = '"$num"';
