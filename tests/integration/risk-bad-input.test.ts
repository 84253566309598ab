import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../bus/bus.js';
import type { DeadLetter } from '../../bus/dead-letter.js';
import type { Envelope } from '../../bus/envelope.js';
import { patterns, subjects } from '../../bus/subjects.js';
import { unboundedLimits } from '../../agents/risk/limits.js';
import { createRegistry } from '../../src/domain/messages.js';
import { Kernel } from '../../src/kernel.js';
import { silentLogger } from '../../src/observability/logger.js';
import { VirtualClock } from '../../src/runtime/clock.js';
import { sequentialIds } from '../../src/runtime/ids.js';
import { quiesce } from '../../src/runtime/quiesce.js';
import { makeBus, testPrefix, transports } from '../helpers/buses.js';
import { eventually } from '../helpers/eventually.js';

const T = Date.UTC(2024, 0, 2);
const good = { clientOrderId: 'x', symbol: 'ACME', side: 'buy', qty: 1, type: 'market', tif: 'GTC', origin: { kind: 'person', id: 'ann' }, refPrice: 10, decidedAt: T };
const envelope = (id: string, payload: unknown) => Buffer.from(JSON.stringify({ id, type: 'order.intent', v: 1, source: 'api/1', correlationId: id, time: T, payload }));

for (const { name, available } of transports) {
  describe.runIf(available)(`malformed intents [${name}]`, () => {
    let bus: Bus | undefined;
    let kernel: Kernel | undefined;
    afterEach(async () => {
      await kernel?.stop();
      await bus?.close();
    });

    it('are dead-lettered or rejected with a reason, counted, and none is approved for execution', async () => {
      const prefix = testPrefix();
      bus = await makeBus(name, { registry: createRegistry(), prefix });
      const seen: Envelope[] = [];
      bus.subscribe(patterns.all, (env) => void seen.push(env));
      kernel = new Kernel({
        bus,
        clock: new VirtualClock(T),
        ids: sequentialIds(prefix),
        logger: silentLogger,
        instance: 'bad-input',
        heartbeatMs: 0,
        agents: ['risk', 'execution'],
        settings: { strategy: { kind: 'sma-cross', id: 's', fast: 2, slow: 3, size: 1 }, limits: { ...unboundedLimits, allowedSymbols: ['ACME'] }, costs: { feeBps: 0, feePerShare: 0, slippageBps: 0 }, startCash: 1000 },
      });
      await kernel.start();
      await bus.flush();
      const bad: [string, unknown][] = [
        ['negative size', { ...good, clientOrderId: 'neg', qty: -5 }],
        ['NaN price (JSON null)', { ...good, clientOrderId: 'nan', refPrice: null }],
        ['wrong side', { ...good, clientOrderId: 'side', side: 'hold' }],
        ['missing client order id', { ...good, clientOrderId: undefined }],
        ['infinite quantity (JSON null)', { ...good, clientOrderId: 'inf', qty: Number.POSITIVE_INFINITY }],
      ];
      for (const [label, payload] of bad) bus.publishRaw(subjects.orderIntent(), envelope(`bad-${label.replace(/\W+/g, '-')}`, payload));
      bus.publishRaw(subjects.orderIntent(), envelope('unknown-symbol', { ...good, clientOrderId: 'unknown', symbol: 'NOPE' }));
      await quiesce(bus);
      const letters = await eventually(() => {
        const l = seen.filter((e) => e.type === 'message.deadlettered' && (e.payload as DeadLetter).subject === 'order.intent').map((e) => e.payload as DeadLetter);
        // Every subscriber of order.intent dead-letters it (risk is the only one; in-process recorders would add more).
        expect(l.length).toBeGreaterThanOrEqual(bad.length);
        return l;
      });
      expect(new Set(letters.map((l) => l.code))).toEqual(new Set(['invalid_payload']));
      expect(letters.every((l) => l.reason.startsWith('payload.'))).toBe(true);
      const rejected = seen.filter((e) => e.type === 'order.rejected').map((e) => e.payload as { clientOrderId: string; code: string });
      expect(rejected).toEqual([expect.objectContaining({ clientOrderId: 'unknown', code: 'symbol_not_allowed' })]);
      expect(seen.filter((e) => e.type === 'order.approved' || e.type === 'order.submitted')).toEqual([]);
      expect(bus.stats.deadLettered).toBeGreaterThanOrEqual(bad.length);
      console.info(`malformed intents [${name}]: ${letters.length} dead-lettered (${[...new Set(letters.map((l) => l.code))].join(', ')}), ${rejected.length} rejected by risk, 0 approved`);
    });
  });
}
