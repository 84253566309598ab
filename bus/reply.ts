import {
  DeadLetterError,
  type Handler,
  InvalidReason,
  type Responder,
  REQUEST_FAILED_TYPE,
  type RequestFailed,
  type Envelope,
} from '../src/core/index.js';
import { RemoteRequestError } from './errors.js';

/** Resolves a request with its reply, or rejects it when the responder reported a failure. */
export function settleReply(
  pending: { resolve(env: Envelope): void; reject(err: Error): void; subject: string },
  reply: Envelope,
): void {
  if (reply.type === REQUEST_FAILED_TYPE) {
    const failure = reply.payload as RequestFailed;
    pending.reject(new RemoteRequestError(pending.subject, failure.code, failure.message));
  } else pending.resolve(reply);
}

/**
 * Wraps a responder as a handler: its result is the reply. A request without a reply inbox is
 * not answered but dead-lettered (`no_reply_inbox`): nobody could read the answer. When the
 * responder throws, the error is rethrown: the bus answers `request.failed` at once (the
 * subscription `responds`) and dead-letters the request with the reason.
 */
export function serveHandler(responder: Responder): Handler {
  return (env, ctx) => {
    if (!ctx.expectsReply)
      throw new DeadLetterError(
        InvalidReason.noReplyInbox,
        `${env.type} on ${ctx.subject} came without a reply inbox: it is a request (send it with request), and an answer would have nowhere to go`,
      );
    const result = responder(env, ctx);
    if (result instanceof Promise) return result.then((reply) => ctx.respond(reply));
    ctx.respond(result);
  };
}
