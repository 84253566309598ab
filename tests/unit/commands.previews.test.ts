import { describe, expect, it } from 'vitest';
import type { QueryName } from '../../src/core/messaging/subjects.js';
import { type Caller, MAX_PENDING_PER_CALLER } from '../../interfaces/commands/registry.js';
import { createCommandRouter } from '../../interfaces/commands/router.js';
import type { CommandServices, OrderRequest } from '../../interfaces/commands/services.js';
import type { Position, RiskCommandResult } from '../../src/core/domain/messages.js';

const operator: Caller = { id: 'test:op', role: 'operator' };
const position = (symbol: string, qty: number): Position => ({
  symbol,
  qty,
  avgPrice: 100,
  lastPrice: 101,
  marketValue: qty * 101,
  unrealizedPnl: qty,
  realizedPnl: 0,
});

/** Command services over in-memory positions; `intend` records what would reach risk. */
function services() {
  const held = { positions: [position('ORCL', 10)] };
  const intents: OrderRequest[] = [];
  let n = 0;
  const s: CommandServices = {
    ask<T>(what: QueryName): Promise<T> {
      return Promise.resolve((what === 'positions' ? held.positions : []) as T);
    },
    intend(order) {
      intents.push(order);
      n++;
      return {
        clientOrderId: `cmd-${n}`,
        correlationId: `corr-${n}`,
        verdict: Promise.resolve({ kind: 'approved' as const }),
      };
    },
    precheck: () => Promise.resolve({ wouldPass: true }),
    risk: (command) =>
      Promise.resolve({
        command,
        accepted: true,
        reason: 'ok',
        state: 'ACTIVE',
        limits: {},
      } satisfies RiskCommandResult),
    agents: () => ({}),
    now: () => 0,
  };
  return { s, held, intents };
}

describe('previews that wait for a confirmation', () => {
  it('accept-price asks the data agent only when confirmed, with who and why; a viewer may not', async () => {
    const { s } = services();
    const asked: [string, string, string][] = [];
    s.acceptPrice = (symbol, reason, caller) => {
      asked.push([symbol, reason, caller.id]);
      return Promise.resolve({
        symbol,
        accepted: true,
        reason: `the next ${symbol} bar beyond the price band will be published`,
      });
    };
    let seq = 0;
    const router = createCommandRouter(s, { now: () => 0, newId: () => `p${++seq}` });
    const preview = await router.handle('accept-price SYN split 2:1', operator);
    expect(preview.preview?.summary).toBe('accept the next SYN price beyond the band (split 2:1)');
    expect(asked).toEqual([]);
    const done = await router.confirm(preview.preview!.id, operator);
    expect(done).toMatchObject({ ok: true, text: 'Done: the next SYN bar beyond the price band will be published.' });
    expect(asked).toEqual([['SYN', 'split 2:1', 'test:op']]);
    expect(await router.handle('accept-price SYN', { id: 'test:viewer', role: 'viewer' })).toMatchObject({ ok: false });
    // no data agent takes it (a file feed that ended): a clear reply, not the bus's words alone
    s.acceptPrice = () => Promise.reject(new Error('request on data.accept-price.SYN timed out'));
    const again = await router.handle('accept-price SYN', operator);
    expect(await router.confirm(again.preview!.id, operator)).toMatchObject({
      ok: false,
      code: 'unavailable',
      text: expect.stringMatching(/^The data agent did not take it/) as unknown,
    });
  });

  it('close sends nothing when the position changed between preview and confirm, and says what changed', async () => {
    const { s, held, intents } = services();
    let seq = 0;
    const router = createCommandRouter(s, { now: () => 0, newId: () => `p${++seq}` });
    const preview = await router.handle('close ORCL', operator);
    expect(preview.preview?.summary).toBe('sell 10 ORCL at market');
    held.positions = [position('ORCL', 25)]; // the strategy bought more meanwhile
    const confirmed = await router.confirm(preview.preview!.id, operator);
    expect(confirmed).toMatchObject({ ok: false, code: 'changed' });
    expect(confirmed.text).toMatch(/ORCL was 10, now 25/);
    expect(intents).toEqual([]);
  });

  it('close sends the previewed order when nothing moved', async () => {
    const { s, intents } = services();
    let seq = 0;
    const router = createCommandRouter(s, { now: () => 0, newId: () => `p${++seq}` });
    const preview = await router.handle('close ORCL', operator);
    expect((await router.confirm(preview.preview!.id, operator)).ok).toBe(true);
    expect(intents).toMatchObject([{ symbol: 'ORCL', side: 'sell', qty: 10, type: 'market' }]);
  });

  it('close takes a part of the position (50%, half, a quarter): whole units, rounded down', async () => {
    const { s, held, intents } = services();
    let seq = 0;
    const router = createCommandRouter(s, { now: () => 0, newId: () => `p${++seq}` });
    for (const [part, qty] of [
      ['50%', 5],
      ['half', 5],
      ['quarter', 2],
      ['33%', 3],
    ] as const) {
      const preview = await router.handle(`close ORCL ${part}`, operator);
      expect(preview.preview?.summary).toBe(`sell ${qty} ORCL at market`);
      await router.handle(`confirm ${preview.preview!.id}`, operator);
    }
    expect(intents.map((o) => o.qty)).toEqual([5, 5, 2, 3]);
    held.positions = [position('BTC', 0.5)];
    expect((await router.handle('close BTC 33%', operator)).preview?.summary).toBe('sell 0.165 BTC at market');
    expect((await router.handle('close ORCL lots', operator)).text).toMatch(
      /^part: not a number\. Usage: close SYM\|all \[PART\]/,
    );
  });

  it(`one person keeps at most ${MAX_PENDING_PER_CALLER} previews waiting: the oldest gives way`, async () => {
    const { s, intents } = services();
    let seq = 0;
    const router = createCommandRouter(s, { now: () => 0, newId: () => `p${++seq}` });
    const ids: string[] = [];
    for (let i = 0; i <= MAX_PENDING_PER_CALLER; i++)
      ids.push((await router.handle('buy ORCL 1', operator)).preview!.id);
    expect((await router.confirm(ids[0]!, operator)).ok).toBe(false);
    expect((await router.confirm(ids[1]!, operator)).ok).toBe(true);
    expect((await router.confirm(ids.at(-1)!, operator)).ok).toBe(true);
    expect(intents).toHaveLength(2);
    // someone else's previews are not touched by this person's
    expect((await router.handle('buy ORCL 1', { id: 'other', role: 'operator' })).preview).toBeDefined();
  });
});
