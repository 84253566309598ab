import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Update, UserFromGetMe } from 'telegraf/types';

/** One Bot API call the bot made: method and its JSON parameters. */
export interface FakeTelegramCall {
  readonly method: string;
  readonly params: Record<string, unknown>;
  /** What the fake answered (sendMessage: the message, with its `message_id`). */
  result?: unknown;
}

export interface FakeChat {
  readonly id: number;
  readonly type: 'private' | 'group' | 'supergroup';
}

/** A Bot API error to answer instead of the next call of a method. */
export interface FakeTelegramFault {
  readonly error_code: number;
  readonly description: string;
  /** Only a call to this chat fails; unset: the next call of the method, whatever the chat. */
  readonly chatId?: number;
}

const BOT: UserFromGetMe = {
  id: 7000001,
  is_bot: true,
  first_name: 'Sextant',
  username: 'SextantBot',
  can_join_groups: true,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
};

/**
 * A local fake of the Telegram Bot API (node:http on port 0) for the real telegraf client
 * (`apiRoot`): getMe, setMyCommands, sendMessage, editMessageText, editMessageReplyMarkup,
 * answerCallbackQuery, deleteWebhook, setWebhook and getUpdates (long polling: queued updates
 * at once, else it waits until one is pushed or `pollWaitMs` passes). Every call is recorded;
 * tests push updates built with `text`, `tap`, `edited`, `sticker`, `photo`.
 */
export class FakeTelegram {
  readonly calls: FakeTelegramCall[] = [];
  readonly botInfo = BOT;
  #queue: Update[] = [];
  #nextUpdateId = 1;
  #nextMessageId = 1000;
  readonly #waiters = new Set<() => void>();
  readonly #faults = new Map<string, FakeTelegramFault[]>();

  private constructor(
    private readonly server: Server,
    readonly apiRoot: string,
    private readonly pollWaitMs: number,
  ) {}

  static async start(options: { pollWaitMs?: number } = {}): Promise<FakeTelegram> {
    const holder: { fake?: FakeTelegram } = {};
    const server = createServer((req, res) => void holder.fake!.#serve(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    holder.fake = new FakeTelegram(server, `http://127.0.0.1:${port}`, options.pollWaitMs ?? 200);
    return holder.fake;
  }

  /** The calls of one method, in order. */
  callsOf(method: string): FakeTelegramCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** The texts the bot sent to a chat (sendMessage), in order. */
  sentTo(chatId: number): string[] {
    return this.callsOf('sendMessage')
      .filter((c) => c.params.chat_id === chatId)
      .map((c) => String(c.params.text));
  }

  /** getUpdates calls waiting for an update right now. */
  get waitingPolls(): number {
    return this.#waiters.size;
  }

  /** Queues an update for getUpdates (and wakes a waiting poll); returns it. */
  push(update: Update): Update {
    this.#queue.push(update);
    for (const wake of [...this.#waiters]) wake();
    return update;
  }

  /** Answers the next call of `method` with this error instead. */
  failNext(method: string, fault: FakeTelegramFault): void {
    this.#faults.set(method, [...(this.#faults.get(method) ?? []), fault]);
  }

  /** A new text message; a leading `/word` carries a bot_command entity, `@SextantBot` a mention. */
  text(
    userId: number,
    text: string,
    chat: FakeChat = { id: userId, type: 'private' },
    extra: { replyToBot?: boolean } = {},
  ): Update {
    const entities: { type: string; offset: number; length: number }[] = [];
    const command = /^\/\S+/.exec(text);
    if (command) entities.push({ type: 'bot_command', offset: 0, length: command[0].length });
    const mention = text.indexOf(`@${BOT.username}`);
    if (mention >= 0 && !command?.[0].includes('@'))
      entities.push({ type: 'mention', offset: mention, length: BOT.username.length + 1 });
    const message = {
      ...this.#envelope(userId, chat),
      text,
      ...(entities.length ? { entities } : {}),
      ...(extra.replyToBot
        ? { reply_to_message: { message_id: 1, date: 0, chat: this.#chat(chat), from: BOT, text: 'earlier' } }
        : {}),
    };
    return { update_id: this.#nextUpdateId++, message } as unknown as Update;
  }

  /** A tap on an inline button of the bot's message `messageId`. */
  tap(userId: number, data: string, messageId: number, chat: FakeChat = { id: userId, type: 'private' }): Update {
    const callback_query = {
      id: `cb-${this.#nextUpdateId}`,
      from: { id: userId, is_bot: false, first_name: `user${userId}` },
      chat_instance: `ci-${chat.id}`,
      data,
      message: { message_id: messageId, date: 0, chat: this.#chat(chat), from: BOT, text: 'preview' },
    };
    return { update_id: this.#nextUpdateId++, callback_query } as unknown as Update;
  }

  /** An edited text message (the bot must ignore it). */
  edited(userId: number, text: string): Update {
    return {
      update_id: this.#nextUpdateId++,
      edited_message: { ...this.#envelope(userId, { id: userId, type: 'private' }), edit_date: 1, text },
    } as unknown as Update;
  }

  sticker(userId: number): Update {
    return {
      update_id: this.#nextUpdateId++,
      message: {
        ...this.#envelope(userId, { id: userId, type: 'private' }),
        sticker: {
          file_id: 's1',
          file_unique_id: 's1',
          type: 'regular',
          width: 512,
          height: 512,
          is_animated: false,
          is_video: false,
        },
      },
    } as unknown as Update;
  }

  photo(userId: number): Update {
    return {
      update_id: this.#nextUpdateId++,
      message: {
        ...this.#envelope(userId, { id: userId, type: 'private' }),
        photo: [{ file_id: 'p1', file_unique_id: 'p1', width: 90, height: 90 }],
        caption: '/buy ORCL 10',
      },
    } as unknown as Update;
  }

  async close(): Promise<void> {
    for (const wake of [...this.#waiters]) wake();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #envelope(userId: number, chat: FakeChat) {
    return {
      message_id: this.#nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      chat: this.#chat(chat),
      from: { id: userId, is_bot: false, first_name: `user${userId}` },
    };
  }

  #chat(chat: FakeChat) {
    return chat.type === 'private'
      ? { id: chat.id, type: 'private', first_name: `user${chat.id}` }
      : { id: chat.id, type: chat.type, title: `group ${chat.id}` };
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const method = /^\/bot[^/]+\/([A-Za-z]+)$/.exec(req.url ?? '')?.[1];
    const send = (status: number, payload: unknown) => {
      if (res.destroyed || res.writableEnded) return; // the client went away (an aborted poll)
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
    };
    if (!method) return send(404, { ok: false, error_code: 404, description: 'Not Found' });
    let params: Record<string, unknown>;
    try {
      params = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    } catch {
      return send(400, { ok: false, error_code: 400, description: 'Bad Request: invalid JSON' });
    }
    const call: FakeTelegramCall = { method, params };
    this.calls.push(call);
    const faults = this.#faults.get(method) ?? [];
    const at = faults.findIndex((f) => f.chatId === undefined || f.chatId === params.chat_id);
    if (at >= 0) {
      const { error_code, description } = faults.splice(at, 1)[0]!;
      return send(error_code >= 500 ? error_code : 200, { ok: false, error_code, description });
    }
    const ok = (result: unknown) => {
      call.result = result;
      send(200, { ok: true, result });
    };
    switch (method) {
      case 'getMe':
        return ok(BOT);
      case 'setMyCommands':
      case 'deleteWebhook':
      case 'setWebhook':
      case 'answerCallbackQuery':
      case 'editMessageReplyMarkup':
      case 'editMessageText':
        return ok(true);
      case 'sendMessage':
        return ok({
          message_id: this.#nextMessageId++,
          date: Math.floor(Date.now() / 1000),
          chat: { id: params.chat_id, type: 'private' },
          from: BOT,
          text: params.text,
        });
      case 'getUpdates':
        return ok(await this.#updates(req, params));
      default:
        return send(404, { ok: false, error_code: 404, description: `Not Found: method ${method} is not faked` });
    }
  }

  /** Long polling: confirms updates below `offset`, answers queued ones, else waits briefly for one. */
  async #updates(req: IncomingMessage, params: Record<string, unknown>): Promise<Update[]> {
    const offset = typeof params.offset === 'number' ? params.offset : 0;
    this.#queue = this.#queue.filter((u) => u.update_id >= offset);
    const limit = typeof params.limit === 'number' ? params.limit : 100;
    if (this.#queue.length === 0 && typeof params.timeout === 'number' && params.timeout > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          req.socket.off('close', done);
          resolve();
        };
        const timer = setTimeout(done, this.pollWaitMs);
        this.#waiters.add(done);
        req.socket.once('close', done); // the client aborted (bot.stop)
      });
    }
    return this.#queue.slice(0, limit);
  }
}
