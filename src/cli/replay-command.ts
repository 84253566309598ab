import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { progressLine } from './progress.js';
import { connect } from '@nats-io/transport-node';
import { natsSignIn } from '../../bus/index.js';
import {
  readRecordingBatches,
  RecordingFormatError,
  type RecordingBatch,
  readStreamRecordingBatches,
} from '../infra/recording/index.js';
import { ConfigError, loadConfig } from '../../config/index.js';
import { parseTime } from './record-command.js';
import { createRegistry } from '../core/index.js';
import {
  checkInputPayloads,
  decisionLog,
  replay,
  UNUSED_SUBJECTS,
  type Decision,
  type Divergence,
  type ReplayResult,
} from '../app/replay/index.js';

const HELP = `Usage: sextant replay <recording.ndjson[.gz] | stream:<name>> [options]

Feeds a recording's inputs (market data, news and its recorded scores, people's commands)
through fresh agents on a bus of their own (never a live broker, never a scorer: recorded
news scores are reused), on a virtual clock, and reports the decisions.

  --speed <max|N>        max (default): as fast as the agents go; N: N times the recorded pace
  --from <time> --to <time>   only inputs in this event-time range (ISO date or epoch ms)
  --subjects <p,p>       only inputs on these subject patterns (e.g. market.bar.ORCL)
  --verify               compare the decisions with the recorded ones; exit 1 on any divergence
  --decisions <file>     write the decision log (one canonical line per decision)
  --lenient              skip (and count) bad lines (or stream messages) instead of stopping at the first
  --json                 print one JSON report`;

/** `sextant replay`: resolves to the exit code (1 when --verify finds a divergence). */
export async function replayCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      speed: { type: 'string', default: 'max' },
      from: { type: 'string' },
      to: { type: 'string' },
      subjects: { type: 'string' },
      verify: { type: 'boolean', default: false },
      decisions: { type: 'string' },
      lenient: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || positionals.length !== 1) {
    console.log(HELP);
    return values.help ? 0 : 2;
  }
  const file = positionals[0]!;
  const speed = values.speed === 'max' ? 'max' : Number(values.speed);
  if (speed !== 'max' && !(speed > 0)) {
    console.error(`sextant replay: --speed must be max or a positive number, got "${values.speed}"`);
    return 2;
  }
  const skipped: RecordingFormatError[] = [];
  const from = parseTime('from', values.from);
  const to = parseTime('to', values.to);
  const stream = file.startsWith('stream:')
    ? await openStream(file.slice('stream:'.length), values.lenient, skipped)
    : undefined;
  try {
    return await run(
      values,
      stream?.source ??
        readRecordingBatches(file, {
          registry: createRegistry(),
          lenient: values.lenient,
          onSkip: (e) => skipped.push(e),
          checkPayload: checkInputPayloads,
        }),
      speed,
      from,
      to,
      skipped,
    );
  } finally {
    await stream?.close();
  }
}

/**
 * A JetStream recording on the configured NATS (NATS_URL, SEXTANT_NAMESPACE). A stored message
 * that is not a valid envelope of a known type stops the replay with the stream and its
 * sequence (`stream:<name>:<seq>: ...`), or is skipped and counted with --lenient.
 */
async function openStream(name: string, lenient: boolean, skipped: RecordingFormatError[]) {
  const config = loadConfig();
  if (!config.natsUrl) throw new ConfigError([`NATS_URL: required to replay stream:${name}`]);
  const servers = config.natsUrl.split(',').map((s) => s.trim());
  const nc = await connect({ servers, name: 'sextant-replay', ...natsSignIn(config.natsAuth) });
  const onBad = (seq: number, reason: string) => {
    const err = new RecordingFormatError(`stream:${name}`, seq, reason);
    if (!lenient) throw err;
    skipped.push(err);
  };
  const source = readStreamRecordingBatches({
    nc,
    servers,
    stream: name,
    registry: createRegistry(),
    checkPayload: checkInputPayloads,
    skip: UNUSED_SUBJECTS,
    onBad,
    ...(config.bus.namespace ? { prefix: config.bus.namespace } : {}),
  });
  return { source, close: () => nc.close() };
}

type Values = { subjects?: string | undefined; verify: boolean; decisions?: string | undefined; json: boolean };

async function run(
  values: Values,
  source: AsyncIterable<RecordingBatch>,
  speed: 'max' | number,
  from: number | undefined,
  to: number | undefined,
  skipped: RecordingFormatError[],
): Promise<number> {
  const progress = values.json ? undefined : progressLine('replayed', 'messages');
  let read = 0;
  async function* counted(): AsyncGenerator<RecordingBatch> {
    for await (const batch of source) {
      read += batch.length;
      progress?.update(read);
      yield batch;
    }
  }
  const result = await replay({
    source: progress ? counted() : source,
    speed,
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    ...(values.subjects ? { subjects: values.subjects.split(',').map((x) => x.trim()) } : {}),
  });
  progress?.done();
  if (values.decisions) await writeFile(values.decisions, decisionLog(result.decisions));
  const diverged = values.verify && result.divergences.length > 0;
  if (values.json) {
    console.log(
      JSON.stringify({
        ...summary(result, values.verify),
        skippedLines: skipped.map((e) => e.message),
        divergences: values.verify ? result.divergences : undefined,
      }),
    );
  } else {
    console.log(render(result, values.verify, skipped));
  }
  return diverged ? 1 : 0;
}

function summary(r: ReplayResult, verify: boolean) {
  return {
    recording: { runId: r.header.runId, source: r.header.source, createdAt: r.header.createdAt },
    inputs: r.inputs,
    decisions: r.decisions.length,
    elapsedMs: r.elapsedMs,
    inputsPerSecond: r.inputsPerSecond,
    ...(verify
      ? {
          recordedDecisions: r.recordedDecisions,
          divergent: r.divergences.length,
          identical: r.divergences.length === 0,
        }
      : {}),
  };
}

const show = (d: Decision | undefined) =>
  d ? `${d.type} ${d.id} at ${new Date(d.time).toISOString()}\n      ${JSON.stringify(d.payload)}` : '(none)';

function render(r: ReplayResult, verify: boolean, skipped: readonly RecordingFormatError[]): string {
  const lines = [
    `Replayed ${r.inputs.toLocaleString('en-US')} inputs of run ${r.header.runId} in ${r.elapsedMs} ms (${r.inputsPerSecond.toLocaleString('en-US')}/s): ${r.decisions.length.toLocaleString('en-US')} decisions`,
  ];
  if (skipped.length > 0) lines.push(`  skipped ${skipped.length} bad line(s), first: ${skipped[0]!.message}`);
  if (!verify) return lines.join('\n');
  if (r.divergences.length === 0) {
    lines.push(
      `  identical to the recording: ${r.recordedDecisions.toLocaleString('en-US')} decisions, each at its place in its chain`,
    );
    return lines.join('\n');
  }
  const kinds = (k: Divergence['kind']) => r.divergences.filter((d) => d.kind === k).length;
  lines.push(
    `  ${r.divergences.length} divergence(s): ${kinds('different')} different, ${kinds('missing')} missing (recorded, not made now), ${kinds('extra')} extra (made now, not recorded)`,
  );
  const first = r.divergences[0]!;
  lines.push(
    '',
    `First divergence (${first.kind}) at ${first.key}:`,
    `  input:    ${first.input ? `${first.input.type} ${first.input.id} ${JSON.stringify(first.input.payload)}` : '(not replayed)'}`,
    `  recorded: ${show(first.recorded)}`,
    `  now:      ${show(first.replayed)}`,
  );
  lines.push('', 'All divergences:');
  for (const d of r.divergences.slice(0, 50)) lines.push(`  ${d.kind.padEnd(9)} ${d.key}`);
  if (r.divergences.length > 50) lines.push(`  ... and ${r.divergences.length - 50} more (--json lists them all)`);
  return lines.join('\n');
}
