import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/messaging/envelope.js';
import type { OrderDoc, RecordedEvent, Store } from '../../src/infra/store/ports.js';

/**
 * How a contract run gets a store: `open` opens the same store again (same directory or
 * database) so persistence across a restart can be checked; `fresh` gives a new empty one.
 */
export interface StoreFactory {
  readonly name: string;
  fresh(): Promise<{ open: () => Promise<Store>; cleanup: () => Promise<void> }>;
}

const T0 = 1_700_000_000_000;

const ev = (
  id: string,
  type: string,
  time: number,
  correlationId = id,
  payload: { symbol?: string } & Record<string, unknown> = {},
  causationId?: string,
): RecordedEvent => ({
  subject: payload.symbol ? `${type}.${payload.symbol}` : type,
  env: {
    id,
    type,
    v: 1,
    source: 'test/1',
    correlationId,
    ...(causationId ? { causationId } : {}),
    time,
    payload,
  } as Envelope,
});

const order = (id: string, over: Partial<OrderDoc> = {}): OrderDoc => ({
  clientOrderId: id,
  symbol: 'ORCL',
  side: 'buy',
  qty: 10,
  type: 'market',
  status: 'new',
  filledQty: 0,
  avgPrice: 0,
  correlationId: `c-${id}`,
  createdAt: T0,
  updatedAt: T0,
  version: 1,
  ...over,
});

/** The behaviour every store adapter must have; runs unchanged against each one. */
export function storeContract(factory: StoreFactory): void {
  describe(`Store contract [${factory.name}]`, () => {
    let store: Store;
    let reopen: () => Promise<Store>;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      const f = await factory.fresh();
      reopen = f.open;
      cleanup = f.cleanup;
      store = await reopen();
    });

    afterEach(async () => {
      await store.close().catch(() => undefined);
      await cleanup();
    });

    const restart = async () => {
      await store.close();
      store = await reopen();
    };

    describe('event store', () => {
      it('keeps every appended message and stores a re-appended id once', async () => {
        await store.events.append([
          ev('e1', 'market.bar', T0, 'e1', { symbol: 'ORCL' }),
          ev('e2', 'signal.generated', T0, 'e1', { symbol: 'ORCL' }, 'e1'),
        ]);
        await store.events.append([ev('e1', 'market.bar', T0, 'e1', { symbol: 'ORCL' })]);
        expect(await store.events.count()).toBe(2);
        expect((await store.events.get('e2'))?.env.causationId).toBe('e1');
        expect(await store.events.get('nope')).toBeUndefined();
      });

      it('answers the events appended after one, in append order whatever their times, also after a restart', async () => {
        await store.events.append([
          ev('a1', 'market.bar', T0 + 5, 'a1', { symbol: 'ORCL' }),
          ev('a2', 'order.intent', T0 + 9, 'a2'),
        ]);
        await store.events.append([
          ev('a3', 'market.bar', T0 + 1, 'a3', { symbol: 'ORCL' }),
          ev('a1', 'market.bar', T0 + 5, 'a1', { symbol: 'ORCL' }),
          ev('a4', 'signal.generated', T0 + 1, 'a3', { symbol: 'ORCL' }, 'a3'),
        ]);
        expect((await store.events.after('a1'))?.map((e) => e.env.id)).toEqual(['a2', 'a3', 'a4']);
        expect((await store.events.after('a4'))?.map((e) => e.env.id)).toEqual([]);
        expect((await store.events.after(''))?.map((e) => e.env.id)).toEqual(['a1', 'a2', 'a3', 'a4']);
        expect(await store.events.after('nope')).toBeUndefined();
        await restart();
        expect((await store.events.after('a2'))?.map((e) => e.env.id)).toEqual(['a3', 'a4']);
      });

      it('returns a chain by correlation id in event-time order, ties in append order', async () => {
        await store.events.append([
          ev('b1', 'market.bar', T0, 'b1', { symbol: 'ORCL' }),
          ev('s1', 'signal.generated', T0, 'b1', { symbol: 'ORCL' }, 'b1'),
          ev('i1', 'order.intent', T0, 'b1', { symbol: 'ORCL' }, 's1'),
          ev('x1', 'market.bar', T0 + 5, 'x1', { symbol: 'MSFT' }),
        ]);
        await store.events.append([ev('f1', 'order.filled', T0 + 60_000, 'b1', { symbol: 'ORCL' }, 'i1')]);
        const chain = await store.events.query({ correlationId: 'b1' });
        expect(chain.map((e) => e.env.id)).toEqual(['b1', 's1', 'i1', 'f1']);
        expect(chain[0]!.subject).toBe('market.bar.ORCL');
      });

      it('finds messages by type, symbol and time range, with a limit', async () => {
        const bars = Array.from({ length: 20 }, (_, i) =>
          ev(`bar${i}`, 'market.bar', T0 + i * 1000, `bar${i}`, { symbol: i % 2 ? 'ORCL' : 'MSFT', close: i }),
        );
        await store.events.append(bars);
        await store.events.append([ev('sig', 'signal.generated', T0 + 500, 'bar0', { symbol: 'MSFT' }, 'bar0')]);
        expect(await store.events.query({ type: 'market.bar' })).toHaveLength(20);
        expect(
          (await store.events.query({ symbol: 'ORCL' })).every(
            (e) => (e.env.payload as { symbol: string }).symbol === 'ORCL',
          ),
        ).toBe(true);
        expect(await store.events.query({ symbol: 'ORCL' })).toHaveLength(10);
        const range = await store.events.query({ type: 'market.bar', from: T0 + 5000, to: T0 + 9000 });
        expect(range.map((e) => e.env.id)).toEqual(['bar5', 'bar6', 'bar7', 'bar8', 'bar9']);
        expect((await store.events.query({ type: 'market.bar', limit: 3 })).map((e) => e.env.id)).toEqual([
          'bar0',
          'bar1',
          'bar2',
        ]);
        expect((await store.events.query({ type: 'market.bar', limit: 3, offset: 3 })).map((e) => e.env.id)).toEqual([
          'bar3',
          'bar4',
          'bar5',
        ]); // the next page
        expect((await store.events.query({ type: 'market.bar', limit: 2, newest: true })).map((e) => e.env.id)).toEqual(
          ['bar19', 'bar18'],
        );
      });

      it("answers a symbol's latest signal (type and symbol, newest first) however many later messages it has", async () => {
        const signal = (id: string, symbol: string, time: number) =>
          ev(id, 'signal.generated', time, `c-${id}`, { symbol, side: 'buy' });
        await store.events.append([
          signal('s1', 'ORCL', T0),
          signal('s2', 'MSFT', T0 + 10),
          signal('s3', 'ORCL', T0 + 20),
        ]);
        await store.events.append(
          Array.from({ length: 300 }, (_, i) =>
            ev(`late${i}`, 'market.bar', T0 + 100 + i, `late${i}`, { symbol: 'ORCL' }),
          ),
        );
        await store.events.append([signal('s4', 'MSFT', T0 + 1000)]);
        const latest = await store.events.query({ type: 'signal.generated', symbol: 'ORCL', limit: 1, newest: true });
        expect(latest.map((e) => [e.env.id, e.env.correlationId])).toEqual([['s3', 'c-s3']]);
        expect(await store.events.query({ type: 'signal.generated', symbol: 'NONE', limit: 1, newest: true })).toEqual(
          [],
        );
      });

      it("a person's query leaves out other people's conversations (and chat dead letters) before the limit applies", async () => {
        const chat = (id: string, user: string, time: number) =>
          ev(id, 'chat.exchange', time, id, { user, question: `q ${id}`, answer: 'a' });
        await store.events.append([
          chat('c1', 'api:alice', T0),
          chat('c2', 'api:bob', T0 + 1),
          ev('m1', 'market.bar', T0 + 2, 'm1', { symbol: 'ORCL' }),
          chat('c3', 'api:bob', T0 + 3),
          chat('c4', 'api:alice', T0 + 4),
          ev('d1', 'message.deadlettered', T0 + 5, 'd1', { subject: 'chat.exchange', code: 'x', original: '' }),
          ev('d2', 'message.deadlettered', T0 + 6, 'd2', { subject: 'order.intent', code: 'x', original: '' }),
        ]);
        const ids = async (q: Parameters<Store['events']['query']>[0]) =>
          (await store.events.query(q)).map((e) => e.env.id);
        expect(await ids({ visibleTo: 'api:alice' })).toEqual(['c1', 'm1', 'c4', 'd2']);
        expect(await ids({ type: 'chat.exchange', visibleTo: 'api:bob', limit: 1, newest: true })).toEqual(['c3']);
        expect(await ids({ type: 'chat.exchange', visibleTo: 'api:alice', limit: 1, offset: 1 })).toEqual(['c4']);
        expect(await ids({ type: 'chat.exchange', visibleTo: 'api:carol' })).toEqual([]);
        expect(await ids({ correlationId: 'c2', visibleTo: 'api:alice' })).toEqual([]);
        expect(await ids({ type: 'chat.exchange' })).toEqual(['c1', 'c2', 'c3', 'c4']); // unset: everything
      });

      it('keeps payloads intact, including nested values and unicode', async () => {
        const payload = { symbol: 'BRK.B', nested: { list: [1, 2.5, -3e-7], text: 'Zürich ✓ "quoted"' } };
        await store.events.append([ev('u1', 'market.bar', T0, 'u1', payload)]);
        await restart();
        expect((await store.events.get('u1'))?.env.payload).toEqual(payload);
      });
    });

    describe('orders', () => {
      it('keeps one document per client order id, and an older version never replaces a newer one', async () => {
        await store.orders.put(order('o1'));
        await store.orders.put(
          order('o1', { status: 'filled', filledQty: 10, avgPrice: 12.5, version: 3, updatedAt: T0 + 2 }),
        );
        await store.orders.put(order('o1', { status: 'submitted', version: 2, updatedAt: T0 + 1 }));
        const o = await store.orders.get('o1');
        expect(o).toMatchObject({ status: 'filled', filledQty: 10, avgPrice: 12.5, version: 3 });
        expect(await store.orders.list()).toHaveLength(1);
      });

      it('lists open orders and filters by symbol and status, newest first', async () => {
        await store.orders.put(order('a', { status: 'submitted', updatedAt: T0 + 1 }));
        await store.orders.put(order('b', { status: 'filled', updatedAt: T0 + 2 }));
        await store.orders.put(order('c', { status: 'partially_filled', symbol: 'MSFT', updatedAt: T0 + 3 }));
        await store.orders.put(
          order('d', {
            status: 'rejected',
            reason: 'order notional 12,000 exceeds max 10,000 for ORCL',
            updatedAt: T0 + 4,
          }),
        );
        expect((await store.orders.list({ status: 'open' })).map((o) => o.clientOrderId)).toEqual(['c', 'a']);
        expect((await store.orders.list({ symbol: 'ORCL' })).map((o) => o.clientOrderId)).toEqual(['d', 'b', 'a']);
        expect((await store.orders.list({ status: 'rejected' }))[0]?.reason).toContain('12,000');
        expect(await store.orders.list({ limit: 2 })).toHaveLength(2);
        expect((await store.orders.list({ from: T0 + 2, to: T0 + 3 })).map((o) => o.clientOrderId)).toEqual(['c', 'b']);
      });
    });

    describe('fills and portfolio', () => {
      it('stores a fill once however often it is added, in time order', async () => {
        const f = (id: string, time: number) => ({
          id,
          clientOrderId: 'o1',
          symbol: 'ORCL',
          side: 'buy' as const,
          qty: 5,
          price: 10,
          fee: 0.5,
          time,
          correlationId: 'c',
        });
        await store.fills.add([f('f2', T0 + 2), f('f1', T0 + 1)]);
        await store.fills.add([f('f1', T0 + 1)]);
        expect((await store.fills.list({ clientOrderId: 'o1' })).map((x) => x.id)).toEqual(['f1', 'f2']);
        expect(await store.fills.list({ symbol: 'MSFT' })).toEqual([]);
      });

      it('keeps portfolio snapshots as an equity curve and answers the latest', async () => {
        const p = (id: string, time: number, equity: number) => ({
          id,
          time,
          cash: 1000,
          equity,
          realizedPnl: 0,
          unrealizedPnl: equity - 1000,
          dayPnl: 0,
          drawdown: 0,
          positions: [{ symbol: 'ORCL', qty: 1, avgPrice: 10, lastPrice: 11 }],
        });
        await store.portfolio.add(p('p1', T0, 1000));
        await store.portfolio.add(p('p2', T0 + 10, 1010));
        await store.portfolio.add(p('p2', T0 + 10, 1010));
        expect((await store.portfolio.latest())?.equity).toBe(1010);
        expect((await store.portfolio.history({ from: T0 + 1 })).map((x) => x.id)).toEqual(['p2']);
      });
    });

    describe('snapshots', () => {
      it('keeps the latest snapshot per key; an older seq never replaces it; non-finite numbers survive', async () => {
        await store.snapshots.save({
          key: 'risk',
          seq: 2,
          runId: 'r1',
          savedAt: T0,
          state: { limits: { maxNotional: Infinity }, n: 2 },
        });
        await store.snapshots.save({ key: 'risk', seq: 1, runId: 'r1', savedAt: T0, state: { n: 1 } });
        await restart();
        const s = await store.snapshots.load('risk');
        expect(s?.seq).toBe(2);
        expect(s?.state).toEqual({ limits: { maxNotional: Infinity }, n: 2 });
        expect(await store.snapshots.load('nobody')).toBeUndefined();
      });

      it('saves made in quick succession end with the newest', async () => {
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.snapshots.save({ key: 'process:1', seq: i + 1, runId: 'r', savedAt: T0, state: { i } }),
          ),
        );
        await restart();
        expect((await store.snapshots.load('process:1'))?.state).toEqual({ i: 19 });
      });
    });

    describe('conversations', () => {
      it('returns the latest messages of a conversation, oldest first, each once', async () => {
        for (let i = 0; i < 5; i++)
          await store.conversations.append({
            id: `m${i}`,
            conversationId: 'tg:42',
            role: i % 2 ? 'assistant' : 'user',
            text: `message ${i}`,
            time: T0 + i,
            user: '42',
          });
        await store.conversations.append({
          id: 'm1',
          conversationId: 'tg:42',
          role: 'assistant',
          text: 'message 1',
          time: T0 + 1,
        });
        await store.conversations.append({ id: 'z', conversationId: 'other', role: 'user', text: 'hi', time: T0 });
        expect((await store.conversations.history('tg:42', 3)).map((m) => m.text)).toEqual([
          'message 2',
          'message 3',
          'message 4',
        ]);
        expect(await store.conversations.history('tg:42')).toHaveLength(5);
      });
    });

    it('everything written survives a restart', async () => {
      await store.events.append([ev('e1', 'market.bar', T0, 'e1', { symbol: 'ORCL' })]);
      await store.orders.put(order('o1', { status: 'submitted', version: 2 }));
      await store.fills.add([
        {
          id: 'f1',
          clientOrderId: 'o1',
          symbol: 'ORCL',
          side: 'buy',
          qty: 1,
          price: 1,
          fee: 0,
          time: T0,
          correlationId: 'c',
        },
      ]);
      await store.conversations.append({
        id: 'm',
        conversationId: 'c',
        role: 'user',
        text: 'what is my PnL today?',
        time: T0,
      });
      await store.flush();
      await restart();
      expect(await store.events.count()).toBe(1);
      expect((await store.orders.get('o1'))?.status).toBe('submitted');
      expect(await store.fills.list()).toHaveLength(1);
      expect(await store.conversations.history('c')).toHaveLength(1);
      expect((await store.health()).ok).toBe(true);
    });
  });
}
