import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/load.js';
import { Narrator } from '../../interfaces/terminal/index.js';
import { startSystem } from '../../src/cli/start-system.js';
import { silentLogger } from '../../src/core/ports/logger.js';
import { eventually } from '../helpers/eventually.js';

describe('the terminal narrates trading for a person (interfaces/terminal)', () => {
  it('one line per decision when it ends: side, size, price, the signal behind it, the account after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-narrator-'));
    const lines: string[] = [];
    const config = loadConfig({
      env: {
        PORT: '0',
        STORE: 'off',
        DATA_PACE_MS: '5',
        STRATEGY_FAST: '2',
        STRATEGY_SLOW: '5',
        SEXTANT_DATA_DIR: dir,
      },
    });
    const system = await startSystem(config, silentLogger, config.runtime.agents, {
      narrator: new Narrator({ write: (l) => void lines.push(l), color: false }),
    });
    try {
      await eventually(() => expect(lines.length).toBeGreaterThanOrEqual(3), 20_000, 20);
      const fills = lines.filter((l) => l.includes(' filled '));
      expect(fills.length).toBeGreaterThanOrEqual(3);
      for (const l of fills) {
        expect(l).toMatch(
          /^\d\d-\d\d \d\d:\d\d:\d\d {2}SYN {4}(BUY|SELL) 100 @ [\d,]+\.\d\d {2}filled {2}← SMA2 [\d.]+ crossed (above|below) SMA5 [\d.]+ {3}equity [\d,]+\.\d\d \(today [+−]?[\d,]+\.\d\d\)$/,
        );
      }
      // a person's order that risk refuses, and a halt, are told too
      const admin = { id: 'cli:test', role: 'admin' } as const;
      const preview = await system.commands.handle('buy SYN 100000000', admin);
      expect(preview.preview).toBeDefined();
      await system.commands.handle(`confirm ${preview.preview!.id}`, admin);
      await eventually(() => expect(lines.some((l) => l.includes('refused ('))).toBe(true), 10_000, 20);
      expect(lines.find((l) => l.includes('refused ('))).toMatch(
        /SYN {4}BUY 100,000,000 {2}refused \(insufficient_buying_power\): .* {2}← person /,
      );
      await system.commands
        .handle('halt', admin)
        .then((r) => system.commands.handle(`confirm ${r.preview!.id}`, admin));
      await eventually(() => expect(lines.some((l) => l.includes('trading ACTIVE → HALTED'))).toBe(true), 10_000, 20);
    } finally {
      await system.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
