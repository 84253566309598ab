import { mkdtempSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { dashboardLine, localAccess } from '../../src/cli/local-token.js';

const configIn = (env: Record<string, string> = {}) =>
  loadConfig({ env: { SEXTANT_DATA_DIR: join(mkdtempSync(join(tmpdir(), 'sextant-token-')), 'data'), ...env } });

describe('a first start that opens (src/cli/local-token.ts)', () => {
  it('without SEXTANT_API_TOKENS: one admin token, kept owner-only in the data directory, the API on 127.0.0.1', async () => {
    const config = configIn();
    const first = await localAccess(config);
    expect(first.local?.created).toBe(true);
    expect(first.local?.file).toBe(join(config.dataDir, 'api-token'));
    expect(first.config.api.tokens).toEqual([{ token: first.local!.token, role: 'admin' }]);
    expect(first.config.api.host).toBe('127.0.0.1');
    expect(readFileSync(first.local!.file, 'utf8').trim()).toBe(first.local!.token);
    expect(statSync(first.local!.file).mode & 0o777).toBe(0o600);
    expect(first.local!.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    // the next start reuses it: a bookmarked link keeps working
    const again = await localAccess(config);
    expect(again.local).toEqual({ ...first.local, created: false });
  });

  it('a token file others can read is made owner-only again; API_HOST is kept', async () => {
    const config = configIn({ API_HOST: '0.0.0.0' });
    const { local } = await localAccess(config);
    chmodSync(local!.file, 0o644);
    const again = await localAccess(config);
    expect(statSync(local!.file).mode & 0o777).toBe(0o600);
    expect(again.config.api.host).toBe('0.0.0.0');
  });

  it('a file that holds no usable token is replaced', async () => {
    const config = configIn();
    const { local } = await localAccess(config);
    writeFileSync(local!.file, 'short\n');
    const again = await localAccess(config);
    expect(again.local!.created).toBe(true);
    expect(again.local!.token).not.toBe('short');
  });

  it('with SEXTANT_API_TOKENS nothing changes: no token is made, the API listens where it did', async () => {
    const config = configIn({ SEXTANT_API_TOKENS: 'operator-token-0123456789:operator' });
    const access = await localAccess(config);
    expect(access.local).toBeUndefined();
    expect(access.config).toBe(config);
  });

  it('the dashboard line carries the token only on a terminal (never into a log collector)', async () => {
    const config = configIn({ PORT: '3100' });
    const { config: c, local } = await localAccess(config);
    expect(dashboardLine(c, local, true)).toBe(`Dashboard: http://127.0.0.1:3100/#token=${local!.token}`);
    expect(dashboardLine(c, local, false)).toBe(
      `Dashboard: http://127.0.0.1:3100/ (the admin token is in ${local!.file})`,
    );
    const withTokens = configIn({ PORT: '3100', SEXTANT_API_TOKENS: 'operator-token-0123456789:operator' });
    expect(dashboardLine(withTokens, undefined, true)).toBe(
      'Dashboard: http://localhost:3100/ (sign in with a token from SEXTANT_API_TOKENS)',
    );
  });
});
