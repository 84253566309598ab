/**
 * Bus failures: one class per failure, each with a stable `code`, `retryable`, and `cause`.
 * Business rejections are never errors (they are events); these are for broken
 * infrastructure and programming mistakes.
 */
export abstract class BusError extends Error {
  abstract readonly code: string;
  abstract readonly retryable: boolean;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A request found nobody subscribed to its subject. Distinct from a timeout. */
export class NoRespondersError extends BusError {
  readonly code = 'no_responders';
  readonly retryable = true;
  constructor(
    readonly subject: string,
    options?: ErrorOptions,
  ) {
    super(`no responders on ${subject}`, options);
  }
}

/** A request got no reply within its timeout. */
export class RequestTimeoutError extends BusError {
  readonly code = 'request_timeout';
  readonly retryable = true;
  constructor(
    readonly subject: string,
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(`no reply on ${subject} within ${timeoutMs} ms`, options);
  }
}

/** A responder answered a request with a failure instead of a result. */
export class RemoteRequestError extends BusError {
  readonly code = 'remote_error';
  readonly retryable = false;
  constructor(
    readonly subject: string,
    readonly remoteCode: string,
    message: string,
  ) {
    super(`request on ${subject} failed remotely (${remoteCode}): ${message}`);
  }
}

/** An encoded message is over the configured size limit. */
export class PayloadTooLargeError extends BusError {
  readonly code = 'payload_too_large';
  readonly retryable = false;
  constructor(
    readonly subject: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(`message on ${subject} is ${size} bytes, over the limit of ${limit} bytes (BUS_MAX_PAYLOAD_BYTES)`);
  }
}

/** Publishing or subscribing after the bus was drained or closed. */
export class BusClosedError extends BusError {
  readonly code = 'bus_closed';
  readonly retryable = false;
  constructor(operation: string) {
    super(`cannot ${operation}: the bus is closed or draining`);
  }
}

/** An envelope failed validation; `reason` is the dead-letter reason code. */
export class EnvelopeValidationError extends BusError {
  readonly retryable = false;
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A subject or pattern that the bus cannot use. */
export class InvalidSubjectError extends BusError {
  readonly code = 'invalid_subject';
  readonly retryable = false;
  constructor(subject: string, why: string) {
    super(`invalid subject ${JSON.stringify(subject)}: ${why}`);
  }
}

/** The transport could not be reached or failed underneath us. */
export class TransportError extends BusError {
  readonly code = 'transport_error';
  readonly retryable = true;
}
