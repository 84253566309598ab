import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local fake of OpenAI's Chat Completions API (`POST /v1/chat/completions`, non-streaming: what
 * `ChatOpenAI` sends for `invoke`), answering with SCRIPTED completions in order. Each completion
 * gets a unique `id` (LangChain merges messages with the same id). A scripted entry is either a
 * fixed answer or a function of the request, so a test can make the "model" react to what it was
 * sent (e.g. obey text it found in a tool result).
 *
 * Every request is recorded (path, headers, parsed body) so tests can assert what the model was
 * shown: the system prompt, the tools offered, the tool results sent back, the history.
 *
 * Faults: `failNext(n)` answers the next n requests with HTTP 500 (an OpenAI-shaped error body);
 * a scripted `{ failWith: 500 }` fails one request at its place in the script.
 * A request with an empty script, or a streaming request, is answered 500 / 400 so a test that
 * sends more than it scripted fails loudly rather than hanging.
 */

export interface ScriptedToolCall {
  readonly name: string;
  /** Sent as a JSON string (what OpenAI does); a string is sent verbatim (e.g. broken JSON). */
  readonly args: unknown;
  readonly id?: string;
}

export interface ScriptedCompletion {
  readonly content?: string;
  readonly toolCalls?: readonly ScriptedToolCall[];
  readonly usage?: { readonly prompt: number; readonly completion: number };
  /** Answer with this HTTP status (an OpenAI-shaped error) instead of a completion. */
  readonly failWith?: number;
}

export type ScriptEntry = ScriptedCompletion | ((request: RecordedRequest) => ScriptedCompletion);

export interface RecordedRequest {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: ChatCompletionRequest;
}

/** The parts of a chat completion request the tests look at. */
export interface ChatCompletionRequest {
  readonly model?: string;
  readonly stream?: boolean;
  readonly messages: readonly WireMessage[];
  readonly tools?: readonly { type: string; function: { name: string; description?: string; parameters?: unknown } }[];
  readonly [key: string]: unknown;
}

export interface WireMessage {
  readonly role: 'system' | 'user' | 'assistant' | 'tool' | 'developer';
  readonly content: string | null | readonly { type: string; text?: string }[];
  readonly tool_calls?: readonly { id: string; type: string; function: { name: string; arguments: string } }[];
  readonly tool_call_id?: string;
}

export interface FakeOpenAI {
  /** The base URL for `ChatOpenAI({ configuration: { baseURL } })`, ending in `/v1`. */
  readonly baseURL: string;
  readonly requests: RecordedRequest[];
  /** Appends answers to the script (consumed one per request, in order). */
  script(...entries: ScriptEntry[]): void;
  /** Scripted answers not used yet. */
  pending(): number;
  /** The next `n` requests are answered with HTTP `status` (default 500). */
  failNext(n: number, status?: number): void;
  close(): Promise<void>;
}

/** The text of a wire message (content may be a string or a list of parts). */
export function textOf(message: WireMessage): string {
  if (typeof message.content === 'string') return message.content;
  if (message.content === null) return '';
  return message.content.map((p) => p.text ?? '').join('');
}

/** `latencyMs`: every answer waits this long, as a model does (so a test can act while calls are in flight). */
export async function startFakeOpenAI(options: { readonly latencyMs?: number } = {}): Promise<FakeOpenAI> {
  const script: ScriptEntry[] = [];
  const requests: RecordedRequest[] = [];
  let failures = 0;
  let failStatus = 500;
  let seq = 0;

  const send = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const error = (res: ServerResponse, status: number, message: string) =>
    send(res, status, { error: { message, type: 'server_error', code: null } });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = (req.url ?? '').split('?')[0]!;
    if (req.method !== 'POST' || path !== '/v1/chat/completions')
      return error(res, 404, `no route ${req.method} ${path}`);
    let body: ChatCompletionRequest;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatCompletionRequest;
    } catch {
      return error(res, 400, 'body is not JSON');
    }
    const recorded: RecordedRequest = { path, headers: req.headers, body };
    requests.push(recorded);
    if (failures > 0) {
      failures--;
      return error(res, failStatus, 'scripted failure');
    }
    if (body.stream) return error(res, 400, 'the fake answers non-streaming requests only');
    if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
    const entry = script.shift();
    if (!entry) return error(res, 500, 'fake-openai: no scripted completion left');
    const answer = typeof entry === 'function' ? entry(recorded) : entry;
    if (answer.failWith) return error(res, answer.failWith, 'scripted failure');
    const id = `chatcmpl-fake-${++seq}`;
    const toolCalls = (answer.toolCalls ?? []).map((t, i) => ({
      id: t.id ?? `call_${seq}_${i}`,
      type: 'function',
      function: { name: t.name, arguments: typeof t.args === 'string' ? t.args : JSON.stringify(t.args) },
    }));
    const usage = answer.usage ?? { prompt: 10, completion: 5 };
    send(res, 200, {
      id,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model ?? 'fake',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: answer.content ?? (toolCalls.length ? null : ''),
            ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
          },
          finish_reason: toolCalls.length ? 'tool_calls' : 'stop',
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: usage.prompt,
        completion_tokens: usage.completion,
        total_tokens: usage.prompt + usage.completion,
      },
    });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => error(res, 500, `fake-openai crashed: ${err.message}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    script: (...entries) => void script.push(...entries),
    pending: () => script.length,
    failNext: (n, status = 500) => {
      failures = n;
      failStatus = status;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
