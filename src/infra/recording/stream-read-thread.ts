/**
 * The stream reader's worker thread (see stream-read-worker.ts). Not imported by the server:
 * scripts/build-assets.ts bundles it (CommonJS) into stream-read-thread.generated.ts, whose
 * string runs as an evaluated worker, so it runs the same from the sources and from the bundle.
 *
 * It connects once, then reads streams as it is asked to (`{ go }`, one read at a time), each
 * with an ordered consumer, posting the messages in batches and keeping at most `window`
 * batches unanswered: the NATS client's work (protocol parsing, the consumer's bookkeeping)
 * happens beside the replay, not in its thread. Between reads it waits, connected and with its
 * code compiled; it leaves when its connection drops while it waits.
 */
import { fileURLToPath } from 'node:url';
import { parentPort as port, workerData } from 'node:worker_threads';
import type * as Transport from '@nats-io/transport-node';
import type * as JetStream from '@nats-io/jetstream';

/** One read the caller asks for. */
interface ReadJob {
  readonly id: number;
  readonly stream: string;
  readonly filter?: string;
  /** A stream sequence to start at (1: the beginning). */
  readonly from: number;
  /** A RegExp source: subjects only counted and checked, not handed over. */
  readonly skip?: string;
  readonly batch: number;
  readonly window: number;
}

/** What the caller posts: a read to do, or the credit for one more batch of a read. */
type ToThread =
  { readonly go: ReadJob; readonly more?: undefined } | { readonly more: number; readonly go?: undefined };

interface Kind {
  readonly seq: number;
  readonly type: unknown;
  readonly v: unknown;
}

const parentPort = port!;
const data = workerData as { servers: string | string[]; transport: string; jetstream: string };

// the NATS packages are CommonJS: require loads them in two thirds of import's time (no ESM
// translation), and the sooner this thread is connected, the less the caller reads itself
async function load<T>(url: string): Promise<T> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading the caller's resolved package by path
    return require(fileURLToPath(url)) as T;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_REQUIRE_ESM') return (await import(url)) as T;
    throw err;
  }
}

async function run(): Promise<void> {
  const { connect } = await load<typeof Transport>(data.transport);
  const { jetstream, jetstreamManager, DeliverPolicy } = await load<typeof JetStream>(data.jetstream);
  const queued: ReadJob[] = [];
  let arrived: (() => void) | undefined;
  /** The read in progress: its batches may go out while it has credit; `wake` resumes it. */
  interface Job {
    readonly id: number;
    credit: number;
    wake: (() => void) | undefined;
  }
  let job: Job | undefined;
  parentPort.on('message', (m: ToThread) => {
    if (m.more !== undefined) {
      if (job && job.id === m.more) {
        job.credit++;
        if (job.wake) {
          const w = job.wake;
          job.wake = undefined;
          w();
        }
      }
    } else if (m.go) {
      queued.push(m.go);
      if (arrived) {
        const a = arrived;
        arrived = undefined;
        a();
      }
    }
  });
  const nc = await connect({ servers: data.servers, name: 'sextant-replay-reader' });
  // a connection that drops while no read is going on is not waited for: the thread leaves
  // (a read going on rides out a reconnect as any client does)
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'disconnect' && !job) process.exit(0);
  })();
  void nc.closed().then(() => {
    if (!job) process.exit(0);
  });
  parentPort.postMessage('ready');
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const dec = new TextDecoder();
  for (;;) {
    if (queued.length === 0) await new Promise<void>((r) => (arrived = r));
    const go = queued.shift()!;
    const current: Job = { id: go.id, credit: go.window, wake: undefined };
    job = current;
    try {
      const filter = go.filter;
      const info = await jsm.streams.info(go.stream, filter ? { subjects_filter: filter } : undefined);
      // a filtered read starts at the beginning (the caller hands over a start only without one)
      const anything = filter
        ? Object.values(info.state.subjects || {}).some((n) => n > 0)
        : info.state.messages > 0 && info.state.last_seq >= go.from;
      if (anything) {
        const start =
          go.from > 1
            ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: go.from }
            : { deliver_policy: DeliverPolicy.All };
        const consumer = await js.consumers.get(go.stream, {
          ...start,
          ...(filter ? { filter_subjects: filter } : {}),
        });
        const messages = await consumer.consume({ max_messages: 5000 });
        const skip = go.skip ? new RegExp(go.skip) : undefined;
        const seen = new Set<string>();
        let seqs: number[] = [];
        let subjects: string[] = [];
        let bodies: Uint8Array[] = [];
        let size = 0;
        let skipped = 0;
        let kinds: Kind[] = [];
        let bad: { seq: number; reason: string }[] = [];
        let limit = Math.min(250, go.batch);
        const flush = async () => {
          if (seqs.length === 0 && skipped === 0) return;
          while (current.credit <= 0) await new Promise<void>((r) => (current.wake = r));
          current.credit--;
          const buf = new Uint8Array(size + Math.max(bodies.length - 1, 0) + 2);
          const offsets = new Uint32Array(bodies.length + 1);
          buf[0] = 0x5b;
          let at = 1;
          bodies.forEach((b, i) => {
            if (i > 0) buf[at++] = 0x2c;
            offsets[i] = at;
            buf.set(b, at);
            at += b.length;
          });
          offsets[bodies.length] = at;
          buf[at] = 0x5d;
          parentPort.postMessage(
            { seqs: Float64Array.from(seqs), subjects: subjects.join('\n'), offsets, bodies: buf, skipped, kinds, bad },
            [buf.buffer, offsets.buffer],
          );
          seqs = [];
          subjects = [];
          bodies = [];
          size = 0;
          skipped = 0;
          kinds = [];
          bad = [];
        };
        try {
          for await (const m of messages) {
            const mi = m.info;
            if (skip && skip.test(m.subject)) {
              // not handed over, but still read: a body that is not an envelope, or of a type and
              // version the caller does not know, is reported like any other
              skipped++;
              let env: unknown;
              try {
                env = JSON.parse(dec.decode(m.data));
              } catch {
                bad.push({ seq: mi.streamSequence, reason: 'invalid_json: the body is not JSON' });
              }
              if (env !== undefined) {
                if (typeof env !== 'object' || env === null)
                  bad.push({ seq: mi.streamSequence, reason: 'invalid_envelope: the body is not an object' });
                else {
                  const { type, v } = env as { type?: unknown; v?: unknown };
                  const kind = String(type) + '@' + String(v);
                  if (!seen.has(kind)) {
                    seen.add(kind);
                    kinds.push({ seq: mi.streamSequence, type, v });
                  }
                }
              }
            } else {
              seqs.push(mi.streamSequence);
              subjects.push(m.subject);
              bodies.push(m.data);
              size += m.data.length;
            }
            const last = mi.pending === 0;
            if (seqs.length + skipped >= limit || last) {
              await flush();
              limit = Math.min(limit * 2, go.batch); // small first batches: the reader starts sooner
            }
            if (last) break;
          }
        } finally {
          await messages.close();
        }
      }
      parentPort.postMessage('end');
    } catch (err) {
      parentPort.postMessage({ error: String((err as Error | undefined)?.message || err) });
    }
    job = undefined;
    if (nc.isClosed()) process.exit(0);
  }
}

run().catch((err: unknown) => {
  parentPort.postMessage({ error: String((err as Error | undefined)?.message || err) });
  process.exit(1);
});
