import type { Envelope, OrderRejected, RiskStateChanged } from '../../core/index.js';

/** Under which limits a backtest ran. */
export type RiskMode = 'paper' | 'off';

/** What risk did during a run: refusals by reason and every trading-state change with its cause. */
export interface RiskReport {
  /** `paper`: the limits `sextant start` uses (RISK_* keys); `off`: none (`--risk off`). */
  readonly mode: RiskMode;
  readonly refusals: {
    readonly total: number;
    /** Per reason code: how many, and the first one (its time and sentence). */
    readonly byCode: Readonly<
      Record<string, { readonly count: number; readonly firstTime: number; readonly firstReason: string }>
    >;
  };
  /** Trading-state changes after the start, in order. */
  readonly stateChanges: readonly {
    readonly time: number;
    readonly state: string;
    readonly previous: string;
    readonly code: string;
    readonly reason: string;
  }[];
}

/** Collects a {@link RiskReport} from the bus as a run goes (`order.rejected`, `risk.state`). */
export class RiskLog {
  #total = 0;
  readonly #byCode: Record<string, { count: number; firstTime: number; firstReason: string }> = {};
  readonly #changes: RiskReport['stateChanges'][number][] = [];

  constructor(readonly mode: RiskMode) {}

  readonly onEnvelope = (env: Envelope): void => {
    if (env.type === 'order.rejected') {
      const r = env.payload as OrderRejected;
      this.#total++;
      const seen = this.#byCode[r.code];
      if (seen) seen.count++;
      else this.#byCode[r.code] = { count: 1, firstTime: env.time, firstReason: r.reason };
    } else if (env.type === 'risk.state') {
      const s = env.payload as RiskStateChanged;
      if (s.cause.kind !== 'start')
        this.#changes.push({
          time: env.time,
          state: s.state,
          previous: s.previous,
          code: s.cause.code,
          reason: s.cause.reason,
        });
    }
  };

  report(): RiskReport {
    return {
      mode: this.mode,
      refusals: { total: this.#total, byCode: structuredClone(this.#byCode) },
      stateChanges: [...this.#changes],
    };
  }
}

const when = (t: number) => new Date(t).toISOString().slice(0, 16).replace('T', ' ');

/** The report as lines for a person: the limits used, refusals by reason, state changes. */
export function riskLines(r: RiskReport): string[] {
  const lines = [
    r.mode === 'paper'
      ? 'paper limits (the RISK_* keys, as sextant start; --risk off for none)'
      : 'OFF (--risk off): no limits, no buying power check',
  ];
  const codes = Object.entries(r.refusals.byCode).sort((a, b) => b[1].count - a[1].count);
  if (codes.length === 0) lines.push('no order was refused');
  else {
    lines.push(`${r.refusals.total} orders refused:`);
    for (const [code, c] of codes) lines.push(`  ${code} ${c.count}, first at ${when(c.firstTime)}: ${c.firstReason}`);
  }
  if (r.stateChanges.length === 0) lines.push('trading stayed ACTIVE');
  for (const s of r.stateChanges) lines.push(`${s.state} at ${when(s.time)} (from ${s.previous}): ${s.reason}`);
  return lines;
}
