import { parseArgs } from 'node:util';
import { progressLine } from './progress.js';
import { connect } from '@nats-io/transport-node';
import { natsSignIn } from '../../bus/index.js';
import { openSink, readStreamRecording } from '../infra/recording/index.js';
import { loadConfig, ConfigError } from '../../config/index.js';
import { redactUrlCredentials, createRegistry } from '../core/index.js';

const HELP = `Usage: sextant record export --stream <name> --out <file.ndjson[.gz]> [options]

Writes a JetStream recording (RECORDING_JETSTREAM=true captures every Sextant subject in the
SEXTANT stream) as NDJSON: a header (the runs and their settings), then one message per line in
stream order with its stream sequence. Uses NATS_URL and SEXTANT_NAMESPACE.

  --subjects <p,p>       only these subject patterns (e.g. market.bar.*,order.>)
  --from <time> --to <time>   event-time range (ISO date or epoch ms)
  --correlation <id>     only the messages of one chain`;

export const parseTime = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = /^-?\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be an ISO date or epoch milliseconds, got "${v}"`);
  return n;
};

/** `sextant record export`: resolves to the exit code. */
export async function recordCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'export') {
    console.log(HELP);
    return sub === undefined || sub === '--help' ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      stream: { type: 'string' },
      out: { type: 'string' },
      subjects: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      correlation: { type: 'string' },
    },
  });
  if (!values.stream || !values.out) {
    console.error(`sextant record export: --stream and --out are required\n\n${HELP}`);
    return 2;
  }
  const config = loadConfig();
  if (!config.natsUrl)
    throw new ConfigError(['NATS_URL: required by "sextant record export" (the recording is a JetStream stream)']);
  const nc = await connect({
    servers: config.natsUrl.split(',').map((s) => s.trim()),
    name: 'sextant-record-export',
    ...natsSignIn(config.natsAuth),
  }).catch((err: unknown) => {
    throw new Error(`cannot connect to NATS at ${redactUrlCredentials(config.natsUrl!)}: ${(err as Error).message}`);
  });
  const sink = await openSink(values.out);
  let lines = 0;
  let bad = 0;
  const progress = progressLine('exported', 'messages');
  try {
    const from = parseTime('from', values.from);
    const to = parseTime('to', values.to);
    const batch: string[] = [];
    for await (const item of readStreamRecording({
      nc,
      stream: values.stream,
      registry: createRegistry(),
      ...(config.bus.namespace ? { prefix: config.bus.namespace } : {}),
      ...(values.subjects ? { subjects: values.subjects.split(',').map((x) => x.trim()) } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(values.correlation ? { correlationId: values.correlation } : {}),
      onBad: (seq, reason) => {
        bad++;
        console.error(`stream sequence ${seq}: not exported: ${reason}`);
      },
    })) {
      batch.push(JSON.stringify(item));
      if ('seq' in item) {
        lines++;
        progress?.update(lines);
      }
      if (batch.length >= 5000) await sink.write(batch.splice(0));
    }
    await sink.write(batch);
  } finally {
    progress?.done();
    await sink.close();
    await nc.close();
  }
  console.log(
    `exported ${lines} message(s) from ${values.stream} to ${values.out}${bad > 0 ? ` (${bad} that do not decode were left out, listed above)` : ''}`,
  );
  return bad > 0 ? 1 : 0;
}
