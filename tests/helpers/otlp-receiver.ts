import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SeenSpan } from './trace-check.js';

/** A local OTLP/HTTP trace receiver (http/json and http/protobuf). */
export interface OtlpReceiver {
  /** What OTEL_EXPORTER_OTLP_ENDPOINT should say (the exporter adds `/v1/traces`). */
  readonly endpoint: string;
  /** Every span received so far. */
  readonly spans: SeenSpan[];
  /** Requests that were not a decodable trace export (their problem), expected to stay empty. */
  readonly refused: string[];
  /** The encodings of the exports received. */
  readonly encodings: ReadonlySet<'json' | 'protobuf'>;
  close(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpValue[] };
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttribute[];
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

function valueOf(v: OtlpValue): unknown {
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(valueOf);
  return v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue ?? v.boolValue));
}

function attributesOf(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, valueOf(a.value)]));
}

/** OTLP's span kinds (SPAN_KIND_SERVER = 2, PRODUCER = 4, CONSUMER = 5), in both encodings. */
const KINDS: Record<number, SeenSpan['kind']> = { 2: 'server', 4: 'producer', 5: 'consumer' };

/** Decodes one OTLP/JSON ExportTraceServiceRequest (ids in hex, as OTLP/JSON writes them). */
export function decodeOtlpJson(body: OtlpExport): SeenSpan[] {
  const out: SeenSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = String(attributesOf(rs.resource?.attributes)['service.name']);
    for (const ss of rs.scopeSpans ?? [])
      for (const s of ss.spans ?? [])
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId || undefined,
          name: s.name,
          kind: KINDS[s.kind] ?? 'other',
          service,
          attributes: attributesOf(s.attributes),
        });
  }
  return out;
}

/** A protobuf wire-format reader: just what OTLP's trace messages need (varints, length-delimited fields). */
class Wire {
  #at = 0;
  constructor(private readonly buf: Uint8Array) {}
  get done(): boolean {
    return this.#at >= this.buf.length;
  }
  varint(): bigint {
    let out = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const b = this.buf[this.#at++]!;
      out |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return out;
    }
  }
  /** The next field: its number, and its bytes (length-delimited) or value (varint, fixed). */
  field(): { no: number; bytes?: Uint8Array; value?: bigint | number } {
    const tag = Number(this.varint());
    const no = tag >>> 3;
    switch (tag & 7) {
      case 0:
        return { no, value: this.varint() };
      case 1: {
        const v = Buffer.from(this.buf.subarray(this.#at, (this.#at += 8))).readDoubleLE(0);
        return { no, value: v };
      }
      case 2: {
        const len = Number(this.varint());
        return { no, bytes: this.buf.subarray(this.#at, (this.#at += len)) };
      }
      case 5:
        this.#at += 4;
        return { no };
      default:
        throw new Error(`unsupported protobuf wire type ${tag & 7}`);
    }
  }
}

function fields(buf: Uint8Array): { no: number; bytes?: Uint8Array; value?: bigint | number }[] {
  const w = new Wire(buf);
  const out = [];
  while (!w.done) out.push(w.field());
  return out;
}

const text = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('utf8');
const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');

/** AnyValue: 1 string, 2 bool, 3 int, 4 double, 5 array (ArrayValue: 1 repeated AnyValue). */
function anyValue(buf: Uint8Array): unknown {
  for (const f of fields(buf)) {
    if (f.no === 1) return text(f.bytes);
    if (f.no === 2) return f.value === 1n;
    if (f.no === 3) return Number(f.value);
    if (f.no === 4) return f.value;
    if (f.no === 5) return fields(f.bytes!).map((v) => anyValue(v.bytes!));
  }
  return undefined;
}

/** Repeated KeyValue (1 key, 2 AnyValue) as a record. */
function keyValues(list: Uint8Array[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list) {
    const fs = fields(kv);
    out[text(fs.find((f) => f.no === 1)?.bytes)] = anyValue(fs.find((f) => f.no === 2)?.bytes ?? new Uint8Array());
  }
  return out;
}

const all = (fs: { no: number; bytes?: Uint8Array }[], no: number) =>
  fs.filter((f) => f.no === no).map((f) => f.bytes!);

/**
 * Decodes one OTLP protobuf ExportTraceServiceRequest: ResourceSpans (1: Resource, 2: ScopeSpans),
 * ScopeSpans (2: Span), Span (1 trace id, 2 span id, 4 parent span id, 5 name, 6 kind, 9 attributes).
 */
export function decodeOtlpProtobuf(body: Uint8Array): SeenSpan[] {
  const out: SeenSpan[] = [];
  for (const rs of all(fields(body), 1)) {
    const rsFields = fields(rs);
    const resource = rsFields.find((f) => f.no === 1)?.bytes;
    const service = String(keyValues(resource ? all(fields(resource), 1) : [])['service.name']);
    for (const ss of all(rsFields, 2))
      for (const span of all(fields(ss), 2)) {
        const fs = fields(span);
        const one = (no: number) => fs.find((f) => f.no === no);
        out.push({
          traceId: hex(one(1)?.bytes),
          spanId: hex(one(2)?.bytes),
          parentSpanId: hex(one(4)?.bytes) || undefined,
          name: text(one(5)?.bytes),
          kind: KINDS[Number(one(6)?.value ?? 0)] ?? 'other',
          service,
          attributes: keyValues(all(fs, 9)),
        });
      }
  }
  return out;
}

/** Listens on 127.0.0.1 (a free port) for `POST /v1/traces`, in OTLP's JSON or protobuf encoding. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: SeenSpan[] = [];
  const refused: string[] = [];
  const encodings = new Set<'json' | 'protobuf'>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const type = req.headers['content-type'] ?? '';
      const json = type.startsWith('application/json');
      if (req.method !== 'POST' || req.url !== '/v1/traces' || (!json && type !== 'application/x-protobuf')) {
        refused.push(`${req.method} ${req.url} ${type}`);
        res.writeHead(404).end();
        return;
      }
      try {
        spans.push(
          ...(json ? decodeOtlpJson(JSON.parse(body.toString('utf8')) as OtlpExport) : decodeOtlpProtobuf(body)),
        );
        encodings.add(json ? 'json' : 'protobuf');
      } catch (err) {
        refused.push(`undecodable body: ${(err as Error).message}`);
        res.writeHead(400).end();
        return;
      }
      // an empty ExportTraceServiceResponse, in the request's encoding
      if (json) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      else res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    refused,
    encodings,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
