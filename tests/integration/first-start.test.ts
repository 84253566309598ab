import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/free-port.js';

const root = resolve(import.meta.dirname, '../..');

/** `sextant start` as a person runs it, on a free port with a fresh data directory; its stdout is collected. */
async function startCli(env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'sextant-first-'));
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, 'src/cli/sextant.mjs'), 'start'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      SEXTANT_DATA_DIR: join(dir, 'data'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return {
    port,
    tokenFile: join(dir, 'data', 'api-token'),
    out: () => out,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('the first sextant start opens the dashboard', () => {
  it('without SEXTANT_API_TOKENS: it prints where the dashboard is, its admin token opens the API on 127.0.0.1', async () => {
    const run = await startCli({ LOG_LEVEL: 'info', DATA_PACE_MS: '50' });
    try {
      await eventually(() => expect(run.out()).toContain('Dashboard: '), 30_000, 50);
      // not a terminal here: the line names the file, the token itself stays out of the output
      expect(run.out()).toContain(`Dashboard: http://127.0.0.1:${run.port}/ (the admin token is in ${run.tokenFile})`);
      const token = readFileSync(run.tokenFile, 'utf8').trim();
      expect(run.out()).not.toContain(token);
      expect(statSync(run.tokenFile).mode & 0o777).toBe(0o600);
      expect(run.out()).toMatch(/"host":"127\.0\.0\.1"[^\n]*HTTP API listening/);
      const get = (headers: Record<string, string>) => fetch(`http://127.0.0.1:${run.port}/api/v1/risk`, { headers });
      expect((await get({})).status).toBe(401);
      const ok = await get({ authorization: `Bearer ${token}` });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { state: string }).state).toBe('ACTIVE');
    } finally {
      await run.stop();
    }
  }, 60_000);

  it('LOG_FORMAT=pretty (a terminal, by default): a banner, then one readable line per decision, no JSON', async () => {
    const run = await startCli({ LOG_FORMAT: 'pretty', DATA_PACE_MS: '5', STRATEGY_FAST: '2', STRATEGY_SLOW: '5' });
    try {
      await eventually(() => expect(run.out()).toMatch(/ filled {2}← /), 30_000, 50);
      const lines = run.out().trim().split('\n');
      expect(lines[0]).toBe('Sextant: every agent in this process, in-memory bus, paper broker');
      expect(lines[1]).toMatch(
        /^Market: synthetic SYN, one 1 s bar every 5 ms of wall time; strategy sma-cross 2\/5; kept in /,
      );
      expect(lines[2]).toBe(`Dashboard: http://127.0.0.1:${run.port}/ (the admin token is in ${run.tokenFile})`);
      expect(lines.filter((l) => l.startsWith('{'))).toEqual([]); // no JSON log lines on a person's screen
    } finally {
      await run.stop();
    }
  }, 60_000);
});
