import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlpacaBroker } from '../../agents/execution/alpaca-broker.js';
import type { OrderIntent } from '../../src/core/domain/messages.js';
import { rootEnvelope } from '../../src/core/messaging/envelope.js';
import { subjects } from '../../src/core/messaging/subjects.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { eventually } from '../helpers/eventually.js';
import { FakeAlpaca } from '../helpers/fake-alpaca.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

const KEY = 'PKBROKERTEST01';
const SECRET = 'broker-test-secret-01';

/**
 * Alpaca behind the broker port, with the official SDK (REST orders and the trade-updates
 * stream) against a local fake of Alpaca: intents go through risk, execution places them, and
 * what Alpaca fills comes back from trade_updates, by client order id, into the portfolio.
 */
describe('Alpaca paper broker (the SDK against a fake Alpaca)', () => {
  let alpaca: FakeAlpaca;
  let system: TestSystem | undefined;
  const ids = sequentialIds('ab');
  const broker = (more: Partial<ConstructorParameters<typeof AlpacaBroker>[0]> = {}) =>
    new AlpacaBroker({
      keyId: KEY,
      secret: SECRET,
      paper: true,
      tradingUrl: alpaca.url,
      timeoutMs: 1_000,
      reconnect: { baseMs: 20, maxMs: 200 },
      log: silentLogger,
      ...more,
    });
  const start = async (pollMs: number) => {
    system = await startTestSystem('memory', {
      agents: ['portfolio', 'execution', 'risk'],
      settings: { broker: broker(), pollMs, startCash: 1_000_000 },
    });
  };
  const intent = (over: Partial<OrderIntent>): OrderIntent => ({
    clientOrderId: 'x',
    symbol: 'AAPL',
    side: 'buy',
    qty: 10,
    type: 'market',
    tif: 'DAY',
    origin: { kind: 'person', id: 'trader' },
    refPrice: 190,
    decidedAt: 0,
    ...over,
  });
  const intend = (over: Partial<OrderIntent>) =>
    system!.bus.publish(
      subjects.orderIntent(),
      rootEnvelope({ ids, clock: system!.clock, source: 'test/trader' }, 'order.intent', intent(over)),
    );
  const fills = (clientOrderId: string) =>
    system!
      .of('order.filled')
      .map((e) => e.payload as { clientOrderId: string; qty: number; price: number; cumQty: number; status: string })
      .filter((f) => f.clientOrderId === clientOrderId);
  const holding = () =>
    (system!.kernel.host('portfolio')!.context as unknown as { book: { holdings: Record<string, { qty: number }> } })
      .book.holdings.AAPL?.qty;

  beforeEach(async () => {
    alpaca = await FakeAlpaca.start({ keyId: KEY, secret: SECRET });
  });
  afterEach(async () => {
    await system?.stop();
    system = undefined;
    await alpaca.close();
  });

  it('an order placed through the broker is filled via trade_updates and booked once, though the update comes twice', async () => {
    await start(600_000); // no polling in this test: a fill can only come from the stream
    await eventually(() => expect(alpaca.tradeListeners()).toBe(1));
    intend({ clientOrderId: 'mkt-1' });
    await eventually(() => expect(system!.of('order.submitted')).toHaveLength(1));
    expect(alpaca.ordersWithClientId('mkt-1')).toMatchObject([
      { symbol: 'AAPL', side: 'buy', qty: 10, type: 'market', timeInForce: 'day' },
    ]);
    alpaca.fill('mkt-1', 10, 190.25, 2); // the stream delivers the fill twice
    // a later order's fill: the stream is in order, so both deliveries of the first were handled before it
    intend({ clientOrderId: 'mkt-2', qty: 5 });
    await eventually(() => expect(system!.of('order.submitted')).toHaveLength(2));
    alpaca.fill('mkt-2', 5, 191);
    await eventually(() => expect(fills('mkt-2')).toHaveLength(1));
    expect(fills('mkt-1')).toEqual([expect.objectContaining({ qty: 10, price: 190.25, cumQty: 10, status: 'filled' })]);
    await eventually(() => expect(holding()).toBe(15));
    expect(alpaca.requestsTo('GET', '/v2/orders:by_client_order_id')).toEqual([]); // nothing polled
  });

  it('a fill that comes on the stream before the acknowledgement is handled is booked (a market order filled at once)', async () => {
    await start(600_000);
    alpaca.setPrice('AAPL', 189.5); // the fake fills market orders as soon as they are placed
    await eventually(() => expect(alpaca.tradeListeners()).toBe(1));
    intend({ clientOrderId: 'fast-1' });
    await eventually(() => expect(fills('fast-1')).toHaveLength(1));
    expect(fills('fast-1')[0]).toMatchObject({ qty: 10, price: 189.5, status: 'filled' });
    await eventually(() => expect(holding()).toBe(10));
  });

  it('a dropped trade-updates stream: what filled meanwhile is read by REST once, and an update sent again changes nothing', async () => {
    await start(50);
    await eventually(() => expect(alpaca.tradeListeners()).toBe(1));
    intend({ clientOrderId: 'lim-1', type: 'limit', limitPrice: 188, tif: 'GTC' });
    await eventually(() => expect(system!.of('order.submitted')).toHaveLength(1));
    alpaca.fill('lim-1', 4, 188);
    await eventually(() => expect(fills('lim-1')).toHaveLength(1));
    alpaca.dropTradingSockets();
    alpaca.fill('lim-1', 6, 187.5); // nobody listening: only REST can tell
    await eventually(() => expect(fills('lim-1')).toHaveLength(2));
    await eventually(() => expect(alpaca.tradeListeners()).toBe(1));
    alpaca.resend('lim-1', 2); // the filled order's update comes again, twice
    intend({ clientOrderId: 'lim-2', type: 'limit', limitPrice: 188, tif: 'GTC', qty: 1 });
    await eventually(() => expect(system!.of('order.submitted')).toHaveLength(2));
    alpaca.fill('lim-2', 1, 188);
    await eventually(() => expect(fills('lim-2')).toHaveLength(1));
    expect(fills('lim-1').map((f) => [f.qty, f.cumQty, f.status])).toEqual([
      [4, 4, 'partially_filled'],
      [6, 10, 'filled'],
    ]);
    expect(fills('lim-1')[1]!.price).toBeCloseTo(187.5, 9);
    await eventually(() => expect(holding()).toBe(11));
  });

  it('an order Alpaca rejects or cancels after taking it ends, saying so', async () => {
    await start(600_000);
    await eventually(() => expect(alpaca.tradeListeners()).toBe(1));
    intend({ clientOrderId: 'rej-1', type: 'limit', limitPrice: 150, tif: 'GTC' });
    await eventually(() => expect(system!.of('order.submitted')).toHaveLength(1));
    alpaca.end('rej-1', 'rejected');
    await eventually(() => expect(system!.of('order.cancelled')).toHaveLength(1));
    expect(system!.of('order.cancelled')[0]!.payload).toMatchObject({
      clientOrderId: 'rej-1',
      reason: expect.stringMatching(/rejected/),
    });
  });

  it('the same client order id submitted again (a retry, a restart) is the same order at Alpaca', async () => {
    const first = await broker().submit(intent({ clientOrderId: 'dup-1' }));
    const again = await broker().submit(intent({ clientOrderId: 'dup-1' }));
    expect(again).toEqual(first);
    expect(alpaca.ordersWithClientId('dup-1')).toHaveLength(1);
    expect(alpaca.requestsTo('POST', '/v2/orders')).toHaveLength(2);
  });

  it('Alpaca refusing an order is a final broker error naming the order; a 5xx is retryable; no secret in either', async () => {
    const b = broker();
    alpaca.inject({
      method: 'POST',
      path: '/v2/orders',
      times: 1,
      status: 403,
      body: { code: 40310000, message: 'insufficient buying power' },
    });
    await expect(b.submit(intent({ clientOrderId: 'big-1', qty: 1e6 }))).rejects.toMatchObject({
      code: 'insufficient_funds',
      retryable: false,
      message: expect.stringMatching(/order big-1 .*insufficient buying power/),
    });
    alpaca.inject({ method: 'POST', path: '/v2/orders', times: 1, status: 503 });
    const err = (await b.submit(intent({ clientOrderId: 'err-1' })).catch((e: unknown) => e)) as Error & {
      retryable: boolean;
    };
    expect(err.retryable).toBe(true);
    expect(`${err.message}${String(err.cause)}`).not.toContain(SECRET);
    // stop and stop-limit map to Alpaca's types
    await b.submit(intent({ clientOrderId: 'stp-1', side: 'sell', type: 'stop', stopPrice: 180, tif: 'GTC' }));
    await b.submit(
      intent({ clientOrderId: 'stl-1', side: 'sell', type: 'stop', stopPrice: 180, limitPrice: 179, tif: 'GTC' }),
    );
    expect(alpaca.orders.filter((o) => o.clientOrderId.startsWith('st')).map((o) => o.type)).toEqual([
      'stop',
      'stop_limit',
    ]);
  });
});
