import { type Bus, type Subscription, patterns, type AgentHealth } from '../../src/core/index.js';

export interface AgentReport {
  readonly state: AgentHealth['state'] | 'unknown';
  readonly machineState: unknown;
  readonly since: number | null;
  readonly handled: number;
  readonly restarts: number;
  readonly lastError?: string;
  /** Why it reports itself degraded (the data agent: a symbol without closed candles). */
  readonly degraded?: string;
  /** What it reports of itself (the data agent: its live feed per symbol). */
  readonly detail?: Record<string, unknown>;
  /** Milliseconds since its last health message; null before the first. */
  readonly heartbeatAgeMs: number | null;
  readonly ok: boolean;
}

/**
 * Follows `agent.health.<name>` (heartbeats and lifecycle changes): what readiness and
 * `/api/v1/agents` report. An expected agent is ready when it is running (or degraded, still
 * handling) and its last heartbeat is younger than three heartbeat periods.
 */
export class AgentTracker {
  readonly #last = new Map<string, { health: AgentHealth; at: number }>();
  #sub: Subscription | undefined;

  constructor(
    private readonly expected: readonly string[],
    private readonly heartbeatMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  attach(bus: Bus): void {
    this.#sub = bus.subscribe(
      patterns.agentHealth,
      (env) => {
        const h = env.payload as AgentHealth;
        this.#last.set(h.agent, { health: h, at: this.now() });
      },
      { name: 'agent-tracker' },
    );
  }

  /** True when every expected agent is ready (others seen on the bus are reported, not required). */
  ready(): boolean {
    const r = this.report();
    return this.expected.every((name) => r[name]?.ok === true);
  }

  report(): Record<string, AgentReport> {
    const out: Record<string, AgentReport> = {};
    const names = new Set([...this.expected, ...this.#last.keys()]);
    for (const name of names) {
      const seen = this.#last.get(name);
      if (!seen) {
        out[name] = {
          state: 'unknown',
          machineState: null,
          since: null,
          handled: 0,
          restarts: 0,
          heartbeatAgeMs: null,
          ok: false,
        };
        continue;
      }
      const { health: h, at } = seen;
      const age = this.now() - at;
      const alive = h.state === 'running' || h.state === 'degraded';
      out[name] = {
        state: h.state,
        machineState: h.machineState,
        since: h.since,
        handled: h.handled,
        restarts: h.restarts,
        ...(h.lastError ? { lastError: h.lastError } : {}),
        ...(h.degraded ? { degraded: h.degraded } : {}),
        ...(h.detail ? { detail: h.detail } : {}),
        heartbeatAgeMs: age,
        ok: alive && age <= 3 * this.heartbeatMs + 1000,
      };
    }
    return out;
  }

  async detach(): Promise<void> {
    await this.#sub?.drain().catch(() => undefined);
  }
}
