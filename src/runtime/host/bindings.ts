import {
  type AgentSpec,
  type Inlet,
  type Bus,
  type MessageContext,
  type Subscription,
  deriveEnvelope,
  type Envelope,
  type EnvelopeDeps,
  subjects,
  type WithOutbox,
} from '../../core/index.js';

/**
 * Subscribes an agent's inlets: on the bus's durable path (orders over JetStream) each inlet has
 * its own consumer; partitioned instances each read every message (and keep what they own), and
 * an instance of a scaled agent that is gone for a day leaves no consumer behind.
 */
export function bindInlets<TContext extends WithOutbox>(
  bus: Bus,
  spec: AgentSpec<TContext>,
  instance: string,
  partitioned: boolean,
  onMessage: (inlet: Inlet<TContext>, env: Envelope, ctx: MessageContext) => void | Promise<void>,
): Subscription[] {
  return spec.inlets.map((inlet) =>
    bus.subscribe(inlet.pattern, (env, ctx) => onMessage(inlet, env, ctx), {
      name: spec.name,
      durable: partitioned ? `${spec.name}-${instance}.${inlet.pattern}` : `${spec.name}.${inlet.pattern}`,
      ...(partitioned ? { durableInactiveMs: 86_400_000 } : {}),
      ...(inlet.shared ? { queue: spec.name } : {}),
      // an inlet that answers requests (risk.command): an invalid request or a failed step is answered at once
      ...(inlet.reply ? { responds: true } : {}),
    }),
  );
}

/** Answers the agent's `query.<what>` services from its machine's context. */
export function serveQueries<TContext extends WithOutbox>(
  bus: Bus,
  spec: AgentSpec<TContext>,
  env: EnvelopeDeps,
  context: () => TContext,
): Subscription[] {
  return (spec.queries ?? []).map((q) =>
    bus.serve(
      subjects.query(q.what),
      (req) => {
        const params = (req.payload as { params?: Record<string, unknown> }).params ?? {};
        return deriveEnvelope(env, req, 'query.result', { data: q.answer(context(), params) });
      },
      { name: `${spec.name}.query.${q.what}`, queue: `query.${q.what}` },
    ),
  );
}

/** Answers `agent.control.<name>` (a multi-process sync: how much this instance has handled and published). */
export function serveControl(
  bus: Bus,
  agent: string,
  instance: string,
  env: EnvelopeDeps,
  handled: () => number,
): Subscription {
  return bus.serve(
    subjects.agentControl(agent),
    (req) =>
      deriveEnvelope(env, req, 'agent.synced', { agent, instance, handled: handled(), published: bus.stats.published }),
    { name: `${agent}.control` },
  );
}
