import { subjects, type Subject } from '../messaging/subjects.js';
import type { MessageType, PayloadOf } from './messages.js';

/**
 * The subject an envelope of a given type is published on. Keyed types take the symbol from
 * the payload; everything else has one fixed subject.
 */
export function subjectFor<T extends MessageType>(type: T, payload: PayloadOf<T>): Subject {
  switch (type) {
    case 'market.bar':
      return subjects.marketBar((payload as PayloadOf<'market.bar'>).symbol);
    case 'market.tick':
      return subjects.marketTick((payload as PayloadOf<'market.tick'>).symbol);
    case 'signal.generated':
      return subjects.signal((payload as PayloadOf<'signal.generated'>).symbol);
    case 'order.intent':
      return subjects.orderIntent();
    case 'order.approved':
      return subjects.orderApproved();
    case 'order.rejected':
      return subjects.orderRejected();
    case 'order.submitted':
      return subjects.orderSubmitted();
    case 'order.filled':
      return subjects.orderFilled();
    case 'order.cancelled':
      return subjects.orderCancelled();
    case 'order.failed':
      return subjects.orderFailed();
    case 'portfolio.updated':
      return subjects.portfolioUpdated();
    case 'risk.state':
      return subjects.riskState();
    case 'risk.command':
      return subjects.riskCommand();
    case 'risk.command-result':
      return subjects.riskCommandResult();
    case 'agent.health':
      return subjects.agentHealth((payload as PayloadOf<'agent.health'>).agent);
    case 'run.started':
      return subjects.runStarted();
    case 'chat.exchange':
      return subjects.chatExchange();
    case 'market.feed-completed':
      return subjects.feedCompleted();
    case 'news.item':
      return subjects.newsItem();
    case 'sentiment.scored':
      return subjects.sentimentScored();
    case 'sentiment.updated':
      return subjects.sentimentScore((payload as PayloadOf<'sentiment.updated'>).symbol);
    default:
      throw new Error(`no subject is defined for message type ${type}; add it to src/core/domain/routing.ts`);
  }
}
