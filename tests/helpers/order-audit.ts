import { expect } from 'vitest';
import type { Envelope } from '../../src/core/messaging/envelope.js';
import type { OrderIntent } from '../../src/core/domain/messages.js';

/** The client order id an order-path message is about. */
export const orderIdOf = (e: Envelope): string => {
  const p = e.payload as { clientOrderId?: string; order?: OrderIntent };
  return p.clientOrderId ?? p.order!.clientOrderId;
};

const byOrder = (envs: readonly Envelope[], type: string) => {
  const m = new Map<string, Envelope[]>();
  for (const e of envs) {
    if (e.type !== type) continue;
    const id = orderIdOf(e);
    const list = m.get(id);
    if (list) list.push(e);
    else m.set(id, [e]);
  }
  return m;
};

const finalFill = (e: Envelope) => (e.payload as { status: string }).status === 'filled';

/** Counts of the order path from its messages (each envelope once: pass them deduplicated by id). */
export function orderCounts(envs: readonly Envelope[]) {
  const intents = byOrder(envs, 'order.intent');
  const approved = byOrder(envs, 'order.approved');
  const rejected = byOrder(envs, 'order.rejected');
  const submitted = byOrder(envs, 'order.submitted');
  const filled = byOrder(envs, 'order.filled');
  const failed = byOrder(envs, 'order.failed');
  const cancelled = byOrder(envs, 'order.cancelled');
  const ended = new Set([
    ...[...filled].filter(([, l]) => l.some(finalFill)).map(([id]) => id),
    ...failed.keys(),
    ...cancelled.keys(),
  ]);
  const working = [...submitted.keys()].filter((id) => !ended.has(id));
  return {
    intents: intents.size,
    verdicts: new Set([...approved.keys(), ...rejected.keys()]).size,
    approved: approved.size,
    rejected: rejected.size,
    submitted: submitted.size,
    filled: [...filled.values()].filter((l) => l.some(finalFill)).length,
    fills: [...filled.values()].reduce((n, l) => n + l.length, 0),
    failed: failed.size,
    cancelled: cancelled.size,
    ended: ended.size,
    working: working.length,
  };
}

/**
 * Zero lost, zero duplicated: one verdict per intent, one order per approval (a second
 * `order.submitted` for one client order id would be a second order at the venue), one end per
 * order, no fill applied twice.
 */
export function expectNothingLostOrDuplicated(envs: readonly Envelope[]): void {
  const intents = byOrder(envs, 'order.intent');
  const approved = byOrder(envs, 'order.approved');
  const rejected = byOrder(envs, 'order.rejected');
  const submitted = byOrder(envs, 'order.submitted');
  const failed = byOrder(envs, 'order.failed');
  const filled = byOrder(envs, 'order.filled');
  for (const [id, list] of intents) {
    expect(list, `intent ${id} published once`).toHaveLength(1);
    expect((approved.get(id)?.length ?? 0) + (rejected.get(id)?.length ?? 0), `one verdict for ${id}`).toBe(1);
  }
  for (const id of [...approved.keys(), ...rejected.keys()])
    expect(intents.has(id), `verdict ${id} has an intent`).toBe(true);
  for (const id of approved.keys()) {
    expect(
      (submitted.get(id)?.length ?? 0) + (failed.get(id)?.length ?? 0),
      `approval ${id} became one order or one failure`,
    ).toBeGreaterThanOrEqual(1);
    expect(submitted.get(id)?.length ?? 0, `order ${id} submitted at most once`).toBeLessThanOrEqual(1);
  }
  for (const [id, list] of filled) {
    const cum = list.map((e) => (e.payload as { cumQty: number }).cumQty);
    expect(new Set(cum).size, `no fill of ${id} applied twice`).toBe(cum.length);
    expect(list.filter(finalFill).length, `${id} filled once`).toBeLessThanOrEqual(1);
    expect(approved.has(id), `fill ${id} has an approval`).toBe(true);
  }
}
