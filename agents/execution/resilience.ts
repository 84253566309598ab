/**
 * Calling a broker safely: a timeout per call, bounded retries with exponential backoff and
 * jitter, and a circuit breaker that stops calling a broker that keeps failing (open), then
 * lets one probe through after a cool-down (half-open). Errors say whether they are retryable.
 */

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Timeout of one call. */
  readonly timeoutMs: number;
}

export interface BreakerPolicy {
  /** Consecutive failures that open the breaker. */
  readonly failureThreshold: number;
  /** How long it stays open before a half-open probe. */
  readonly coolDownMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 4, baseDelayMs: 50, maxDelayMs: 2_000, timeoutMs: 5_000 };
export const defaultBreakerPolicy: BreakerPolicy = { failureThreshold: 5, coolDownMs: 10_000 };

/** A broker call failed; `retryable` says whether trying again can help. */
export class BrokerError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(code: string, message: string, retryable: boolean, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BrokerError';
    this.code = code;
    this.retryable = retryable;
  }
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/** Counts consecutive failures; `now` is injected (wall time: this is about the venue, not event time). */
export class CircuitBreaker {
  #state: BreakerState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #probing = false;

  constructor(
    private readonly policy: BreakerPolicy,
    private readonly now: () => number,
  ) {}

  get state(): BreakerState {
    if (this.#state === 'open' && this.now() - this.#openedAt >= this.policy.coolDownMs) this.#state = 'half-open';
    return this.#state;
  }

  /** Throws when calls are not allowed now (open, or a half-open probe already in flight). */
  acquire(): void {
    const state = this.state;
    if (state === 'open')
      throw new BrokerError(
        'circuit_open',
        `broker circuit is open after ${this.#failures} consecutive failures; next probe in ${Math.max(0, this.policy.coolDownMs - (this.now() - this.#openedAt))} ms`,
        true,
      );
    if (state === 'half-open') {
      if (this.#probing)
        throw new BrokerError('circuit_open', 'broker circuit is half-open and its probe call is in flight', true);
      this.#probing = true;
    }
  }

  succeeded(): void {
    this.#state = 'closed';
    this.#failures = 0;
    this.#probing = false;
  }

  failed(): void {
    this.#failures++;
    this.#probing = false;
    if (this.#state === 'half-open' || this.#failures >= this.policy.failureThreshold) {
      this.#state = 'open';
      this.#openedAt = this.now();
    }
  }
}

export interface ResilienceDeps {
  readonly breaker: CircuitBreaker;
  readonly retry: RetryPolicy;
  /** Random in [0, 1) for jitter (seeded in tests). */
  readonly random: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

/** Full-jitter exponential backoff: a random delay up to base x 2^(attempt-1), capped. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number): number {
  return Math.floor(random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1)));
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new BrokerError('timeout', `broker call took longer than ${ms} ms`, true)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

const isThenable = <T>(v: T | Promise<T>): v is Promise<T> =>
  typeof (v as { then?: unknown } | undefined)?.then === 'function';

/**
 * Calls `fn` through the breaker with retries. A synchronous answer is returned synchronously
 * (the paper broker: backtests stay in lockstep); otherwise a promise. The final failure names
 * the attempts made and keeps the last error as `cause`.
 */
export function callResiliently<T>(fn: () => T | Promise<T>, deps: ResilienceDeps): T | Promise<T> {
  const attempt = (n: number): T | Promise<T> => {
    let result: T | Promise<T>;
    try {
      deps.breaker.acquire();
      result = fn();
    } catch (err) {
      return retryOrFail(n, err);
    }
    if (!isThenable(result)) {
      deps.breaker.succeeded();
      return result;
    }
    return withTimeout(result, deps.retry.timeoutMs).then(
      (v) => {
        deps.breaker.succeeded();
        return v;
      },
      (err: unknown) => retryOrFail(n, err),
    );
  };
  const retryOrFail = (n: number, err: unknown): Promise<T> => {
    const e =
      err instanceof BrokerError
        ? err
        : new BrokerError('broker_error', err instanceof Error ? err.message : String(err), true, { cause: err });
    if (e.code !== 'circuit_open') deps.breaker.failed();
    if (!e.retryable || n >= deps.retry.attempts) {
      return Promise.reject(
        new BrokerError(e.code, `${e.message} (after ${n} attempt${n === 1 ? '' : 's'})`, false, { cause: e }),
      );
    }
    return deps.sleep(backoffDelay(n, deps.retry, deps.random)).then(() => attempt(n + 1));
  };
  return attempt(1);
}
