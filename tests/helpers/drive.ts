import { createActor, type AnyStateMachine, type EventObject } from 'xstate';
import type { Outbound } from '../../src/core/agent/outbound.js';

/** Runs a real machine as an actor; `send` returns the outputs that one event emitted. */
export function drive<TEvent extends EventObject>(machine: AnyStateMachine, input: unknown) {
  const actor = createActor(machine, { input });
  const emitted: Outbound[] = [];
  actor.on('outbox', (e) => emitted.push(...(e.items as Outbound[])));
  actor.start();
  const send = (ev: TEvent): Outbound[] => {
    const from = emitted.length;
    actor.send(ev);
    return emitted.slice(from);
  };
  return { actor, emitted, send };
}
