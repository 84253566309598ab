import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Bus } from '../../src/core/messaging/bus.js';
import { DEAD_LETTER_TYPE, type DeadLetter } from '../../src/core/messaging/dead-letter.js';
import { rootEnvelope, type Envelope } from '../../src/core/messaging/envelope.js';
import {
  BusClosedError,
  InvalidSubjectError,
  NoRespondersError,
  PayloadTooLargeError,
  RemoteRequestError,
  RequestTimeoutError,
} from '../../bus/errors.js';
import { Header } from '../../bus/headers.js';
import { SchemaRegistry } from '../../src/core/messaging/schema-registry.js';
import { subjects, type Subject, type SubjectPattern } from '../../src/core/messaging/subjects.js';
import { VirtualClock } from '../../src/core/ports/clock.js';
import { sequentialIds } from '../../src/core/ports/ids.js';
import { makeBus, testPrefix, transports, type TransportName } from '../helpers/buses.js';
import { eventually } from '../helpers/eventually.js';

const ping = z.object({ n: z.number().int(), text: z.string().optional() });
const registry = () =>
  new SchemaRegistry().register('test.ping', 1, ping).register('test.ping', 2, ping.extend({ tag: z.string() }));

const sub = (s: string) => s as Subject;
const pat = (s: string) => s as SubjectPattern;
const deps = { ids: sequentialIds('msg'), clock: new VirtualClock(1_700_000_000_000), source: 'test/1' };
const pingEnv = (n: number, extra: Partial<{ text: string }> = {}): Envelope =>
  rootEnvelope(deps, 'test.ping', { n, ...extra });
const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

for (const { name } of transports) {
  describe(`Bus contract [${name}]`, () => {
    let pub: Bus;
    let rx: Bus;
    const open: Bus[] = [];

    /** Publisher and receiver: one bus in memory, two connections on NATS. */
    const pair = async (
      transport: TransportName,
      extra: { maxPayloadBytes?: number; requestTimeoutMs?: number } = {},
    ) => {
      const prefix = testPrefix();
      const a = await makeBus(transport, { registry: registry(), prefix, ...extra });
      const b = transport === 'memory' ? a : await makeBus(transport, { registry: registry(), prefix, ...extra });
      open.push(a, b);
      return [a, b] as const;
    };
    /** Waits until everything published so far has been delivered. */
    const settle = async () => {
      await pub.flush();
      await rx.flush();
    };
    const collect = (bus: Bus, pattern: string, opts: { queue?: string } = {}) => {
      const got: { env: Envelope; subject: string; headers: Record<string, string> }[] = [];
      bus.subscribe(
        pat(pattern),
        (env, ctx) => void got.push({ env, subject: ctx.subject, headers: { ...ctx.headers } }),
        opts,
      );
      return got;
    };
    const deadLetters = (bus: Bus) => collect(bus, 'dlq.>');

    beforeEach(async () => {
      [pub, rx] = await pair(name);
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((b) => b.close().catch(() => undefined)));
    });

    it('publish to a subscribed subject delivers the same envelope with correlation headers', async () => {
      const got = collect(rx, 'test.one');
      await rx.flush();
      const env = pingEnv(1, { text: 'hello' });
      pub.publish(sub('test.one'), env);
      await settle();
      await eventually(() => expect(got).toHaveLength(1));
      expect(got[0]!.env).toEqual(env);
      expect(got[0]!.subject).toBe('test.one');
      expect(got[0]!.headers[Header.correlationId]).toBe(env.correlationId);
      expect(got[0]!.headers[Header.id]).toBe(env.id);
    });

    it('star matches exactly one token and greater-than matches one or more trailing tokens', async () => {
      const star = collect(rx, 'test.w.*');
      const tail = collect(rx, 'test.w.>');
      await rx.flush();
      for (const s of ['test.w', 'test.w.a', 'test.w.a.b', 'test.x.a']) pub.publish(sub(s), pingEnv(1));
      await settle();
      await eventually(() => expect(tail.map((g) => g.subject)).toEqual(['test.w.a', 'test.w.a.b']));
      expect(star.map((g) => g.subject)).toEqual(['test.w.a']);
    });

    it('queue group delivers each message to exactly one member while plain subscribers get all', async () => {
      const m1 = collect(rx, 'test.q', { queue: 'workers' });
      const m2 = collect(rx, 'test.q', { queue: 'workers' });
      const all = collect(rx, 'test.q');
      await rx.flush();
      for (let i = 0; i < 200; i++) pub.publish(sub('test.q'), pingEnv(i));
      await settle();
      await eventually(() => expect(all).toHaveLength(200));
      await eventually(() => expect(m1.length + m2.length).toBe(200));
      const seen = [...m1, ...m2].map((g) => (g.env.payload as { n: number }).n).sort((a, b) => a - b);
      expect(seen).toEqual([...Array(200).keys()]);
    });

    it('request returns the first reply from a responder', async () => {
      rx.serve(sub('test.svc'), (env) => rootEnvelope(deps, 'test.ping', { n: (env.payload as { n: number }).n * 2 }));
      await rx.flush();
      const reply = await pub.request(sub('test.svc'), pingEnv(21));
      expect(reply.payload).toEqual({ n: 42 });
    });

    it('request with nobody subscribed fails fast with NoRespondersError, not a timeout', async () => {
      const started = Date.now();
      await expect(pub.request(sub('test.nobody'), pingEnv(1), { timeoutMs: 5000 })).rejects.toBeInstanceOf(
        NoRespondersError,
      );
      expect(Date.now() - started).toBeLessThan(1000);
    });

    it('request to a subscriber that never replies times out with RequestTimeoutError', async () => {
      rx.subscribe(pat('test.silent'), () => undefined);
      await rx.flush();
      await expect(pub.request(sub('test.silent'), pingEnv(1), { timeoutMs: 150 })).rejects.toBeInstanceOf(
        RequestTimeoutError,
      );
    });

    it('responder that throws answers request.failed at once and dead-letters the request', async () => {
      const dlq = deadLetters(pub);
      rx.serve(
        sub('test.broken'),
        () => {
          throw new Error('boom');
        },
        { name: 'broken-service' },
      );
      await rx.flush();
      await pub.flush();
      const err = await pub.request(sub('test.broken'), pingEnv(1), { timeoutMs: 3000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteRequestError);
      expect((err as Error).message).toContain('boom');
      await eventually(() => expect(dlq.map((d) => (d.env.payload as DeadLetter).handler)).toEqual(['broken-service']));
    });

    it('a request that fails validation is answered request.failed with the reason at once, and dead-lettered', async () => {
      const dlq = deadLetters(pub);
      let asked = 0;
      rx.serve(sub('test.strict'), () => (asked++, pingEnv(0)), { name: 'strict-service' });
      rx.subscribe(pat('test.strict'), () => undefined, { name: 'a-tap' }); // a plain subscriber never answers
      await rx.flush();
      await pub.flush();
      const started = Date.now();
      const bad = { ...pingEnv(1), payload: { n: 'one' } } as Envelope;
      const err = await pub.request(sub('test.strict'), bad, { timeoutMs: 5000 }).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(2000); // not the timeout
      expect(err).toBeInstanceOf(RemoteRequestError);
      expect((err as RemoteRequestError).remoteCode).toBe('invalid_payload');
      expect((err as Error).message).toContain('payload.n');
      expect(asked).toBe(0);
      await eventually(() =>
        expect(
          dlq.map((d) => [(d.env.payload as DeadLetter).handler, (d.env.payload as DeadLetter).code]).sort(),
        ).toEqual([
          ['a-tap', 'invalid_payload'],
          ['strict-service', 'invalid_payload'],
        ]),
      );
    });

    it('a message without a reply inbox to a served subject is dead-lettered as no_reply_inbox, not dropped', async () => {
      const dlq = deadLetters(pub);
      let asked = 0;
      rx.serve(sub('test.query'), () => (asked++, pingEnv(0)), { name: 'query-service' });
      await rx.flush();
      await pub.flush();
      pub.publish(sub('test.query'), pingEnv(7));
      await settle();
      const letter = await eventually(() => {
        expect(dlq).toHaveLength(1);
        return dlq[0]!.env.payload as DeadLetter;
      });
      expect(letter).toMatchObject({ subject: 'test.query', code: 'no_reply_inbox', handler: 'query-service' });
      expect(letter.reason).toMatch(/without a reply inbox/);
      expect(asked).toBe(0);
    });

    it('messages on one subject arrive in publish order, also with an async handler', async () => {
      const order: number[] = [];
      rx.subscribe(pat('test.ordered'), async (env) => {
        const n = (env.payload as { n: number }).n;
        if (n % 7 === 0) await new Promise((r) => setTimeout(r, 1));
        order.push(n);
      });
      await rx.flush();
      for (let i = 0; i < 500; i++) pub.publish(sub('test.ordered'), pingEnv(i));
      await settle();
      await eventually(() => expect(order).toHaveLength(500));
      expect(order).toEqual([...Array(500).keys()]);
    });

    it('handler that throws dead-letters the message with the reason and original bytes, and keeps consuming', async () => {
      const dlq = deadLetters(pub);
      const handled: number[] = [];
      rx.subscribe(
        pat('test.fragile'),
        (env) => {
          const n = (env.payload as { n: number }).n;
          if (n === 2) throw new Error('cannot handle two');
          handled.push(n);
        },
        { name: 'fragile' },
      );
      await rx.flush();
      await pub.flush();
      const envs = [1, 2, 3].map((n) => pingEnv(n));
      for (const e of envs) pub.publish(sub('test.fragile'), e);
      await settle();
      await eventually(() => expect(handled).toEqual([1, 3]));
      await eventually(() => expect(dlq).toHaveLength(1));
      const dead = dlq[0]!;
      expect(dead.subject).toBe('dlq.test.fragile');
      expect(dead.env.type).toBe(DEAD_LETTER_TYPE);
      expect(dead.env.correlationId).toBe(envs[1]!.correlationId);
      expect(dead.env.causationId).toBe(envs[1]!.id);
      const letter = dead.env.payload as DeadLetter;
      expect(letter).toMatchObject({
        subject: 'test.fragile',
        code: 'handler_error',
        handler: 'fragile',
        originalId: envs[1]!.id,
        truncated: false,
      });
      expect(letter.reason).toContain('cannot handle two');
      expect(JSON.parse(Buffer.from(letter.original, 'base64').toString())).toEqual(envs[1]);
    });

    const good = {
      id: 'x1',
      type: 'test.ping',
      v: 1,
      source: 'ext/1',
      correlationId: 'x1',
      time: 1,
      payload: { n: 1 },
    };
    const badInputs: [string, Uint8Array, string][] = [
      ['non-JSON bytes', bytes('{not json'), 'not_json'],
      ['binary garbage', new Uint8Array([0xff, 0x00, 0x13]), 'not_json'],
      ['wrong field types', bytes({ ...good, time: 'yesterday' }), 'invalid_envelope'],
      ['missing correlationId', bytes({ ...good, correlationId: undefined }), 'invalid_envelope'],
      ['wrong payload type', bytes({ ...good, payload: { n: 'one' } }), 'invalid_payload'],
      ['unknown type', bytes({ ...good, type: 'test.unheard-of' }), 'unknown_type'],
      ['unknown version', bytes({ ...good, v: 9 }), 'unknown_version'],
    ];
    for (const [label, data, code] of badInputs) {
      it(`bad input (${label}) goes to the dead-letter subject as ${code} and the subscriber keeps running`, async () => {
        const dlq = deadLetters(pub);
        const got = collect(rx, 'test.in');
        await rx.flush();
        await pub.flush();
        pub.publishRaw(sub('test.in'), data);
        pub.publishRaw(sub('test.in'), bytes(good));
        await settle();
        await eventually(() => expect(got.map((g) => g.env.id)).toEqual(['x1']));
        await eventually(() => expect(dlq).toHaveLength(1));
        const letter = dlq[0]!.env.payload as DeadLetter;
        expect(letter.code).toBe(code);
        expect(letter.subject).toBe('test.in');
        expect(letter.reason.length).toBeGreaterThan(5);
        expect(Buffer.from(letter.original, 'base64')).toEqual(Buffer.from(data));
      });
    }

    it('publishing an oversized envelope fails with a clear PayloadTooLargeError naming the limit', async () => {
      [pub, rx] = await pair(name, { maxPayloadBytes: 8192 });
      const err = (() => {
        try {
          pub.publish(sub('test.big'), pingEnv(1, { text: 'x'.repeat(10_000) }));
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(PayloadTooLargeError);
      expect((err as Error).message).toMatch(/over the limit of 8192 bytes/);
    });

    it('oversized raw bytes are dead-lettered as payload_too_large with a truncated original', async () => {
      [pub, rx] = await pair(name, { maxPayloadBytes: 8192 });
      const dlq = deadLetters(pub);
      const got = collect(rx, 'test.big');
      await rx.flush();
      await pub.flush();
      pub.publishRaw(sub('test.big'), bytes({ ...good, payload: { n: 1, text: 'y'.repeat(9000) } }));
      await settle();
      await eventually(() => expect(dlq).toHaveLength(1));
      expect(got).toHaveLength(0);
      const letter = dlq[0]!.env.payload as DeadLetter;
      expect(letter).toMatchObject({ code: 'payload_too_large', truncated: true });
      expect(letter.originalSize).toBeGreaterThan(9000);
    });

    it('two handlers of one pattern each get every message, in order, and one leaving does not stop the other', async () => {
      const a = collect(rx, 'test.shared.*');
      const b: number[] = [];
      const sb = rx.subscribe(pat('test.shared.*'), (env) => void b.push((env.payload as { n: number }).n));
      await rx.flush();
      for (let i = 0; i < 50; i++) pub.publish(sub('test.shared.x'), pingEnv(i));
      await settle();
      await eventually(() => expect(b).toEqual([...Array(50).keys()]));
      await eventually(() => expect(a.map((g) => (g.env.payload as { n: number }).n)).toEqual([...Array(50).keys()]));
      sb.unsubscribe();
      await rx.flush();
      pub.publish(sub('test.shared.y'), pingEnv(50));
      await settle();
      await eventually(() => expect(a).toHaveLength(51));
      expect(b).toHaveLength(50);
    });

    it('unsubscribe stops delivery', async () => {
      const got: number[] = [];
      const s = rx.subscribe(pat('test.unsub'), (env) => void got.push((env.payload as { n: number }).n));
      await rx.flush();
      pub.publish(sub('test.unsub'), pingEnv(1));
      await settle();
      await eventually(() => expect(got).toEqual([1]));
      s.unsubscribe();
      await rx.flush();
      pub.publish(sub('test.unsub'), pingEnv(2));
      await settle();
      await new Promise((r) => setTimeout(r, 30));
      expect(got).toEqual([1]);
    });

    it('drain finishes handling what was received, then publish fails with BusClosedError', async () => {
      const done: number[] = [];
      rx.subscribe(pat('test.drain'), async (env) => {
        await new Promise((r) => setTimeout(r, 2));
        done.push((env.payload as { n: number }).n);
      });
      await rx.flush();
      for (let i = 0; i < 20; i++) pub.publish(sub('test.drain'), pingEnv(i));
      await settle();
      await eventually(() => expect(done.length).toBeGreaterThan(0));
      await rx.drain();
      expect(done).toEqual([...Array(20).keys()]);
      expect(() => rx.publish(sub('test.drain'), pingEnv(99))).toThrow(BusClosedError);
    });

    it('rejects publishing to a wildcard subject and subscribing to a malformed pattern', () => {
      expect(() => pub.publish(sub('test.*'), pingEnv(1))).toThrow(InvalidSubjectError);
      expect(() => rx.subscribe(pat('test.>.x'), () => undefined)).toThrow(InvalidSubjectError);
    });

    it('dead letters for a subject built by the subjects module land on dlq.<subject>', async () => {
      const target = subjects.orderIntent();
      const dlq = collect(pub, `dlq.${target}`);
      rx.subscribe(target, () => undefined);
      await rx.flush();
      await pub.flush();
      pub.publishRaw(target, bytes('nope'));
      await settle();
      await eventually(() => expect(dlq).toHaveLength(1));
      expect(dlq[0]!.subject).toBe('dlq.order.intent');
    });
  });
}
