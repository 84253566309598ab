import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventually } from '../helpers/eventually.js';
import { freePort } from '../helpers/free-port.js';

const root = resolve(import.meta.dirname, '../..');

describe('the first sextant start opens the dashboard', () => {
  it('without SEXTANT_API_TOKENS: it prints where the dashboard is, its admin token opens the API on 127.0.0.1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-first-'));
    const port = await freePort();
    const child = spawn(process.execPath, [join(root, 'src/cli/sextant.mjs'), 'start'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: String(port),
        SEXTANT_DATA_DIR: join(dir, 'data'),
        LOG_LEVEL: 'info',
        DATA_PACE_MS: '50',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await eventually(() => expect(out).toContain('Dashboard: '), 30_000, 50);
      const file = join(dir, 'data', 'api-token');
      // not a terminal here: the line names the file, the token itself stays out of the output
      expect(out).toContain(`Dashboard: http://127.0.0.1:${port}/ (the admin token is in ${file})`);
      const token = readFileSync(file, 'utf8').trim();
      expect(out).not.toContain(token);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(out).toMatch(/"host":"127\.0\.0\.1"[^\n]*HTTP API listening/);
      const get = (headers: Record<string, string>) => fetch(`http://127.0.0.1:${port}/api/v1/risk`, { headers });
      expect((await get({})).status).toBe(401);
      const ok = await get({ authorization: `Bearer ${token}` });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { state: string }).state).toBe('ACTIVE');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
