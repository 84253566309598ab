import { afterEach, describe, expect, it } from 'vitest';
import { rootEnvelope } from '../../src/core/messaging/envelope.js';
import { subjects, type Subject } from '../../src/core/messaging/subjects.js';
import type { OrderIntent, RiskCommand, RiskCommandResult } from '../../src/core/domain/messages.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import type { DeadLetter } from '../../src/core/messaging/dead-letter.js';
import { RemoteRequestError } from '../../bus/errors.js';
import { transports } from '../helpers/buses.js';
import { eventually } from '../helpers/eventually.js';
import { startTestSystem, type TestSystem } from '../helpers/system.js';

const T = Date.UTC(2024, 0, 2);

for (const { name } of transports) {
  describe(`risk commands over the bus [${name}]`, () => {
    let system: TestSystem | undefined;
    afterEach(() => system?.stop());

    it('halt, reduce and set-limits arrive as commands, are answered, change trading and are published on risk.state', async () => {
      system = await startTestSystem(name, { agents: ['risk'], clockStart: T });
      const { bus, seen, prefix, clock } = system;
      const deps = { ids: sequentialIds(`${prefix}-op`), clock, source: 'operator/1' };
      const command = async (c: Omit<RiskCommand, 'by' | 'reason'> & Partial<RiskCommand>) => {
        const reply = await bus.request(
          subjects.riskCommand(c.command),
          rootEnvelope(deps, 'risk.command', { by: 'ann', reason: 'test', ...c }),
        );
        expect(reply.type).toBe('risk.command-result');
        return reply.payload as RiskCommandResult;
      };
      let n = 0;
      const verdict = async (side: 'buy' | 'sell', qty: number) => {
        const intent: OrderIntent = {
          clientOrderId: `i-${++n}`,
          symbol: 'ACME',
          side,
          qty,
          type: 'market',
          tif: 'GTC',
          origin: { kind: 'person', id: 'ann' },
          refPrice: 10,
          decidedAt: T,
        };
        bus.publish(subjects.orderIntent(), rootEnvelope(deps, 'order.intent', intent));
        const v = await eventually(() => {
          const found = seen.find(
            (e) =>
              (e.type === 'order.approved' || e.type === 'order.rejected') &&
              (e.type === 'order.approved'
                ? (e.payload as { order: OrderIntent }).order.clientOrderId
                : (e.payload as { clientOrderId: string }).clientOrderId) === intent.clientOrderId,
          );
          expect(found).toBeDefined();
          return found!;
        });
        return v.type === 'order.approved' ? 'approved' : (v.payload as { code: string }).code;
      };

      expect(await verdict('buy', 5)).toBe('approved');
      expect(await command({ command: 'halt', reason: 'kill switch' })).toMatchObject({
        accepted: true,
        state: 'HALTED',
      });
      expect(await verdict('buy', 1)).toBe('trading_halted');
      expect(await command({ command: 'reduce' })).toMatchObject({ accepted: true, state: 'REDUCING' });
      expect(await verdict('buy', 1)).toBe('reducing_only');
      expect(await verdict('sell', 2)).toBe('approved');
      expect(await command({ command: 'set-limits', limits: { maxOrderNotional: 'lots' } })).toMatchObject({
        accepted: false,
      });
      expect(await command({ command: 'resume' })).toMatchObject({ accepted: true, state: 'ACTIVE' });
      expect(await command({ command: 'set-limits', limits: { maxOrderNotional: 15 } })).toMatchObject({
        accepted: true,
      });
      expect(await verdict('buy', 2)).toBe('max_order_notional');

      await eventually(() =>
        expect(seen.filter((e) => e.type === 'risk.state').map((e) => (e.payload as { state: string }).state)).toEqual([
          'ACTIVE',
          'HALTED',
          'REDUCING',
          'ACTIVE',
        ]),
      );
      const halted = seen.find((e) => e.type === 'risk.state' && (e.payload as { state: string }).state === 'HALTED')!;
      expect(halted.payload).toMatchObject({
        previous: 'ACTIVE',
        cause: { kind: 'command', code: 'halt', reason: 'kill switch', by: 'ann' },
      });
      const query = await bus.request(subjects.query('risk'), rootEnvelope(deps, 'query.request', { params: {} }));
      expect((query.payload as { data: { state: string; positions: Record<string, number> } }).data).toMatchObject({
        state: 'ACTIVE',
        positions: { ACME: 3 },
      });
    });

    it("a command on the system subject (which every role may publish) is a system process's whatever its by says: it cannot lift a person's halt", async () => {
      system = await startTestSystem(name, { agents: ['risk'], clockStart: T });
      const { bus, prefix, clock } = system;
      const deps = { ids: sequentialIds(`${prefix}-op`), clock, source: 'operator/1' };
      const ask = async (subject: Subject, c: Pick<RiskCommand, 'command' | 'by'>) =>
        (await bus.request(subject, rootEnvelope(deps, 'risk.command', { reason: 'test', ...c })))
          .payload as RiskCommandResult;
      expect(await ask(subjects.riskCommand('halt'), { command: 'halt', by: 'api:ann' })).toMatchObject({
        state: 'HALTED',
      });
      // a forger with a role's credentials, claiming to be a person
      const forged = await ask(subjects.systemRiskCommand('resume'), { command: 'resume', by: 'api:ann' });
      expect(forged).toMatchObject({ accepted: false, state: 'HALTED' });
      expect(forged.reason).toMatch(/system:api:ann may lift only a stop of its own/);
      const limits = await ask(subjects.systemRiskCommand('set-limits'), { command: 'set-limits', by: 'system:store' });
      expect(limits).toMatchObject({ accepted: false });
      expect(await ask(subjects.riskCommand('resume'), { command: 'resume', by: 'api:ann' })).toMatchObject({
        accepted: true,
        state: 'ACTIVE',
      });
    });

    it('an invalid risk.command request is answered at once with the reason; query and control messages without a reply inbox are dead-lettered', async () => {
      system = await startTestSystem(name, { agents: ['risk'], clockStart: T });
      const { bus, seen, prefix, clock } = system;
      const deps = { ids: sequentialIds(`${prefix}-op`), clock, source: 'operator/1' };
      const started = Date.now();
      const err = await bus
        .request(
          // a command no one knows, on the subject of one
          subjects.riskCommand('halt'),
          rootEnvelope(deps, 'risk.command', { command: 'explode', reason: 'test', by: 'ann' }),
          { timeoutMs: 5000 },
        )
        .catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(2000); // answered, not timed out
      expect(err).toBeInstanceOf(RemoteRequestError);
      expect((err as RemoteRequestError).remoteCode).toBe('invalid_payload');
      expect((err as Error).message).toContain('payload.command');
      bus.publish(subjects.query('risk'), rootEnvelope(deps, 'query.request', { params: {} }));
      bus.publish(subjects.agentControl('risk'), rootEnvelope(deps, 'agent.control', { command: 'sync' }));
      const letters = await eventually(() => {
        const l = seen
          .filter((e) => e.type === 'message.deadlettered')
          .map((e) => e.payload as DeadLetter)
          .filter((d) => d.handler !== undefined && d.handler.startsWith('risk'));
        expect(l.map((d) => `${d.subject} ${d.code}`).sort()).toEqual([
          'agent.control.risk no_reply_inbox',
          'query.risk no_reply_inbox',
          'risk.command.halt invalid_payload',
        ]);
        return l;
      });
      expect(letters.every((d) => d.reason.length > 0)).toBe(true);
      expect(seen.filter((e) => e.type === 'risk.command-result')).toEqual([]); // nothing was obeyed
    });
  });
}
