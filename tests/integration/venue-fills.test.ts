import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rootEnvelope } from '../../src/core/messaging/envelope.js';
import { subjects } from '../../src/core/messaging/subjects.js';
import { CcxtBroker } from '../../agents/execution/ccxt-broker.js';
import type { ExecutionContext } from '../../agents/execution/machine.js';
import type { OrderIntent, PortfolioSnapshot } from '../../src/core/domain/messages.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { eventually } from '../helpers/eventually.js';
import { FakeBinance } from '../helpers/fake-venue.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

const API_KEY = 'k3y-venue-fills-test';
const SECRET = 's3cr3t-venue-fills-test';

/**
 * A live venue behind the broker port (ccxt against a local fake of Binance spot): intents go
 * through risk, execution places them at the venue and polls it, and what the venue fills comes
 * back as `order.filled` into the portfolio. No real venue is reached.
 */
describe('live venue fills (ccxt against a local fake of Binance)', () => {
  let venue: FakeBinance;
  let system: TestSystem;
  const ids = sequentialIds('vf');

  beforeEach(async () => {
    venue = await FakeBinance.start({ apiKey: API_KEY, secret: SECRET });
    venue.setPrice('BTCUSDT', 50_000);
    const broker = new CcxtBroker({
      exchange: 'binance',
      apiKey: API_KEY,
      secret: SECRET,
      sandbox: false,
      timeoutMs: 500,
      symbolMap: { BTCUSDT: 'BTC/USDT' },
      exchangeOverrides: { enableRateLimit: false, urls: { api: venue.ccxtApiUrls } },
    });
    system = await startTestSystem('memory', {
      agents: ['portfolio', 'execution', 'risk'],
      settings: { broker, pollMs: 50, startCash: 1_000_000 },
    });
  });
  afterEach(async () => {
    await system.stop();
    await venue.close();
  });

  const intend = (over: Partial<OrderIntent>) => {
    const order: OrderIntent = {
      clientOrderId: 'x',
      symbol: 'BTCUSDT',
      side: 'buy',
      qty: 0.5,
      type: 'market',
      tif: 'GTC',
      origin: { kind: 'person', id: 'trader' },
      refPrice: 50_000,
      decidedAt: 0,
      ...over,
    };
    system.bus.publish(
      subjects.orderIntent(),
      rootEnvelope({ ids, clock: system.clock, source: 'test/trader' }, 'order.intent', order),
    );
  };
  const portfolio = () =>
    system.kernel.host('portfolio')!.context as unknown as {
      book: { holdings: Record<string, { qty: number; avgPrice: number }> };
    };

  it('a market order placed through risk is filled by the venue and reaches the portfolio', async () => {
    intend({ clientOrderId: 'mkt-1' });
    await eventually(() => expect(system.of('order.filled')).toHaveLength(1), 5000);
    const fill = system.of('order.filled')[0]!.payload as {
      qty: number;
      price: number;
      status: string;
      cumQty: number;
    };
    expect(fill).toMatchObject({ qty: 0.5, price: 50_000, status: 'filled', cumQty: 0.5 });
    expect(venue.ordersWithClientId('mkt-1')).toHaveLength(1);
    await eventually(() => expect(portfolio().book.holdings.BTCUSDT?.qty).toBe(0.5));
    const execution = system.kernel.host('execution')!.context as ExecutionContext;
    expect(execution.orders).toEqual({});
  });

  it('partial fills at the venue come back as partial fills at their own prices, and a venue cancel ends the order with what was filled', async () => {
    intend({ clientOrderId: 'lim-1', type: 'limit', limitPrice: 49_000, qty: 1 });
    await eventually(() => expect(system.of('order.submitted')).toHaveLength(1), 5000);
    venue.fill('lim-1', 0.25, 49_000);
    await eventually(() => expect(system.of('order.filled')).toHaveLength(1), 5000);
    venue.fill('lim-1', 0.25, 48_000);
    await eventually(() => expect(system.of('order.filled')).toHaveLength(2), 5000);
    const fills = system
      .of('order.filled')
      .map((e) => e.payload as { qty: number; price: number; cumQty: number; status: string });
    expect(fills.map((f) => [f.qty, f.cumQty, f.status])).toEqual([
      [0.25, 0.25, 'partially_filled'],
      [0.25, 0.5, 'partially_filled'],
    ]);
    expect(fills[0]!.price).toBeCloseTo(49_000, 6);
    expect(fills[1]!.price).toBeCloseTo(48_000, 6);
    await new CcxtBroker({
      exchange: 'binance',
      apiKey: API_KEY,
      secret: SECRET,
      sandbox: false,
      timeoutMs: 500,
      symbolMap: { BTCUSDT: 'BTC/USDT' },
      exchangeOverrides: { enableRateLimit: false, urls: { api: venue.ccxtApiUrls } },
    }).cancel('lim-1', 'BTCUSDT');
    await eventually(() => expect(system.of('order.cancelled')).toHaveLength(1), 5000);
    expect(system.of('order.cancelled')[0]!.payload).toMatchObject({
      clientOrderId: 'lim-1',
      filledQty: 0.5,
      status: 'cancelled',
    });
    await eventually(() => expect(portfolio().book.holdings.BTCUSDT?.qty).toBe(0.5));
    expect(portfolio().book.holdings.BTCUSDT?.avgPrice).toBeCloseTo(48_500, 6);
    const snapshot = (
      await system.bus.request(
        subjects.query('portfolio'),
        rootEnvelope({ ids, clock: system.clock, source: 'test' }, 'query.request', { params: {} }),
      )
    ).payload as { data: PortfolioSnapshot };
    expect(snapshot.data.positions[0]).toMatchObject({ symbol: 'BTCUSDT', qty: 0.5 });
  });

  it('a person cancels a resting limit through risk: execution cancels it at the venue, and asking again is refused as already final', async () => {
    intend({ clientOrderId: 'lim-2', type: 'limit', limitPrice: 45_000, qty: 1 });
    await eventually(() => expect(system.of('order.submitted')).toHaveLength(1), 5000);
    venue.fill('lim-2', 0.25, 45_000);
    await eventually(() => expect(system.of('order.filled')).toHaveLength(1), 5000);
    const cancel = (cancelId: string) =>
      system.bus.publish(
        subjects.orderIntent(),
        rootEnvelope({ ids, clock: system.clock, source: 'test/trader' }, 'order.cancel', {
          cancelId,
          clientOrderId: 'lim-2',
          origin: { kind: 'person', id: 'trader' },
          reason: 'too far from the market',
          requestedAt: 0,
        }),
      );
    cancel('c-1');
    await eventually(() => expect(system.of('order.cancelled')).toHaveLength(1), 5000);
    expect(system.of('order.cancelled')[0]!.payload).toMatchObject({
      clientOrderId: 'lim-2',
      filledQty: 0.25,
      status: 'cancelled',
      reason: 'the venue reports the order canceled',
    });
    expect(venue.ordersWithClientId('lim-2')).toEqual([expect.objectContaining({ status: 'CANCELED' })]);
    cancel('c-2');
    await eventually(() => expect(system.of('order.cancel-rejected')).toHaveLength(1), 5000);
    expect(system.of('order.cancel-rejected')[0]!.payload).toMatchObject({ cancelId: 'c-2', code: 'already_final' });
  });
});
