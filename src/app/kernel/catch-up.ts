import { subjectFor, type MessageType } from '../../core/index.js';
import type { RecordedEvent } from '../../infra/store/index.js';

/**
 * How a restarted single-process system catches up with what it had done after its last
 * checkpoint, before it takes new input. The agents come back from the checkpoint; the feed
 * makes its bars after it again (with the same derived ids, so every decision, order and fill is
 * made again exactly as it was); what came from outside the agents (people's orders, risk
 * commands) is fed again at the point it arrived: before the feed item that followed it in the
 * event log. Afterwards the agents' state is what it was when the process died, and equals the
 * event log (a fill in the log is a fill in the portfolio).
 */
export interface CatchUpPlan {
  /** Feed items (bars, ticks, refused bars) published after the checkpoint. */
  readonly feedItems: number;
  /** Outside messages to publish before the feed item with this index (0 = the first after the checkpoint). */
  readonly inject: ReadonlyMap<number, readonly RecordedEvent[]>;
  /** How many outside messages there are. */
  readonly outside: number;
}

/** Messages from outside the agents that change what they decide. */
const OUTSIDE_TYPES: ReadonlySet<string> = new Set(['order.intent', 'risk.command']);
const FEED_TYPES: ReadonlySet<string> = new Set(['market.bar', 'market.tick']);

/**
 * The plan from the event log after the checkpoint (in append order), `dataSource` being the
 * data agent's envelope source and `own` every agent source of the process.
 */
export function catchUpPlan(
  tail: readonly RecordedEvent[],
  o: { readonly dataSource: string; readonly own: ReadonlySet<string> },
): CatchUpPlan {
  const inject = new Map<number, RecordedEvent[]>();
  let feedItems = 0;
  let outside = 0;
  for (const e of tail) {
    const { env } = e;
    if (env.source === o.dataSource) {
      // a bar the guard refused was counted by the feed as well
      if (FEED_TYPES.has(env.type) || (env.type === 'message.deadlettered' && e.subject.startsWith('dlq.market.')))
        feedItems++;
      continue;
    }
    if (env.causationId === undefined && !o.own.has(env.source) && OUTSIDE_TYPES.has(env.type)) {
      // fed again on the subject the catalog gives it today (a risk command logged on `risk.command`
      // before the command was part of its subject goes where risk reads it)
      const again = { ...e, subject: subjectFor(env.type as MessageType, env.payload as never) };
      const at = inject.get(feedItems);
      if (at) at.push(again);
      else inject.set(feedItems, [again]);
      outside++;
    }
  }
  return { feedItems, inject, outside };
}
