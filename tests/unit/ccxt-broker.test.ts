import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CcxtBroker, type CcxtBrokerOptions } from '../../agents/execution/ccxt-broker.js';
import {
  BrokerError,
  callResiliently,
  CircuitBreaker,
  type ResilienceDeps,
} from '../../agents/execution/resilience.js';
import type { OrderIntent } from '../../src/core/domain/messages.js';
import { FakeBinance } from '../helpers/fake-venue.js';

// The broker talks to a local fake of Binance's spot REST API through ccxt's real binance class.
const API_KEY = 'k3y-9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const SECRET = 's3cr3t-0a1b2c3d4e5f60718293a4b5c6d7e8f9';

let venue: FakeBinance;
beforeEach(async () => {
  venue = await FakeBinance.start({ apiKey: API_KEY, secret: SECRET });
});
afterEach(() => venue.close());

function broker(overrides: Partial<CcxtBrokerOptions> = {}): CcxtBroker {
  return new CcxtBroker({
    exchange: 'binance',
    apiKey: API_KEY,
    secret: SECRET,
    sandbox: false,
    timeoutMs: 300,
    symbolMap: { BTCUSDT: 'BTC/USDT', ETHUSDT: 'ETH/USDT' },
    exchangeOverrides: { enableRateLimit: false, urls: { api: venue.ccxtApiUrls } },
    ...overrides,
  });
}

const intent = (over: Partial<OrderIntent> = {}): OrderIntent => ({
  clientOrderId: 'c-1',
  symbol: 'BTCUSDT',
  side: 'buy',
  qty: 0.01,
  type: 'market',
  tif: 'GTC',
  origin: { kind: 'strategy', id: 'sma' },
  decidedAt: 0,
  ...over,
});

const failure = (p: Promise<unknown>): Promise<BrokerError> =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(BrokerError);
      return err as BrokerError;
    },
  );

const placements = () => venue.requestsTo('POST', '/api/v3/order');

/** The retry layer as the execution agent uses it, without waiting between attempts. */
const resilience = (): ResilienceDeps => ({
  breaker: new CircuitBreaker({ failureThreshold: 10, coolDownMs: 1_000 }, () => 0),
  retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1, timeoutMs: 5_000 },
  random: () => 0,
  sleep: () => Promise.resolve(),
});

describe('placing orders through ccxt', () => {
  it('a market order reaches the venue with its client order id and returns the venue order id', async () => {
    const ack = await broker().submit(intent());
    expect(venue.orders).toHaveLength(1);
    expect(ack.brokerOrderId).toBe(String(venue.orders[0]!.orderId));
    const sent = placements()[0]!.params;
    expect(sent).toMatchObject({
      symbol: 'BTCUSDT',
      side: 'BUY',
      type: 'MARKET',
      quantity: '0.01',
      newClientOrderId: 'c-1',
    });
    // no price (ccxt would turn it into a quote-quantity order) and no time in force (Binance refuses it on MARKET)
    expect(sent).not.toHaveProperty('price');
    expect(sent).not.toHaveProperty('quoteOrderQty');
    expect(sent).not.toHaveProperty('timeInForce');
    expect(venue.orders[0]!.status).toBe('FILLED');
  });

  it('a limit order carries its price and time in force; an IOC that cannot fill expires', async () => {
    const b = broker();
    await b.submit(intent({ clientOrderId: 'lim-gtc', type: 'limit', limitPrice: 50_000, tif: 'GTC' }));
    await b.submit(intent({ clientOrderId: 'lim-ioc', type: 'limit', limitPrice: 50_000, tif: 'IOC' }));
    expect(placements().map((r) => r.params)).toMatchObject([
      { type: 'LIMIT', price: '50000', timeInForce: 'GTC', newClientOrderId: 'lim-gtc' },
      { type: 'LIMIT', price: '50000', timeInForce: 'IOC', newClientOrderId: 'lim-ioc' },
    ]);
    expect((await b.status('lim-gtc', 'BTCUSDT')).status).toBe('open');
    expect((await b.status('lim-ioc', 'BTCUSDT')).status).toBe('expired');
  });

  it('a stop order is sent as a stop-market with its trigger price and fills when the price reaches it', async () => {
    const b = broker();
    await b.submit(intent({ clientOrderId: 'stop-1', side: 'sell', type: 'stop', stopPrice: 55_000 }));
    expect(placements()[0]!.params).toMatchObject({ type: 'STOP_LOSS', stopPrice: '55000', side: 'SELL' });
    expect(placements()[0]!.params).not.toHaveProperty('timeInForce');
    expect((await b.status('stop-1', 'BTCUSDT')).status).toBe('open');
    venue.setPrice('BTCUSDT', 54_900);
    expect(await b.status('stop-1', 'BTCUSDT')).toMatchObject({
      status: 'closed',
      filled: 0.01,
      average: 54_900,
      feeCurrency: 'USDT',
    });
  });

  it('DAY time in force is refused before reaching the venue', async () => {
    const err = await failure(broker().submit(intent({ tif: 'DAY' })));
    expect(err.code).toBe('unsupported_tif');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('c-1');
    expect(venue.requests).toHaveLength(0);
  });

  it('a stop-limit or an IOC stop is refused rather than guessed', async () => {
    const b = broker();
    expect((await failure(b.submit(intent({ type: 'stop', stopPrice: 61_000, limitPrice: 61_100 })))).code).toBe(
      'unsupported_order',
    );
    expect((await failure(b.submit(intent({ type: 'stop', stopPrice: 61_000, tif: 'IOC' })))).code).toBe(
      'unsupported_tif',
    );
    expect(venue.requests).toHaveLength(0);
  });

  it('a client order id longer than Binance allows is sent as a stable digest and found again by the Sextant id', async () => {
    const b = broker();
    const id = 'sma-cross-BTCUSDT-01J9ZQ8X7Y6W5V4T3S2R1Q0P9N';
    const ack = await b.submit(intent({ clientOrderId: id }));
    const sent = placements()[0]!.params.newClientOrderId!;
    expect(sent).toMatch(/^sx-[A-Za-z0-9_-]{33}$/);
    expect(await b.status(id, 'BTCUSDT')).toMatchObject({ brokerOrderId: ack.brokerOrderId, status: 'closed' });
    expect(await broker().submit(intent({ clientOrderId: id }))).toEqual(ack);
    expect(venue.orders).toHaveLength(1);
  });
});

describe('one order per client order id', () => {
  it('a repeated submit of the same client order id is one order at the venue', async () => {
    const b = broker();
    const first = await b.submit(intent({ type: 'limit', limitPrice: 50_000 }));
    expect(await b.submit(intent({ type: 'limit', limitPrice: 50_000 }))).toEqual(first);
    expect(venue.orders).toHaveLength(1);
  });

  it('a filled order is not placed again, although Binance would accept its id again (ids are unique among open orders only)', async () => {
    const first = await broker().submit(intent());
    expect(venue.orders[0]!.status).toBe('FILLED');
    // a fresh broker, as after a restart: nothing remembered in memory
    expect(await broker().submit(intent())).toEqual(first);
    expect(venue.orders).toHaveLength(1);
    expect(placements()).toHaveLength(1);
  });

  it('concurrent submits of the same order are one placement', async () => {
    const b = broker();
    const acks = await Promise.all([b.submit(intent()), b.submit(intent()), b.submit(intent())]);
    expect(new Set(acks.map((a) => a.brokerOrderId)).size).toBe(1);
    expect(placements()).toHaveLength(1);
    expect(venue.orders).toHaveLength(1);
  });

  it('two brokers racing on one open order get one order: the venue refuses the second as a duplicate and its id is returned', async () => {
    const [a, b] = [broker(), broker()];
    // both look-ups are answered "no such order" before either placement is made
    venue.inject({ method: 'GET', path: '/api/v3/order', times: 2, fault: { kind: 'delay', ms: 150 } });
    const order = intent({ type: 'limit', limitPrice: 50_000 });
    const [ackA, ackB] = await Promise.all([a.submit(order), b.submit(order)]);
    expect(ackA).toEqual(ackB);
    expect(placements()).toHaveLength(2);
    expect(venue.orders).toHaveLength(1);
  });

  it('a submit that timed out after the venue took the order is retried without a second order', async () => {
    const b = broker();
    venue.inject({ method: 'POST', path: '/api/v3/order', times: 1, fault: { kind: 'hang-after-processing' } });
    const ack = await callResiliently(() => b.submit(intent()), resilience());
    expect(venue.orders).toHaveLength(1);
    expect(ack.brokerOrderId).toBe(String(venue.orders[0]!.orderId));
    expect(placements()).toHaveLength(1);
  });

  it('a submit answered with a 5xx after the venue took the order ("status unknown") is retried without a second order', async () => {
    const b = broker();
    venue.inject({
      method: 'POST',
      path: '/api/v3/order',
      times: 1,
      fault: { kind: 'status-after-processing', status: 503 },
    });
    const err = await failure(b.submit(intent()));
    expect(err).toMatchObject({ code: 'timeout', retryable: true }); // binance -1007 "execution status unknown"
    const ack = await b.submit(intent());
    expect(ack.brokerOrderId).toBe(String(venue.orders[0]!.orderId));
    expect(venue.orders).toHaveLength(1);
  });

  it('a submit that timed out before reaching the venue places the order on retry', async () => {
    const b = broker();
    venue.inject({ method: 'POST', path: '/api/v3/order', times: 1, fault: { kind: 'hang' } });
    const err = await failure(b.submit(intent()));
    expect(err).toMatchObject({ code: 'timeout', retryable: true });
    expect(venue.orders).toHaveLength(0);
    await b.submit(intent());
    expect(venue.orders).toHaveLength(1);
  });
});

describe('venue errors', () => {
  it('a 5xx is a retryable error', async () => {
    const b = broker();
    venue.inject({ method: 'POST', path: '/api/v3/order', times: 1, fault: { kind: 'status', status: 500 } });
    expect(await failure(b.submit(intent()))).toMatchObject({ code: 'venue_error', retryable: true });
    venue.inject({
      method: 'POST',
      path: '/api/v3/order',
      times: 1,
      fault: { kind: 'status', status: 502, body: '<html><body>502 Bad Gateway</body></html>' },
    });
    expect(await failure(b.submit(intent()))).toMatchObject({ code: 'venue_unavailable', retryable: true });
    expect(venue.orders).toHaveLength(0);
    await b.submit(intent());
    expect(venue.orders).toHaveLength(1);
  });

  it('rate limiting is a retryable error', async () => {
    venue.inject({
      method: 'GET',
      path: '/api/v3/order',
      times: 1,
      fault: {
        kind: 'status',
        status: 429,
        body: { code: -1003, msg: 'Too much request weight used; current limit is 6000 request weight per 1 MINUTE.' },
        headers: { 'retry-after': '1' },
      },
    });
    expect(await failure(broker().submit(intent()))).toMatchObject({ code: 'rate_limited', retryable: true });
  });

  it('insufficient balance is a final error that names the order', async () => {
    let attempts = 0;
    const b = broker();
    const err = await failure(
      Promise.resolve(
        callResiliently(() => {
          attempts++;
          return b.submit(intent({ clientOrderId: 'big-1', qty: 100 }));
        }, resilience()),
      ),
    );
    expect(err.code).toBe('insufficient_funds');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('big-1');
    expect(err.message).toContain('BTCUSDT');
    expect(attempts).toBe(1);
    expect(venue.orders).toHaveLength(0);
  });

  it('an unknown symbol is a final error', async () => {
    const err = await failure(broker().submit(intent({ symbol: 'DOGEUSDT' })));
    expect(err).toMatchObject({ code: 'unknown_symbol', retryable: false });
    expect(placements()).toHaveLength(0);
  });

  it('rejected credentials are a final auth_failed error', async () => {
    expect(await failure(broker({ secret: 'not-the-secret-at-all' }).submit(intent()))).toMatchObject({
      code: 'auth_failed',
      retryable: false,
    });
    expect(await failure(broker({ apiKey: 'not-the-key-at-all' }).submit(intent()))).toMatchObject({
      code: 'auth_failed',
      retryable: false,
    });
    expect(venue.orders).toHaveLength(0);
  });

  it('a market list that failed to load is loaded again on the next call', async () => {
    const b = broker();
    venue.inject({ method: 'GET', path: '/api/v3/exchangeInfo', times: 1, fault: { kind: 'status', status: 503 } });
    expect(await failure(b.submit(intent()))).toMatchObject({ retryable: true });
    await b.submit(intent());
    expect(venue.orders).toHaveLength(1);
  });

  it('secrets never appear in error messages', async () => {
    const errors: BrokerError[] = [];
    const b = broker();
    // a timed-out GET: ccxt's message carries the signed URL
    venue.inject({ method: 'GET', path: '/api/v3/order', times: 1, fault: { kind: 'hang' } });
    errors.push(await failure(b.status('c-1', 'BTCUSDT')));
    venue.inject({
      method: 'GET',
      path: '/api/v3/order',
      times: 1,
      fault: { kind: 'status', status: 502, body: 'Bad Gateway' },
    });
    errors.push(await failure(b.submit(intent())));
    errors.push(await failure(b.submit(intent({ qty: 100 }))));
    errors.push(await failure(broker({ secret: 'wrong-secret-value' }).submit(intent())));
    errors.push(await failure(broker({ apiKey: 'wrong-key-value' }).submit(intent())));
    expect(errors[0]!.message).toContain('signature=<redacted>');
    for (const err of errors) {
      const text = [err.message, String(err), err.stack, inspect(err, { depth: 5 }), JSON.stringify(err)].join('\n');
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain(SECRET);
      expect(text).not.toMatch(/signature=[0-9a-f]{16}/);
    }
    expect(inspect(b, { depth: 5 }) + JSON.stringify(b)).not.toContain(SECRET);
  });
});

describe('status and cancel', () => {
  it('status reports partial fills and average price, with the fee in the currency charged', async () => {
    const b = broker();
    const ack = await b.submit(intent({ clientOrderId: 'p-1', qty: 0.02, type: 'limit', limitPrice: 50_000 }));
    venue.fill('p-1', 0.005, 50_000);
    venue.fill('p-1', 0.005, 49_990);
    const report = await b.status('p-1', 'BTCUSDT');
    expect(report).toMatchObject({
      brokerOrderId: ack.brokerOrderId,
      status: 'open',
      filled: 0.01,
      feeCurrency: 'BTC',
    });
    expect(report.average).toBeCloseTo(49_995, 6);
    expect(report.fee).toBeCloseTo(0.00001, 12); // 0.1% of 0.01 BTC, charged in the asset bought
  });

  it('status of an order with no fills has no average and no fee', async () => {
    const b = broker();
    await b.submit(intent({ type: 'limit', limitPrice: 50_000 }));
    expect(await b.status('c-1', 'BTCUSDT')).toEqual({
      brokerOrderId: String(venue.orders[0]!.orderId),
      status: 'open',
      filled: 0,
      average: undefined,
      fees: [],
    });
  });

  it('status of an order the venue does not have is a final order_not_found', async () => {
    expect(await failure(broker().status('nope', 'BTCUSDT'))).toMatchObject({
      code: 'order_not_found',
      retryable: false,
    });
  });

  it('cancel is idempotent', async () => {
    const b = broker();
    await b.submit(intent({ type: 'limit', limitPrice: 50_000 }));
    expect((await b.cancel('c-1', 'BTCUSDT')).status).toBe('canceled');
    expect((await b.cancel('c-1', 'BTCUSDT')).status).toBe('canceled');
    expect(venue.requestsTo('DELETE', '/api/v3/order')).toHaveLength(2);
    expect(venue.orders[0]!.status).toBe('CANCELED');
  });

  it('cancelling a filled order is not an error and reports it filled', async () => {
    const b = broker();
    await b.submit(intent({ side: 'sell' }));
    expect(await b.cancel('c-1', 'BTCUSDT')).toMatchObject({
      status: 'closed',
      filled: 0.01,
      average: 60_000,
      feeCurrency: 'USDT',
    });
  });

  it('cancel after a partial fill reports what was filled', async () => {
    const b = broker();
    await b.submit(intent({ qty: 0.02, type: 'limit', limitPrice: 50_000 }));
    venue.fill('c-1', 0.005, 50_000);
    expect(await b.cancel('c-1', 'BTCUSDT')).toMatchObject({ status: 'canceled', filled: 0.005, average: 50_000 });
  });

  it('cancelling an order the venue never had is a final order_not_found', async () => {
    expect(await failure(broker().cancel('never', 'BTCUSDT'))).toMatchObject({
      code: 'order_not_found',
      retryable: false,
    });
  });
});

describe("the venue's market rules", () => {
  it("each symbol's lot size, minimum quantity and tick size come from the venue's filters, for risk to check", async () => {
    expect(await broker().symbolRules(['BTCUSDT', 'ETHUSDT'])).toEqual({
      BTCUSDT: { lotSize: 0.00001, minQty: 0.00001, tickSize: 0.01 },
      ETHUSDT: { lotSize: 0.00001, minQty: 0.00001, tickSize: 0.01 },
    });
  });
});

describe('configuration', () => {
  it('sandbox mode uses the venue testnet URLs and says so in its name', async () => {
    const b = broker({
      sandbox: true,
      exchangeOverrides: { enableRateLimit: false, urls: { test: venue.ccxtApiUrls } },
    });
    expect(b.name).toBe('ccxt:binance:sandbox');
    await b.submit(intent());
    expect(venue.orders).toHaveLength(1);
    expect(broker().name).toBe('ccxt:binance');
  });

  it('a venue without a sandbox is refused in sandbox mode', () => {
    expect(() => broker({ exchange: 'kraken', sandbox: true })).toThrow(
      expect.objectContaining({ code: 'no_sandbox' }),
    );
  });

  it('an exchange ccxt does not know is refused', () => {
    expect(() => broker({ exchange: 'not-an-exchange' })).toThrow(
      expect.objectContaining({ code: 'unsupported_venue' }),
    );
  });
});
