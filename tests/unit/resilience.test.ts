import { describe, expect, it } from 'vitest';
import { PaperBroker } from '../../agents/execution/broker.js';
import {
  backoffDelay,
  BrokerError,
  callResiliently,
  CircuitBreaker,
  type ResilienceDeps,
  type RetryPolicy,
} from '../../agents/execution/resilience.js';
import { seededPrng } from '../../agents/data/feeds/prng.js';
import type { OrderIntent } from '../../src/core/domain/messages.js';

const retry: RetryPolicy = { attempts: 4, baseDelayMs: 10, maxDelayMs: 1_000, timeoutMs: 50 };

function deps(overrides: Partial<ResilienceDeps> = {}) {
  let now = 0;
  const sleeps: number[] = [];
  const d: ResilienceDeps = {
    breaker: new CircuitBreaker({ failureThreshold: 3, coolDownMs: 1_000 }, () => now),
    retry,
    random: () => 0.5,
    sleep: (ms) => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
    ...overrides,
  };
  return { d, sleeps, advance: (ms: number) => (now += ms) };
}

const order: OrderIntent = {
  clientOrderId: 'c1',
  symbol: 'ACME',
  side: 'buy',
  qty: 1,
  type: 'market',
  tif: 'GTC',
  origin: { kind: 'person', id: 'ann' },
  decidedAt: 0,
};

describe('calling a broker resiliently', () => {
  it('a synchronous answer comes back synchronously (backtests stay in lockstep)', () => {
    const { d } = deps();
    expect(callResiliently(() => 42, d)).toBe(42);
  });

  it('retries a failing call with jittered exponential backoff until it succeeds', async () => {
    const { d, sleeps } = deps({ breaker: new CircuitBreaker({ failureThreshold: 10, coolDownMs: 1 }, () => 0) });
    let calls = 0;
    const result = await callResiliently(() => {
      if (++calls < 3) throw new BrokerError('venue_unavailable', 'down', true);
      return 'ok';
    }, d);
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(sleeps).toEqual([backoffDelay(1, retry, () => 0.5), backoffDelay(2, retry, () => 0.5)]);
    expect(sleeps).toEqual([5, 10]);
  });

  it('gives up after the configured attempts, saying how many, with the last error as cause', async () => {
    const { d } = deps({ breaker: new CircuitBreaker({ failureThreshold: 10, coolDownMs: 1 }, () => 0) });
    let calls = 0;
    const err = await Promise.resolve(
      callResiliently(() => {
        calls++;
        throw new BrokerError('venue_unavailable', 'down', true);
      }, d),
    ).catch((e: unknown) => e as BrokerError);
    expect(calls).toBe(4);
    expect(err).toBeInstanceOf(BrokerError);
    expect((err as BrokerError).message).toBe('down (after 4 attempts)');
    expect((err as BrokerError).retryable).toBe(false);
  });

  it('a refusal that retrying cannot help fails at once', async () => {
    const { d } = deps();
    let calls = 0;
    const err = await Promise.resolve(
      callResiliently(() => {
        calls++;
        throw new BrokerError('insufficient_funds', 'no money', false);
      }, d),
    ).catch((e: unknown) => e as BrokerError);
    expect(calls).toBe(1);
    expect((err as BrokerError).code).toBe('insufficient_funds');
  });

  it('a call that hangs times out and is retried', async () => {
    const { d } = deps({ retry: { ...retry, attempts: 2, timeoutMs: 20 } });
    let calls = 0;
    const err = await Promise.resolve(callResiliently(() => (calls++, new Promise<never>(() => undefined)), d)).catch(
      (e: unknown) => e as BrokerError,
    );
    expect(calls).toBe(2);
    expect((err as BrokerError).code).toBe('timeout');
  });

  it('the breaker opens after consecutive failures, refuses while open, probes once after the cool-down and closes on success', async () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failureThreshold: 3, coolDownMs: 1_000 }, () => now);
    for (let i = 0; i < 3; i++) breaker.failed();
    expect(breaker.state).toBe('open');
    expect(() => breaker.acquire()).toThrow(/circuit is open/);
    now += 1_000;
    expect(breaker.state).toBe('half-open');
    breaker.acquire(); // the probe
    expect(() => breaker.acquire()).toThrow(/probe call is in flight/);
    breaker.failed(); // the probe failed: open again
    expect(breaker.state).toBe('open');
    now += 1_000;
    breaker.acquire();
    breaker.succeeded();
    expect(breaker.state).toBe('closed');
  });
});

describe('paper broker', () => {
  it('acknowledges each client order id once, however often it is asked', () => {
    const broker = new PaperBroker();
    const a = broker.submit(order);
    const b = broker.submit(order);
    expect(a).toEqual(b);
    expect(broker.acknowledged).toBe(1);
    expect(broker.calls).toBe(2);
  });

  it('in fault mode fails about the configured share of calls, deterministically for a seed', async () => {
    const run = async () => {
      const broker = new PaperBroker({ failRate: 0.3, minLatencyMs: 0, maxLatencyMs: 0, random: seededPrng(7) });
      let failures = 0;
      for (let i = 0; i < 1000; i++) {
        try {
          await broker.submit({ ...order, clientOrderId: `c${i}` });
        } catch {
          failures++;
        }
      }
      return failures;
    };
    const first = await run();
    expect(first).toBeGreaterThan(240);
    expect(first).toBeLessThan(360);
    expect(await run()).toBe(first);
  });
});
