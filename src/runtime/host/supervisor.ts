/** How a crashed agent is restarted: backoff, and when to give up. */
export interface RestartPolicy {
  /** First backoff; doubles per consecutive crash. */
  readonly initialMs: number;
  readonly maxMs: number;
  /** More crashes than this within `windowMs` and the agent is faulted (stops handling). */
  readonly maxRestarts: number;
  readonly windowMs: number;
}

export const defaultRestartPolicy: RestartPolicy = { initialMs: 100, maxMs: 5000, maxRestarts: 5, windowMs: 60_000 };

/** Thrown to dead-letter messages that reach an agent that has given up after repeated crashes. */
export class AgentFaultedError extends Error {
  readonly code = 'agent_faulted';
  readonly retryable = true;
  constructor(agent: string, cause: unknown) {
    super(`agent ${agent} is faulted after repeated crashes and is not handling messages`, { cause });
    this.name = 'AgentFaultedError';
  }
}

/**
 * The supervisor's memory of crashes: counts them in a sliding window (wall time: the restart
 * policy is about the process, not event time) and says how long to back off before
 * restarting, or that the agent has crashed too often and is faulted.
 */
export class CrashWindow {
  #times: number[] = [];

  constructor(
    private readonly policy: RestartPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** Notes a crash: the backoff before restarting (ms), or undefined to give up. */
  crashed(): number | undefined {
    const now = this.now();
    this.#times = [...this.#times.filter((t) => now - t < this.policy.windowMs), now];
    if (this.#times.length > this.policy.maxRestarts) return undefined;
    return Math.min(this.policy.maxMs, this.policy.initialMs * 2 ** (this.#times.length - 1));
  }
}
