import { $ } from './dom.js';

/**
 * The API client and the event-stream reader. The stream is read with `fetch()` and a stream
 * reader rather than `EventSource`, which cannot send the `Authorization` header: a token in a
 * URL would end up in access logs.
 */

export const TOKEN_KEY = 'sextant.token';

/** The session: the API token, the open stream, the stream's next retry delay. */
export const S: { token: string; stream: AbortController | null; retryMs: number; role: string | undefined } = {
  token: '',
  stream: null,
  retryMs: 1000,
  role: undefined,
};

/** What the page does when the API refuses the token (set by main.ts: show the token form). */
export const hooks: { askForToken: (message?: string) => void } = { askForToken: () => undefined };

/** A message as the API and the stream give it. */
export interface Message<P = Record<string, unknown>> {
  readonly id: string;
  readonly type: string;
  readonly time: number;
  readonly source: string;
  readonly correlationId?: string;
  readonly payload: P;
}

/** An API error with the server's code and message. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** Calls /api/v1 with the token; a 401 asks for a (new) token. */
export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { authorization: 'Bearer ' + S.token };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch('/api/v1' + path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json().catch(() => null)) as {
    error?: { code: string; message: string; details?: unknown };
  } | null;
  if (res.ok) return json as T;
  const err = json?.error ?? { code: 'http_' + res.status, message: 'HTTP ' + res.status };
  if (res.status === 401) hooks.askForToken('That token was not accepted: ' + err.message);
  throw new ApiFailure(res.status, err.code, err.message, err.details);
}

export function setConn(state: string, text?: string): void {
  const c = $('conn');
  c.dataset.state = state;
  c.textContent = text || state;
}

/**
 * Reads the live event stream (server-sent events over fetch) and hands each message to
 * `onEvent`; reconnects with backoff and calls `onReconnect` to reload what was missed.
 */
export function openStream(types: readonly string[], onEvent: (m: Message) => void, onReconnect: () => void): void {
  if (S.stream) S.stream.abort();
  const ctrl = new AbortController();
  S.stream = ctrl;
  setConn('connecting');
  const read = async () => {
    const res = await fetch('/api/v1/stream?type=' + encodeURIComponent(types.join(',')), {
      headers: { authorization: 'Bearer ' + S.token, accept: 'text/event-stream' },
      signal: ctrl.signal,
    });
    if (res.status === 401) {
      hooks.askForToken('That token was not accepted.');
      throw new Error('unauthorized');
    }
    if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
    setConn('live');
    S.retryMs = 1000;
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const r = await reader.read();
      if (r.done) throw new Error('the stream ended');
      buf += decoder.decode(r.value, { stream: true }).replace(/\r\n?/g, '\n');
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const data: string[] = [];
        let event = 'message';
        for (const line of block.split('\n')) {
          if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          else if (line.startsWith('event:')) event = line.slice(6).trim();
        }
        if (data.length === 0) continue;
        if (event === 'error') throw new Error('the server closed the stream: ' + data.join('\n'));
        try {
          onEvent(JSON.parse(data.join('\n')) as Message);
        } catch (e) {
          console.error('sextant: bad stream event', e);
        }
      }
    }
  };
  read().catch((err: unknown) => {
    if (ctrl.signal.aborted) return;
    setConn('offline', 'offline (' + (err instanceof Error && err.message ? err.message : 'error') + '), retrying');
    const wait = S.retryMs;
    S.retryMs = Math.min(S.retryMs * 2, 15000);
    setTimeout(() => {
      if (S.stream !== ctrl || !S.token) return;
      openStream(types, onEvent, onReconnect);
      onReconnect();
    }, wait);
  });
}
