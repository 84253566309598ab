import { Worker } from 'node:worker_threads';

/** Raw messages of a stream as a worker hands them over: one buffer of bodies per batch. */
export interface RawBatch {
  readonly seqs: Float64Array;
  /** The subjects, joined by newlines (one string clones faster than a thousand). */
  readonly subjects: string;
  /** The bodies as one JSON array `[b0,b1,...]`: one parse for the batch instead of one per message. */
  readonly bodies: Uint8Array;
  /** Where each body starts in `bodies`; the last entry is where the last one ends. */
  readonly offsets: Uint32Array;
}

/**
 * The worker's code (plain JavaScript, evaluated; no file of its own, so it runs the same from
 * the sources and from the bundle). It reads a stream with an ordered consumer and posts its
 * messages in batches, keeping at most `window` batches unanswered: the NATS client's work
 * (protocol parsing, the consumer's bookkeeping) happens beside the replay, not in its thread.
 */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { connect } = await import(workerData.transport);
  const { jetstream, jetstreamManager, DeliverPolicy } = await import(workerData.jetstream);
  const nc = await connect({ servers: workerData.servers, name: 'sextant-replay-reader' });
  let credit = workerData.window;
  let wake;
  parentPort.on('message', (m) => { if (m === 'more') { credit++; if (wake) { const w = wake; wake = undefined; w(); } } });
  try {
    const jsm = await jetstreamManager(nc);
    const filter = workerData.filter;
    const info = await jsm.streams.info(workerData.stream, filter ? { subjects_filter: filter } : undefined);
    const stored = filter ? Object.values(info.state.subjects || {}).reduce((a, b) => a + b, 0) : info.state.messages;
    if (stored > 0) {
      const consumer = await jetstream(nc).consumers.get(workerData.stream, { deliver_policy: DeliverPolicy.All, ...(filter ? { filter_subjects: filter } : {}) });
      const messages = await consumer.consume({ max_messages: 5000 });
      let seqs = [], subjects = [], bodies = [], size = 0;
      const flush = async () => {
        if (seqs.length === 0) return;
        while (credit <= 0) await new Promise((r) => (wake = r));
        credit--;
        const buf = new Uint8Array(size + bodies.length + 1);
        const offsets = new Uint32Array(bodies.length + 1);
        let at = 0;
        bodies.forEach((b, i) => { buf[at++] = i === 0 ? 0x5b : 0x2c; offsets[i] = at; buf.set(b, at); at += b.length; });
        offsets[bodies.length] = at;
        buf[at] = 0x5d;
        parentPort.postMessage({ seqs: Float64Array.from(seqs), subjects: subjects.join('\\n'), offsets, bodies: buf }, [buf.buffer, offsets.buffer]);
        seqs = []; subjects = []; bodies = []; size = 0;
      };
      for await (const m of messages) {
        seqs.push(m.seq); subjects.push(m.subject); bodies.push(m.data); size += m.data.length;
        const last = m.info.pending === 0;
        if (seqs.length >= workerData.batch || last) await flush();
        if (last) break;
      }
      await messages.close();
    }
    parentPort.postMessage('end');
  } catch (err) {
    parentPort.postMessage({ error: String(err && err.message || err) });
  } finally {
    await nc.close();
  }
})();
`;

/**
 * Reads every message of a stream in a worker thread, in stream order, as raw batches (nothing
 * decoded: the caller decodes and validates). Stops the worker when the caller stops reading.
 */
export async function* readStreamInWorker(options: { servers: string | string[]; stream: string; filter?: string; batch?: number; window?: number }): AsyncGenerator<RawBatch> {
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      servers: options.servers,
      stream: options.stream,
      filter: options.filter,
      batch: options.batch ?? 2000,
      window: options.window ?? 32,
      transport: import.meta.resolve('@nats-io/transport-node'),
      jetstream: import.meta.resolve('@nats-io/jetstream'),
    },
  });
  const queue: (RawBatch | 'end' | { error: string })[] = [];
  let wake: (() => void) | undefined;
  const push = (m: RawBatch | 'end' | { error: string }) => {
    queue.push(m);
    wake?.();
    wake = undefined;
  };
  worker.on('message', push);
  worker.on('error', (err) => push({ error: err.message }));
  worker.on('exit', (code) => push(code === 0 ? 'end' : { error: `the stream reader exited with ${code}` }));
  try {
    for (;;) {
      if (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      const m = queue.shift()!;
      if (m === 'end') return;
      if ('error' in m) throw new Error(`reading stream ${options.stream}: ${m.error}`);
      worker.postMessage('more');
      yield m;
    }
  } finally {
    await worker.terminate();
  }
}
