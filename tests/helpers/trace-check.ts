import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { traceIdOf } from '../../src/core/ports/tracing.js';
import { sharedFile } from './test-data.js';

/** The first `bars` days of the ORCL reference data. */
export function orclHead(dir: string, bars: number): string {
  const lines = readFileSync(sharedFile('market/orcl-1995-2014.csv'), 'utf8').split('\n');
  const file = join(dir, `orcl-${bars}.csv`);
  writeFileSync(file, `${lines.slice(0, bars + 1).join('\n')}\n`);
  return file;
}

/** The dates of the reference run's fills among the first `bars` bars (a fill comes on the bar after its signal). */
export function referenceFillDates(bars: number): string[] {
  const lines = readFileSync(sharedFile('market/orcl-1995-2014.csv'), 'utf8').split('\n');
  const last = lines[bars]!.slice(0, 10);
  const reference = JSON.parse(readFileSync(sharedFile('market/orcl-sma-10-30-reference.json'), 'utf8')) as {
    fills: { date: string }[];
  };
  return reference.fills.map((f) => f.date).filter((d) => d <= last);
}

/** A span as the checks read it, from the SDK's in-memory exporter or from OTLP/JSON. */
export interface SeenSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Absent (or empty) for a root. */
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: 'producer' | 'consumer' | 'server' | 'other';
  readonly service: string;
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** The chain of an ORCL-style fill, root first, by the producer spans of its messages. */
export const FILL_CHAIN = [
  'market.bar',
  'signal.generated',
  'order.intent',
  'order.approved',
  'order.submitted',
  'order.filled',
] as const;

/**
 * Checks the trace of the chain `correlationId` (a bar that led to a fill): one trace id, the one
 * derived from the correlation id, for every span of the chain and no span of another chain in
 * it; every producer span's parent is its causation message's producer span; every consumer
 * span's parent is its message's producer span; bar → signal → intent → approved → submitted →
 * filled → portfolio.updated are linked that way, each handled by its agent. Returns the chain's
 * spans.
 */
export function expectFillTrace(spans: readonly SeenSpan[], correlationId: string): SeenSpan[] {
  const traceId = traceIdOf(correlationId);
  const ofChain = spans.filter((s) => s.attributes['sextant.correlation_id'] === correlationId);
  const inTrace = spans.filter((s) => s.traceId === traceId);
  expect(new Set(ofChain.map((s) => s.traceId))).toEqual(new Set([traceId]));
  expect(inTrace.length).toBe(ofChain.length);
  const producers = new Map(
    inTrace.filter((s) => s.kind === 'producer').map((s) => [s.attributes['messaging.message.id'] as string, s]),
  );
  for (const p of producers.values()) {
    const cause = p.attributes['sextant.causation_id'] as string | undefined;
    if (cause === undefined) expect(p.parentSpanId || undefined, `${p.name} is the root`).toBeUndefined();
    else expect(p.parentSpanId, `${p.name}'s parent is its cause's span`).toBe(producers.get(cause)?.spanId);
  }
  const consumers = inTrace.filter((s) => s.kind === 'consumer');
  for (const c of consumers) {
    const message = producers.get(c.attributes['messaging.message.id'] as string);
    expect(message, `${c.name}: the message it handled was published in this trace`).toBeDefined();
    expect(c.parentSpanId).toBe(message!.spanId);
  }
  // the chain, walked back from the fill by parent links alone
  const byId = new Map(inTrace.map((s) => [s.spanId, s]));
  const fill = [...producers.values()].find((p) => p.attributes['sextant.message_type'] === 'order.filled');
  expect(fill, 'the chain has a fill').toBeDefined();
  const chain: SeenSpan[] = [fill!];
  while (chain[0]!.parentSpanId) chain.unshift(byId.get(chain[0]!.parentSpanId)!);
  expect(chain.map((s) => s.attributes['sextant.message_type'])).toEqual([...FILL_CHAIN]);
  expect(chain.every((s) => s.attributes['sextant.symbol'] === 'ORCL')).toBe(true);
  const update = [...producers.values()].find(
    (p) => p.attributes['sextant.message_type'] === 'portfolio.updated' && p.parentSpanId === fill!.spanId,
  );
  expect(update, 'the portfolio update is a child of the fill').toBeDefined();
  const handled = (type: string, agent: string) =>
    consumers.find(
      (c) =>
        c.attributes['sextant.message_type'] === type &&
        c.attributes['sextant.agent'] === agent &&
        c.attributes['sextant.outcome'] === 'ok',
    );
  expect(handled('market.bar', 'strategy')?.attributes['sextant.outputs']).toContain('signal.generated');
  // risk parks an intent while an opposite-side order of its symbol is still open (across processes
  // the sell can come before the buy's fill reached risk): the approval is then published by the
  // step that handles that fill, still caused by the intent (its span is the intent's child, as
  // checked above), and the intent's own handling has no output. Execution submits at once, and
  // fills in the same step when it already holds the next bar; or it waits likewise.
  expect([['order.approved'], []]).toContainEqual(handled('order.intent', 'risk')?.attributes['sextant.outputs']);
  expect([['order.submitted'], ['order.submitted', 'order.filled'], []]).toContainEqual(
    handled('order.approved', 'execution')?.attributes['sextant.outputs'],
  );
  expect(handled('order.filled', 'portfolio')?.attributes['sextant.outputs']).toContain('portfolio.updated');
  return inTrace;
}
