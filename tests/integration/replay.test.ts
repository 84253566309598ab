import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { readRecordingBatches, RecordingFormatError } from '../../src/infra/recording/recording.js';
import { runBacktest } from '../../src/app/backtest/run-backtest.js';
import { main } from '../../src/cli/main.js';
import { createRegistry } from '../../src/core/domain/messages.js';
import { decisionLog, DECISION_TYPES, replay } from '../../src/app/replay/replay.js';
import { randomWalkCsv } from '../helpers/csv.js';
import { FIXTURE } from '../fixtures/recordings/make-fixture.js';

const registry = createRegistry();
const fromFile = (file: string, lenient = false, onSkip?: (e: RecordingFormatError) => void) =>
  readRecordingBatches(file, { registry, lenient, ...(onSkip ? { onSkip } : {}) });

describe('replay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-replay-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the fixture recording replays to exactly its recorded decisions, fills included (a change to strategy, risk or execution logic shows up here)', async () => {
    const r = await replay({ source: fromFile(FIXTURE), speed: 'max' });
    expect(r.inputs).toBe(600);
    expect(r.recordedDecisions).toBe(159);
    expect(r.divergences).toEqual([]);
    const fills = r.decisions.filter((d) => d.type === 'order.filled');
    expect(fills).toHaveLength(30);
    expect(
      r.decisions.filter((d) => d.type === 'order.rejected').map((d) => (d.payload as { code: string }).code),
    ).toEqual(['order_rate_symbol', 'order_rate_symbol', 'order_rate_symbol']);
  });

  it('two replays of the same recording write byte-identical decision logs', async () => {
    const a = decisionLog((await replay({ source: fromFile(FIXTURE), speed: 'max' })).decisions);
    const b = decisionLog((await replay({ source: fromFile(FIXTURE), speed: 'max' })).decisions);
    expect(a.length).toBeGreaterThan(1000);
    expect(b).toBe(a);
  });

  it('a changed strategy shows where it diverges: the first divergence with its input, the recorded and the new decision', async () => {
    const r = await replay({
      source: fromFile(FIXTURE),
      speed: 'max',
      settings: { strategy: { kind: 'sma-cross', id: 'sma-cross', fast: 7, slow: 20, size: 100 } },
    });
    expect(r.divergences.length).toBeGreaterThan(0);
    const first = r.divergences[0]!;
    expect(first.input?.type).toBe('market.bar');
    expect(first.key.startsWith(`${first.input!.id}|`)).toBe(true);
    expect(first.recorded ?? first.replayed).toBeDefined();
  });

  it('a recording made by a backtest (the in-memory tap) replays identically, and its decisions carry the recorded ids', async () => {
    const file = join(dir, 'walk.ndjson');
    await runBacktest({
      data: randomWalkCsv(300, 99),
      symbol: 'W',
      strategy: { kind: 'sma-cross', id: 'sma-cross', fast: 3, slow: 9, size: 10 },
      cash: 10_000,
      transport: 'memory',
      recording: file,
    });
    const r = await replay({ source: fromFile(file), speed: 'max' });
    expect(r.divergences).toEqual([]);
    const recordedIds = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => (JSON.parse(l) as { env: { id: string } }).env.id);
    expect(r.decisions.every((d) => recordedIds.includes(d.id))).toBe(true);
  });

  it('a backtest recorded with its indicator lines plotted (--report) decides as without and replays identically', async () => {
    const data = randomWalkCsv(300, 99);
    const run = async (file: string, plot: boolean) => {
      await runBacktest({
        data,
        symbol: 'W',
        strategy: { kind: 'sma-cross', id: 'sma-cross', fast: 3, slow: 9, size: 10 },
        cash: 10_000,
        transport: 'memory',
        recording: file,
        plot,
      });
      const lines = readFileSync(file, 'utf8').trim().split('\n').slice(1);
      return lines.map(
        (l) => (JSON.parse(l) as { env: { type: string; payload: { side?: string; qty?: number } } }).env,
      );
    };
    const plotted = await run(join(dir, 'plotted.ndjson'), true);
    const plain = await run(join(dir, 'plain.ndjson'), false);
    expect(plotted.filter((e) => e.type === 'strategy.plotted').length).toBeGreaterThan(250);
    // each run has its own run id (and so its own ids): the decisions, in order, with their sides and sizes
    const decisions = (envs: typeof plain) =>
      envs.filter((e) => DECISION_TYPES.has(e.type)).map((e) => `${e.type} ${e.payload.side} ${e.payload.qty}`);
    expect(decisions(plotted)).toEqual(decisions(plain));
    const r = await replay({ source: fromFile(join(dir, 'plotted.ndjson')), speed: 'max' });
    expect(r.divergences).toEqual([]);
    const p = await replay({ source: fromFile(join(dir, 'plain.ndjson')), speed: 'max' });
    expect(r.decisions.length).toBe(p.decisions.length);
  });

  it('recorded decisions are compared wherever they sit after their input (a distributed run records them late); those of chains not fed (--from) are not', async () => {
    const [head, ...rest] = gunzipSync(readFileSync(FIXTURE)).toString('utf8').trim().split('\n');
    type Line = {
      seq: number;
      subject: string;
      env: { id: string; type: string; time: number; correlationId: string };
    };
    const parsed = rest.map((l) => JSON.parse(l) as Line);
    const decided = (l: Line) => DECISION_TYPES.has(l.env.type);
    // every decision moved behind every input: hundreds of messages after the bar that started its chain
    const late = join(dir, 'late.ndjson');
    const moved = [...parsed.filter((l) => !decided(l)), ...parsed.filter(decided)].map((l, i) =>
      JSON.stringify({ ...l, seq: i + 1 }),
    );
    writeFileSync(late, [head, ...moved].join('\n') + '\n');
    const r = await replay({ source: fromFile(late), speed: 'max' });
    expect(r.recordedDecisions).toBe(159);
    expect(r.divergences).toEqual([]);

    // from the 301st bar on: only the decisions of chains that a fed bar started are compared
    const bars = parsed.filter((l) => l.env.type === 'market.bar');
    const from = bars[300]!.env.time;
    const fed = new Set(bars.filter((b) => b.env.time >= from).map((b) => b.env.id));
    const expected = parsed.filter((l) => decided(l) && fed.has(l.env.correlationId)).length;
    const part = await replay({ source: fromFile(FIXTURE), speed: 'max', from });
    expect(part.inputs).toBe(fed.size);
    expect(expected).toBeGreaterThan(0);
    expect(expected).toBeLessThan(159);
    expect(part.recordedDecisions).toBe(expected);
  });

  describe('bad recordings', () => {
    const lines = gunzipSync(readFileSync(FIXTURE)).toString('utf8').trim().split('\n');
    const write = (name: string, content: string[]) => {
      const f = join(dir, name);
      writeFileSync(f, content.join('\n') + '\n');
      return f;
    };

    it('a truncated line stops the replay with file and line', async () => {
      const f = write('truncated.ndjson', [...lines.slice(0, 50), lines[50]!.slice(0, 40), ...lines.slice(51)]);
      await expect(replay({ source: fromFile(f), speed: 'max' })).rejects.toThrow(
        new RegExp(`truncated\\.ndjson:51: not valid JSON`),
      );
    });

    it('with lenient reading a corrupt line is skipped and counted', async () => {
      const f = write('corrupt.ndjson', [...lines.slice(0, 50), 'garbage', ...lines.slice(50)]);
      const skipped: RecordingFormatError[] = [];
      const r = await replay({ source: fromFile(f, true, (e) => skipped.push(e)), speed: 'max' });
      expect(skipped.map((e) => e.line)).toEqual([51]);
      expect(r.divergences).toEqual([]);
    });

    it('a message of an unknown type or version is reported, not guessed', async () => {
      const at = lines.findIndex((l) => l.includes('"type":"market.bar"'));
      const bar = JSON.parse(lines[at]!) as { env: { v: number; type: string } };
      const future = JSON.stringify({ ...bar, env: { ...bar.env, v: 9 } });
      const f = write('future.ndjson', [...lines.slice(0, at), future, ...lines.slice(at + 1)]);
      const err = await replay({ source: fromFile(f), speed: 'max' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RecordingFormatError);
      expect((err as Error).message).toMatch(
        new RegExp(`future\\.ndjson:${at + 1}: message .* \\(market\\.bar\\): unknown version 9 of market\\.bar`),
      );
    });

    it('a gzip recording cut off by a crash is reported, and --lenient replays what is there', async () => {
      const gz = readFileSync(FIXTURE);
      const f = join(dir, 'cut.ndjson.gz');
      writeFileSync(f, gz.subarray(0, Math.floor(gz.length * 0.6)));
      await expect(replay({ source: fromFile(f), speed: 'max' })).rejects.toThrow(
        /cut\.ndjson\.gz:\d+: the gzip stream ends early/,
      );
      const skipped: RecordingFormatError[] = [];
      const r = await replay({ source: fromFile(f, true, (e) => skipped.push(e)), speed: 'max' });
      expect(skipped).toHaveLength(1);
      expect(r.inputs).toBeGreaterThan(100);
      expect(r.inputs).toBeLessThan(600);
    });

    it('a file that is not a recording is refused at its first line', async () => {
      const f = write('not.ndjson', ['{"hello":"world"}']);
      await expect(replay({ source: fromFile(f), speed: 'max' })).rejects.toThrow(
        /not\.ndjson:1: not a Sextant recording header/,
      );
    });

    it('a recording that is not there is reported by name, plain or gzip, and the process goes on', async () => {
      for (const name of ['missing.ndjson', 'missing.ndjson.gz']) {
        await expect(
          replay({ source: fromFile(join(tmpdir(), `sextant-${process.pid}-${name}`)), speed: 'max' }),
        ).rejects.toThrow(new RegExp(`cannot read the recording .*${name.replace(/\./g, '\\.')}: no such file$`));
      }
    });
  });
});

describe('sextant replay (command)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-replay-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const capture = async (args: string[]) => {
    const out: string[] = [];
    const log = console.log;
    console.log = (m: string) => void out.push(m);
    try {
      return { code: await main(args), out: out.join('\n') };
    } finally {
      console.log = log;
    }
  };

  it('a mistake is one line on stderr; --debug adds the stack', async () => {
    const errors: string[] = [];
    const error = console.error;
    console.error = (m: string) => void errors.push(m);
    try {
      const missing = join(dir, 'missing.ndjson.gz');
      expect(await main(['replay', missing])).toBe(1);
      expect(errors).toEqual([`sextant replay: cannot read the recording ${missing}: no such file`]);
      errors.length = 0;
      expect(await main(['replay', missing, '--debug'])).toBe(1);
      expect(errors).toHaveLength(2);
      expect(errors[1]).toMatch(/^Error: cannot read the recording .*\n\s+at /);
    } finally {
      console.error = error;
    }
  });

  it('--verify --json on the fixture reports identical decisions and exits 0', async () => {
    const { code, out } = await capture(['replay', FIXTURE, '--verify', '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({
      inputs: 600,
      decisions: 159,
      recordedDecisions: 159,
      divergent: 0,
      identical: true,
    });
  });

  it('a recording whose decisions were not what the agents decide exits 1 and names the first divergence', async () => {
    const lines = gunzipSync(readFileSync(FIXTURE)).toString('utf8').trim().split('\n');
    const at = lines.findIndex((l) => l.includes('"type":"order.filled"'));
    const fill = JSON.parse(lines[at]!) as { env: { payload: { price: number } } };
    fill.env.payload.price += 1; // the recording says it filled a unit higher than the paper broker fills
    const f = join(dir, 'tampered.ndjson');
    writeFileSync(f, [...lines.slice(0, at), JSON.stringify(fill), ...lines.slice(at + 1)].join('\n') + '\n');
    const { code, out } = await capture(['replay', f, '--verify']);
    expect(code).toBe(1);
    expect(out).toMatch(/1 divergence\(s\): 1 different, 0 missing/);
    expect(out).toMatch(/First divergence \(different\) at .*\|order\.filled\|0/);
  });
});
