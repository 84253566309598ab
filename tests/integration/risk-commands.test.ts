import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../bus/bus.js';
import { rootEnvelope, type Envelope } from '../../bus/envelope.js';
import { patterns, subjects } from '../../bus/subjects.js';
import { unboundedLimits } from '../../agents/risk/limits.js';
import { createRegistry, type OrderIntent, type RiskCommand, type RiskCommandResult } from '../../src/domain/messages.js';
import { Kernel } from '../../src/kernel.js';
import { silentLogger } from '../../src/observability/logger.js';
import { VirtualClock } from '../../src/runtime/clock.js';
import { sequentialIds } from '../../src/runtime/ids.js';
import { makeBus, testPrefix, transports } from '../helpers/buses.js';
import { eventually } from '../helpers/eventually.js';

const T = Date.UTC(2024, 0, 2);

for (const { name, available } of transports) {
  describe.runIf(available)(`risk commands over the bus [${name}]`, () => {
    let bus: Bus | undefined;
    let kernel: Kernel | undefined;
    afterEach(async () => {
      await kernel?.stop();
      await bus?.close();
    });

    it('halt, reduce and set-limits arrive as commands, are answered, change trading and are published on risk.state', async () => {
      const prefix = testPrefix();
      bus = await makeBus(name, { registry: createRegistry(), prefix });
      const seen: Envelope[] = [];
      bus.subscribe(patterns.all, (env) => void seen.push(env));
      const clock = new VirtualClock(T);
      const deps = { ids: sequentialIds(`${prefix}-op`), clock, source: 'operator/1' };
      kernel = new Kernel({
        bus,
        clock,
        ids: sequentialIds(prefix),
        logger: silentLogger,
        instance: 'risk-test',
        heartbeatMs: 0,
        agents: ['risk'],
        settings: { strategy: { kind: 'sma-cross', id: 's', fast: 2, slow: 3, size: 1 }, limits: unboundedLimits, costs: { feeBps: 0, feePerShare: 0, slippageBps: 0 }, startCash: 1000 },
      });
      await kernel.start();
      await bus.flush();
      const command = async (c: Omit<RiskCommand, 'by' | 'reason'> & Partial<RiskCommand>) => {
        const reply = await bus!.request(subjects.riskCommand(), rootEnvelope(deps, 'risk.command', { by: 'ann', reason: 'test', ...c }));
        expect(reply.type).toBe('risk.command-result');
        return reply.payload as RiskCommandResult;
      };
      let n = 0;
      const verdict = async (side: 'buy' | 'sell', qty: number) => {
        const intent: OrderIntent = { clientOrderId: `i-${++n}`, symbol: 'ACME', side, qty, type: 'market', tif: 'GTC', origin: { kind: 'person', id: 'ann' }, refPrice: 10, decidedAt: T };
        bus!.publish(subjects.orderIntent(), rootEnvelope(deps, 'order.intent', intent));
        const v = await eventually(() => {
          const found = seen.find((e) => (e.type === 'order.approved' || e.type === 'order.rejected') && (e.type === 'order.approved' ? (e.payload as { order: OrderIntent }).order.clientOrderId : (e.payload as { clientOrderId: string }).clientOrderId) === intent.clientOrderId);
          expect(found).toBeDefined();
          return found!;
        });
        return v.type === 'order.approved' ? 'approved' : (v.payload as { code: string }).code;
      };

      expect(await verdict('buy', 5)).toBe('approved');
      expect(await command({ command: 'halt', reason: 'kill switch' })).toMatchObject({ accepted: true, state: 'HALTED' });
      expect(await verdict('buy', 1)).toBe('trading_halted');
      expect(await command({ command: 'reduce' })).toMatchObject({ accepted: true, state: 'REDUCING' });
      expect(await verdict('buy', 1)).toBe('reducing_only');
      expect(await verdict('sell', 2)).toBe('approved');
      expect(await command({ command: 'set-limits', limits: { maxOrderNotional: 'lots' } })).toMatchObject({ accepted: false });
      expect(await command({ command: 'resume' })).toMatchObject({ accepted: true, state: 'ACTIVE' });
      expect(await command({ command: 'set-limits', limits: { maxOrderNotional: 15 } })).toMatchObject({ accepted: true });
      expect(await verdict('buy', 2)).toBe('max_order_notional');

      await eventually(() =>
        expect(seen.filter((e) => e.type === 'risk.state').map((e) => (e.payload as { state: string }).state)).toEqual(['ACTIVE', 'HALTED', 'REDUCING', 'ACTIVE']),
      );
      const halted = seen.find((e) => e.type === 'risk.state' && (e.payload as { state: string }).state === 'HALTED')!;
      expect(halted.payload).toMatchObject({ previous: 'ACTIVE', cause: { kind: 'command', code: 'halt', reason: 'kill switch', by: 'ann' } });
      const query = await bus.request(subjects.query('risk'), rootEnvelope(deps, 'query.request', { params: {} }));
      expect((query.payload as { data: { state: string; positions: Record<string, number> } }).data).toMatchObject({ state: 'ACTIVE', positions: { ACME: 3 } });
    });
  });
}
