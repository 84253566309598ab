import {
  type Handler,
  type MessageContext,
  type Responder,
  REQUEST_FAILED_TYPE,
  type RequestFailed,
  deriveEnvelope,
  type Envelope,
  type EnvelopeDeps,
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
 * Wraps a responder as a handler: its result is the reply; when it throws, the requester gets
 * a `request.failed` reply at once (no waiting for a timeout) and the error is rethrown so the
 * request is dead-lettered with the reason.
 */
export function serveHandler(deps: EnvelopeDeps, responder: Responder): Handler {
  const fail = (env: Envelope, ctx: MessageContext, err: unknown): never => {
    const e = err as { code?: unknown; message?: unknown };
    const payload: RequestFailed = {
      code: typeof e?.code === 'string' ? e.code : 'responder_error',
      message: typeof e?.message === 'string' ? e.message : String(err),
    };
    if (ctx.expectsReply) ctx.respond(deriveEnvelope(deps, env, REQUEST_FAILED_TYPE, payload));
    throw err;
  };
  return (env, ctx) => {
    let result: Envelope | Promise<Envelope>;
    try {
      result = responder(env, ctx);
    } catch (err) {
      return fail(env, ctx, err);
    }
    if (result instanceof Promise) {
      return result.then(
        (reply) => {
          if (ctx.expectsReply) ctx.respond(reply);
        },
        (err: unknown) => fail(env, ctx, err),
      );
    }
    if (ctx.expectsReply) ctx.respond(result);
  };
}
