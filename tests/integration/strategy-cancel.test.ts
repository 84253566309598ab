import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBacktest } from '../../src/app/backtest/run-backtest.js';
import { memoryFeed } from '../../agents/data/index.js';
import { unboundedLimits } from '../../agents/risk/limits.js';
import type { Envelope } from '../../src/core/messaging/envelope.js';
import type { Bar } from '../../src/core/domain/messages.js';
import { natsUrl, transports } from '../helpers/buses.js';

/**
 * A strategy file as a user writes it: on its first bar it rests a buy limit far below the
 * market (or at it, when `at` is set), on its third bar it cancels the limit, and on its fourth
 * asks again to cancel it (refused: it is already cancelled) and to cancel an id that never was.
 */
const SOURCE = `
import { defineStrategy, z } from 'sextant/strategy';

export default defineStrategy({
  name: 'limit-then-cancel',
  description: 'rests a limit, then cancels it',
  params: z.object({ below: z.number().default(0.5) }),
  init: () => ({ n: 0, limit: '' }),
  onBar(ctx, s) {
    const n = s.n + 1;
    if (n === 1) return { n, limit: ctx.buy(10, { type: 'limit', limit: ctx.price * ctx.params.below }) };
    if (n === 3) ctx.cancel(s.limit, 'the setup is gone');
    if (n === 4) {
      ctx.cancel(s.limit);
      ctx.cancel('never-placed');
    }
    return { ...s, n };
  },
});
`;

const day = (d: number) => Date.UTC(2024, 0, d);
const bars: Bar[] = [1, 2, 3, 4, 5, 6].map((d) => ({
  symbol: 'X',
  time: day(d),
  open: 100,
  high: 101,
  low: 99,
  close: 100,
  volume: 1000,
}));

for (const { name } of transports) {
  describe(`a strategy cancels its resting order [${name}]`, () => {
    it('a limit placed on bar 1 and cancelled on bar 3 ends cancelled with the reason; cancelling it again or an unknown id is refused with the reason', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sextant-cancel-'));
      const file = join(dir, 'limit-then-cancel.ts');
      writeFileSync(file, SOURCE);
      const seen: Envelope[] = [];
      const letters: string[] = [];
      const r = await runBacktest({
        data: memoryFeed(
          bars.map((bar) => ({ kind: 'bar' as const, bar })),
          { name: 'bars' },
        ),
        symbol: 'X',
        strategy: { id: 'lc', strategy: file, params: { below: 0.5 } },
        cash: 100_000,
        transport: name,
        natsUrl,
        limits: unboundedLimits,
        riskMode: 'off',
        onEnvelope: (env, ctx) => {
          seen.push(env);
          if (ctx.subject.startsWith('dlq.')) letters.push(ctx.subject);
        },
      });
      const of = (type: string) => seen.filter((e) => e.type === type).map((e) => e.payload as Record<string, unknown>);
      const [placed] = of('order.submitted').map((p) => (p.order as { clientOrderId: string }).clientOrderId);
      expect(placed).toBeDefined();
      expect(of('order.cancel').map((c) => c.clientOrderId)).toEqual([placed, placed, 'never-placed']);
      expect(of('order.cancel-approved')).toHaveLength(3);
      expect(of('order.cancelled')).toEqual([
        expect.objectContaining({
          clientOrderId: placed,
          status: 'cancelled',
          filledQty: 0,
          reason: 'cancelled on request of lc: the setup is gone',
        }),
      ]);
      expect(
        of('order.cancel-rejected')
          .map((x) => `${String(x.clientOrderId)} ${String(x.code)}`)
          .sort(),
      ).toEqual([`${placed} already_final`, 'never-placed unknown_order'].sort());
      expect(r.fills).toEqual([]);
      expect(letters).toEqual([]);
    });
  });
}
