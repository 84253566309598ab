import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Envelope } from '../../src/core/messaging/envelope.js';
import type { OriginBook, PortfolioSnapshot } from '../../src/core/domain/messages.js';
import { patterns } from '../../src/core/messaging/subjects.js';
import { loadConfig } from '../../config/load.js';
import { offlineAnswer } from '../../interfaces/chat/offline-answer.js';
import { runRepl } from '../../interfaces/chat/repl.js';
import type { Caller } from '../../interfaces/commands/registry.js';
import { createCommandRouter } from '../../interfaces/commands/router.js';
import { busServices } from '../../interfaces/commands/services.js';
import { startSystem, type RunningSystem } from '../../src/cli/start-system.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { systemClock } from '../../src/core/ports/clock.js';
import { ulidSource } from '../../src/core/ports/ids.js';
import { randomWalkCsv } from '../helpers/csv.js';
import { eventually } from '../helpers/eventually.js';

const viewer: Caller = { id: 'test:viewer', role: 'viewer' };
const operator: Caller = { id: 'test:operator', role: 'operator' };
const admin: Caller = { id: 'test:admin', role: 'admin' };

const mongoUri = inject('mongoUri');

/**
 * The one command router, over a running single-process system (agents, store, in-memory bus),
 * on each store: the embedded files and MongoDB (STORE=mongodb; FerretDB here).
 */
for (const store of ['embedded', 'mongodb'] as const)
  describe(`command router [${store}]`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-commands-'));
    const mongoDb = `sextant_commands_${process.pid}_${Date.now().toString(36)}`;
    const storeEnv =
      store === 'mongodb' ? { STORE: 'mongodb', MONGODB_URI: mongoUri, MONGODB_DB: mongoDb } : { STORE: 'embedded' };
    let system: RunningSystem;
    const walkFile = randomWalkCsv(400, 12);
    const seen: Envelope[] = [];
    const intents = () =>
      seen.filter(
        (e) => e.type === 'order.intent' && (e.payload as { origin: { kind: string } }).origin.kind === 'person',
      );

    beforeAll(async () => {
      const config = loadConfig({
        env: {
          DATA_FEED: 'csv',
          DATA_FILE: walkFile,
          DATA_SYMBOLS: 'WALK',
          DATA_PACE_MS: '0',
          SEXTANT_DATA_DIR: join(dir, 'data'),
          STRATEGY_FAST: '5',
          STRATEGY_SLOW: '20',
          ...storeEnv,
        },
      });
      system = await startSystem(config, silentLogger, config.runtime.agents);
      system.bus.subscribe(patterns.orders, (env) => void seen.push(env), { name: 'test' });
      await system.feedDone();
      await system.recorder!.flush();
    });
    afterAll(async () => {
      await system?.stop();
      rmSync(dir, { recursive: true, force: true });
      if (store === 'mongodb') {
        const client = await MongoClient.connect(mongoUri);
        await client.db(mongoDb).dropDatabase();
        await client.close();
      }
    });

    it('keeps the event log, orders and fills in the store it was given', async () => {
      expect(system.store?.kind).toBe(store);
      const events = await system.store!.events.count();
      expect(events).toBeGreaterThan(400); // every bar and every decision
      if (store === 'mongodb') {
        const client = await MongoClient.connect(mongoUri);
        try {
          const db = client.db(mongoDb);
          expect(await db.collection('events').countDocuments({})).toBe(events);
          expect(await db.collection('fills').countDocuments({})).toBeGreaterThan(0);
          expect(await db.collection('orders').countDocuments({})).toBeGreaterThan(0);
        } finally {
          await client.close();
        }
      }
    });

    it('help lists what each role may do', async () => {
      const v = await system.commands.handle('help', viewer);
      expect(v.text).toContain('portfolio');
      expect(v.text).not.toContain('buy SYM QTY');
      expect((await system.commands.handle('/help', admin)).text).toContain('limits set KEY VALUE');
    });

    it('unknown commands, wrong arguments, empty and huge messages get a clear reply and reach nothing', async () => {
      const before = intents().length;
      expect(await system.commands.handle('frobnicate now', operator)).toMatchObject({
        ok: false,
        code: 'unknown_command',
      });
      expect(await system.commands.handle('buy WALK lots', operator)).toMatchObject({
        ok: false,
        code: 'bad_arguments',
        text: expect.stringMatching(/qty: .*Usage: buy SYM QTY/) as unknown,
      });
      expect(await system.commands.handle('buy WALK -5', operator)).toMatchObject({ ok: false, code: 'bad_arguments' });
      // said for a person: no schema words ("Invalid input", "Unrecognized key")
      const extra = await system.commands.handle('sell WALK half extra words', operator);
      expect(extra).toMatchObject({ ok: false, code: 'bad_arguments' });
      expect(extra.text).not.toMatch(/Invalid input|Unrecognized key/);
      expect(extra.text).toMatch(/Usage: sell SYM QTY/);
      expect((await system.commands.handle('close WALK 150%', operator)).text).toMatch(
        /^part: at most the whole position \(100%\)\. Usage: close SYM\|all \[PART\]/,
      );
      expect(await system.commands.handle('buy WALK 10 limit', operator)).toMatchObject({
        ok: false,
        code: 'bad_arguments',
      }); // a forgotten price is not a market order
      expect(await system.commands.invoke('buy', { symbol: 'WALK', qty: true }, operator)).toMatchObject({
        ok: false,
        code: 'bad_arguments',
      });
      expect(await system.commands.invoke('limits', { key: 'maxDailyLoss', value: null }, admin)).toMatchObject({
        ok: false,
        code: 'bad_arguments',
      });
      expect(await system.commands.handle('   ', operator)).toMatchObject({ ok: false, code: 'empty' });
      expect(await system.commands.handle(`status ${'x'.repeat(5000)}`, operator)).toMatchObject({
        ok: false,
        code: 'too_long',
      });
      expect(await system.commands.handle('buy WALK 10', viewer)).toMatchObject({
        ok: false,
        code: 'forbidden',
        text: 'buy needs the operator role; you have viewer.',
      });
      expect(intents().length).toBe(before);
    });

    it('reads: status, portfolio, positions, pnl, orders, risk, signals', async () => {
      expect((await system.commands.handle('status', viewer)).text).toMatch(/Trading is ACTIVE/);
      expect((await system.commands.handle('balance', viewer)).text).toMatch(/^Equity /);
      expect((await system.commands.handle('pnl today', viewer)).ok).toBe(true);
      expect((await system.commands.handle('pnl all', viewer)).text).toMatch(/Since the start/);
      expect((await system.commands.handle('orders all', viewer)).ok).toBe(true);
      expect((await system.commands.handle('risk', viewer)).text).toMatch(/approved/);
      expect((await system.commands.handle('signals WALK', viewer)).text).toMatch(/WALK: (buy|sell)/);
    });

    it("price, win rate and yesterday's PnL: the latest bar, round trips from the stored fills, the day before", async () => {
      const price = await system.commands.handle('price WALK', viewer);
      const last = price.data as { symbol: string; close: number; time: number };
      expect(price.text).toMatch(/^WALK [\d,.]+ \(bar of \d{4}-\d\d-\d\d \d\d:\d\d UTC: open /);
      // the file's last row: its date and close
      const [date, , , , close] = readFileSync(walkFile, 'utf8').trim().split('\n').at(-1)!.split(',');
      expect(last.time).toBe(Date.parse(`${date}T00:00:00Z`));
      expect(last.close).toBe(Number(close));
      const account = (await system.commands.handle('portfolio', viewer)).data as PortfolioSnapshot;
      expect(await system.commands.handle('price NOPE', viewer)).toMatchObject({ ok: false, code: 'unknown_symbol' });
      // the SMA cross goes all in and all out: every sell closes one round trip
      const fills = await system.store!.fills.list({ limit: 10_000 });
      const rate = await system.commands.handle('winrate', viewer);
      const data = rate.data as { trips: number; wins: number };
      expect(data.trips).toBe(fills.filter((f) => f.side === 'sell').length);
      expect(rate.text).toMatch(
        new RegExp(`^Win rate: [\\d.]+% \\(${data.wins} of ${data.trips} closed round trips won`),
      );
      const yesterday = await system.commands.handle('pnl yesterday', viewer);
      expect(yesterday.text).toMatch(/^Yesterday \(UTC, market time\): /);
      expect((yesterday.data as { pnl: number }).pnl).toBe(account.pnl!.yesterday);
      expect((await system.commands.handle('pnl last week', viewer)).text).toMatch(/^Last week/);
    });

    it('strategies: each book by who traded, with its PnL; the books add up to the account, and pnl splits by them', async () => {
      const reply = await system.commands.handle('strategies', viewer);
      const books = reply.data as OriginBook[];
      expect(books.map((b) => b.origin)).toContainEqual({ kind: 'strategy', id: 'sma-cross' });
      expect(reply.text).toMatch(
        /^PnL since the start, by who traded:\n {2}sma-cross: [+-]?[\d,.]+ \((flat|WALK -?\d+)\)/,
      );
      const account = (await system.commands.handle('portfolio', viewer)).data as PortfolioSnapshot;
      const sum = books.reduce((t, b) => t + b.pnl!.all, 0);
      expect(Math.abs(sum - account.pnl!.all)).toBeLessThan(1e-6);
      const pnl = await system.commands.handle('pnl week', viewer);
      expect(pnl.text).toMatch(/\nBy strategy:\n {2}sma-cross: .*, since the start /);
    });

    it('an order is only a preview (with the risk pre-check) until the same person confirms it, once', async () => {
      const before = intents().length;
      const preview = await system.commands.handle('buy WALK 5', operator);
      expect(preview.preview).toMatchObject({
        command: 'buy',
        summary: 'buy 5 WALK at market',
        check: { wouldPass: true },
      });
      expect(intents().length).toBe(before); // nothing reached risk
      expect(await system.commands.confirm(preview.preview!.id, admin)).toMatchObject({
        ok: false,
        code: 'no_preview',
      }); // not theirs
      const sent = await system.commands.handle(`confirm ${preview.preview!.id}`, operator);
      expect(sent).toMatchObject({ ok: true, text: expect.stringMatching(/^Risk approved buy 5 WALK/) as unknown });
      await eventually(() => expect(intents().length).toBe(before + 1));
      await eventually(() =>
        expect(
          seen.some(
            (e) =>
              e.type === 'order.approved' &&
              (e.payload as { order: { clientOrderId: string } }).order.clientOrderId ===
                (sent.data as { clientOrderId: string }).clientOrderId,
          ),
        ).toBe(true),
      );
      expect(await system.commands.handle(`confirm ${preview.preview!.id}`, operator)).toMatchObject({
        ok: false,
        code: 'no_preview',
      }); // exactly once
      expect(intents().length).toBe(before + 1);
    });

    it('cancel-order previews a working limit and, once confirmed, cancels it through risk and execution; again it is refused with the reason', async () => {
      // within risk's price band (10%), below the last close: it rests (the feed has ended)
      const close = Number(readFileSync(walkFile, 'utf8').trim().split('\n').at(-1)!.split(',')[4]);
      const limit = Math.floor(close * 95) / 100;
      const placed = await system.commands.handle(`buy WALK 3 limit ${limit}`, operator);
      const sent = await system.commands.handle(`confirm ${placed.preview!.id}`, operator);
      expect(sent.text).toMatch(/^Risk approved/);
      const id = (sent.data as { clientOrderId: string }).clientOrderId;
      await eventually(async () =>
        expect((await system.commands.handle('orders', viewer)).text).toContain(`${id}  buy 3 WALK  submitted`),
      );
      const preview = await system.commands.handle(`cancel-order ${id} too far below`, operator);
      expect(preview.preview).toMatchObject({
        command: 'cancel-order',
        summary: `cancel ${id}: buy 3 WALK limit ${limit} (0 filled, person test:operator)`,
      });
      expect(seen.some((e) => e.type === 'order.cancel')).toBe(false); // a preview sends nothing
      // Telegram's menu name for it (dashes are not allowed there) is the same command
      expect((await system.commands.handle(`/cancel_order ${id}`, operator)).preview).toMatchObject({
        command: 'cancel-order',
      });
      const done = await system.commands.handle(`confirm ${preview.preview!.id}`, operator);
      expect(done).toMatchObject({
        ok: true,
        text: `Cancelled ${id} (0 had filled): cancelled on request of person test:operator: too far below.`,
      });
      expect(seen.filter((e) => e.type === 'order.cancel-approved')).toHaveLength(1);
      expect((await system.commands.handle(`cancel-order ${id}`, operator)).text).toMatch(
        new RegExp(`^${id} is not a working order`),
      );
      expect(await system.commands.handle('cancel-order WALK', viewer)).toMatchObject({ ok: false });
    });

    it('a confirmed order that risk refuses is reported as refused with the reason, and orders all lists it', async () => {
      const preview = await system.commands.handle('buy WALK 100000', operator);
      expect(preview.preview?.check).toMatchObject({ wouldPass: false, code: 'insufficient_buying_power' });
      const sent = await system.commands.handle(`confirm ${preview.preview!.id}`, operator);
      expect(sent).toMatchObject({
        ok: false,
        code: 'refused',
        text: expect.stringMatching(
          /^Risk refused buy 100000 WALK: buy 100,000 WALK at [\d.,]+ needs .* of buying power is available .*\(insufficient_buying_power\)\. Nothing was sent to the broker/,
        ) as unknown,
      });
      const id = (sent.data as { clientOrderId: string }).clientOrderId;
      await system.recorder!.flush();
      const all = await system.commands.handle('orders all', viewer);
      expect(all.text).toMatch(
        new RegExp(`${id}  buy 100000 WALK  rejected \\(0 filled\\): insufficient_buying_power: buy 100,000 WALK`),
      );
    });

    it('the pre-check says which limit an order would hit', async () => {
      const p = await system.commands.handle('sell WALK 5 limit 100000', operator);
      expect(p.preview?.check).toMatchObject({ wouldPass: false, code: 'price_band' });
      expect(p.text).toMatch(/would be refused \(price_band: /);
    });

    it('a preview expires after its TTL and a cancelled one sends nothing', async () => {
      let t = 1_000;
      const router = createCommandRouter(
        busServices({
          bus: system.bus,
          envelope: { ids: ulidSource(), clock: systemClock, source: 'test' },
          agents: () => ({}),
          timeoutMs: 2000,
        }),
        { now: () => t, previewTtlMs: 500 },
      );
      const before = intents().length;
      const a = await router.handle('halt testing', operator);
      t += 501;
      expect(await router.handle(`confirm ${a.preview!.id}`, operator)).toMatchObject({ ok: false, code: 'expired' });
      const b = await router.handle('buy WALK 1', operator);
      expect(await router.handle(`cancel ${b.preview!.id}`, operator)).toMatchObject({ ok: true });
      expect(await router.handle(`confirm ${b.preview!.id}`, operator)).toMatchObject({
        ok: false,
        code: 'no_preview',
      });
      expect(intents().length).toBe(before);
    });

    it('halt and resume take effect only when confirmed; limits are for admins', async () => {
      const halt = await system.commands.handle('halt checking data', operator);
      expect((await system.commands.handle('risk', viewer)).text).toMatch(/Trading is ACTIVE/);
      expect((await system.commands.handle(`confirm ${halt.preview!.id}`, operator)).text).toMatch(/Trading is HALTED/);
      const resume = await system.commands.handle('resume', operator);
      expect((await system.commands.handle(`confirm ${resume.preview!.id}`, operator)).text).toMatch(
        /Trading is ACTIVE/,
      );
      expect(await system.commands.handle('limits set maxOpenOrders 9', operator)).toMatchObject({ code: 'forbidden' });
      const bad = await system.commands.handle('limits set maxOpenOrders -9', admin);
      expect(await system.commands.handle(`confirm ${bad.preview!.id}`, admin)).toMatchObject({
        ok: false,
        code: 'refused',
      });
      const good = await system.commands.handle('limits set maxOpenOrders 9', admin);
      expect((await system.commands.handle(`confirm ${good.preview!.id}`, admin)).text).toMatch(/^Done/);
    });

    it('why explains the latest decision on a symbol from its causal chain, and trace shows it', async () => {
      const why = await system.commands.handle('why WALK', viewer);
      expect(why.ok).toBe(true);
      expect(why.text).toMatch(/WALK closed at/);
      expect(why.text).toMatch(/The strategy signalled (buy|sell): .*Indicators: /);
      expect(why.text).toMatch(/Risk (approved|refused)/);
      const id = (why.data as { correlationId: string }).correlationId;
      expect((await system.commands.handle(`trace ${id}`, viewer)).text).toMatch(/market\.bar/);
      expect(await system.commands.handle('why NOPE', viewer)).toMatchObject({ ok: false, code: 'not_found' });
    });

    it('plain language that starts like a command is read as meant; what cannot be read gets the closest commands', async () => {
      const answer = offlineAnswer(system.commands, operator);
      // "why" is a command, but "did" is no symbol: the plain reading wins
      const why = await answer('why did we buy WALK');
      expect(why.text).toMatch(/^\(I read that as `why WALK`\.\)/);
      // "trading" is filler, not the reason of the halt
      const halt = await answer('halt trading');
      expect(halt.text).toMatch(/^\(I read that as `halt`\.\)/);
      expect(halt.preview?.summary).toBe('halt trading');
      await system.commands.handle(`cancel ${halt.preview!.id}`, operator);
      const lost = await answer('sing a song');
      expect(lost).toMatchObject({ ok: false, code: 'not_understood' });
      expect(lost.text).toMatch(
        /^I could not read that as a command\. Did you mean `\w[\w-]*`, `\w[\w-]*`, `\w[\w-]*`\?/,
      );
      expect(lost.text.split('\n')).toHaveLength(1); // one line, not the whole help
    });

    it('the terminal chat answers commands and plain questions line by line through stdin', async () => {
      const input = new PassThrough();
      const output = new PassThrough();
      let text = '';
      output.on('data', (d: Buffer) => (text += d.toString()));
      const done = runRepl(input, output, offlineAnswer(system.commands, operator));
      input.end("what's my pnl today\npositions\nbuy 2 shares of WALK\nsing a song\nexit\n");
      await done;
      expect(text).toMatch(/\(I read that as `pnl today`\.\)\nToday: /);
      expect(text).toMatch(/Preview \w+: buy 2 WALK at market/);
      expect(text).toMatch(/I could not read that as a command/);
    });
  });
