import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { randomWalkCsv } from '../helpers/csv.js';

const root = resolve(import.meta.dirname, '../..');

describe('sextant start --until-feed-end', () => {
  it('ends by saying what became of the account: trading state, equity, PnL since the start', async () => {
    const child = spawn(process.execPath, [join(root, 'src/cli/sextant.mjs'), 'start', '--until-feed-end'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATA_FEED: 'csv',
        DATA_FILE: randomWalkCsv(300, 4),
        DATA_SYMBOLS: 'WALK',
        DATA_PACE_MS: '0',
        STORE: 'off',
        PORT: '0',
        LOG_LEVEL: 'warn',
        STRATEGY_FAST: '3',
        STRATEGY_SLOW: '8',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(0);
    expect(out).toMatch(
      /The feed has ended\.\nTrading is (ACTIVE|REDUCING); \d+ order\(s\) open\.\nEquity [\d,.]+, cash [\d,.]+, today -?[\d,.]+\.\n(All agents are up|Not ready: .*)\.\nSince the start: -?[\d,.]+ \(realised -?[\d,.]+, unrealised -?[\d,.]+, fees [\d,.]+; as of \d{4}-\d\d-\d\d \d\d:\d\d UTC, market time\)\./,
    );
  }, 60_000);
});
