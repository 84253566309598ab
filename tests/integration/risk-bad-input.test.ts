import { afterEach, describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../src/core/messaging/dead-letter.js';
import { subjects } from '../../src/core/messaging/subjects.js';
import { unboundedLimits } from '../../agents/risk/limits.js';
import { quiesce } from '../../bus/quiesce.js';
import { transports } from '../helpers/buses.js';
import { eventually } from '../helpers/eventually.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

const T = Date.UTC(2024, 0, 2);
const good = {
  clientOrderId: 'x',
  symbol: 'ACME',
  side: 'buy',
  qty: 1,
  type: 'market',
  tif: 'GTC',
  origin: { kind: 'person', id: 'ann' },
  refPrice: 10,
  decidedAt: T,
};
const envelope = (id: string, payload: unknown) =>
  Buffer.from(JSON.stringify({ id, type: 'order.intent', v: 1, source: 'api/1', correlationId: id, time: T, payload }));

for (const { name } of transports) {
  describe(`malformed intents [${name}]`, () => {
    let system: TestSystem | undefined;
    afterEach(() => system?.stop());

    it('are dead-lettered or rejected with a reason, counted, and none is approved for execution', async () => {
      system = await startTestSystem(name, {
        agents: ['risk', 'execution'],
        settings: { limits: { ...unboundedLimits, allowedSymbols: ['ACME'] } },
        clockStart: T,
      });
      const { bus, seen } = system;
      const bad: [string, unknown][] = [
        ['negative size', { ...good, clientOrderId: 'neg', qty: -5 }],
        ['NaN price (JSON null)', { ...good, clientOrderId: 'nan', refPrice: null }],
        ['wrong side', { ...good, clientOrderId: 'side', side: 'hold' }],
        ['missing client order id', { ...good, clientOrderId: undefined }],
        ['infinite quantity (JSON null)', { ...good, clientOrderId: 'inf', qty: Number.POSITIVE_INFINITY }],
      ];
      for (const [label, payload] of bad)
        bus.publishRaw(subjects.orderIntent(), envelope(`bad-${label.replace(/\W+/g, '-')}`, payload));
      bus.publishRaw(
        subjects.orderIntent(),
        envelope('unknown-symbol', { ...good, clientOrderId: 'unknown', symbol: 'NOPE' }),
      );
      await quiesce(bus);
      const letters = await eventually(() => {
        const l = seen
          .filter((e) => e.type === 'message.deadlettered' && (e.payload as DeadLetter).subject === 'order.intent')
          .map((e) => e.payload as DeadLetter);
        // Every subscriber of order.intent dead-letters it (risk is the only one; in-process recorders would add more).
        expect(l.length).toBeGreaterThanOrEqual(bad.length);
        return l;
      });
      expect(new Set(letters.map((l) => l.code))).toEqual(new Set(['invalid_payload']));
      expect(letters.every((l) => l.reason.startsWith('payload.'))).toBe(true);
      const rejected = seen
        .filter((e) => e.type === 'order.rejected')
        .map((e) => e.payload as { clientOrderId: string; code: string });
      expect(rejected).toEqual([expect.objectContaining({ clientOrderId: 'unknown', code: 'symbol_not_allowed' })]);
      expect(seen.filter((e) => e.type === 'order.approved' || e.type === 'order.submitted')).toEqual([]);
      expect(bus.stats.deadLettered).toBeGreaterThanOrEqual(bad.length);
      console.info(
        `malformed intents [${name}]: ${letters.length} dead-lettered (${[...new Set(letters.map((l) => l.code))].join(', ')}), ${rejected.length} rejected by risk, 0 approved`,
      );
    });
  });
}
