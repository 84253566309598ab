import { type Envelope, TRACEPARENT_HEADER } from '../src/core/index.js';

/** Header names; correlation ids travel as headers so plain NATS tools can follow a chain. */
export const Header = {
  id: 'Nats-Msg-Id',
  type: 'Sextant-Type',
  correlationId: 'Sextant-Correlation-Id',
  causationId: 'Sextant-Causation-Id',
  /** W3C trace context (only when tracing is on): the producer span of the message. */
  traceparent: TRACEPARENT_HEADER,
} as const;

/** The headers every published envelope carries. */
export function envelopeHeaders(env: Envelope): Record<string, string> {
  const h: Record<string, string> = {
    [Header.id]: env.id,
    [Header.type]: env.type,
    [Header.correlationId]: env.correlationId,
  };
  if (env.causationId !== undefined) h[Header.causationId] = env.causationId;
  return h;
}
