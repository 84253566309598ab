import { ESLint } from 'eslint';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root });

/** The messages ESLint gives `code` as if it were the file at `path` (the file need not exist). */
async function lint(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: resolve(root, path) });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

const boundaryErrors = (messages: string[]) => messages.filter((m) => m.startsWith('boundaries/'));

describe('the layers are enforced by npm run lint (ARCHITECTURE.md)', () => {
  it('core importing an agent or the kernel fails the lint', async () => {
    const messages = await lint(
      'src/core/probe.ts',
      "import { riskAgent } from '../../agents/risk/agent.js';\nimport { Kernel } from '../app/kernel/kernel.js';\nexport const x = [riskAgent, Kernel];\n",
    );
    expect(boundaryErrors(messages)).toHaveLength(2);
    expect(messages[0]).toMatch(/from elements of type "core" to elements of type "agent"/);
  });

  it('the bus importing the store, or an agent importing infrastructure, fails the lint', async () => {
    expect(
      boundaryErrors(
        await lint(
          'bus/probe.ts',
          "import { openEmbeddedStore } from '../src/infra/store/embedded/embedded-store.js';\nexport const x = openEmbeddedStore;\n",
        ),
      ),
    ).toHaveLength(1);
    expect(
      boundaryErrors(
        await lint(
          'agents/sentiment/probe.ts',
          "import { PersistedSpend } from '../../src/infra/store/daily-spend.js';\nexport const x = PersistedSpend;\n",
        ),
      ),
    ).toHaveLength(1);
  });

  it('one agent importing another fails the lint; its own files do not', async () => {
    expect(
      boundaryErrors(
        await lint(
          'agents/risk/probe.ts',
          "import { portfolioAgent } from '../portfolio/agent.js';\nexport const x = portfolioAgent;\n",
        ),
      ),
    ).toHaveLength(1);
    expect(
      boundaryErrors(
        await lint(
          'agents/risk/probe.ts',
          "import { riskAgent } from './agent.js';\nimport { subjects } from '../../src/core/index.js';\nexport const x = [riskAgent, subjects];\n",
        ),
      ),
    ).toEqual([]);
  });

  it('the application importing an interface fails the lint; the CLI may import anything', async () => {
    const code = (from: string) => `import { createApi } from '${from}';\nexport const x = createApi;\n`;
    expect(
      boundaryErrors(await lint('src/app/backtest/probe.ts', code('../../../interfaces/http/app.js'))),
    ).toHaveLength(1);
    expect(boundaryErrors(await lint('src/cli/probe.ts', code('../../interfaces/http/index.js')))).toEqual([]);
  });

  it('the command layer knows no adapter; an adapter knows the command layer but no other adapter', async () => {
    expect(
      boundaryErrors(
        await lint(
          'interfaces/commands/probe.ts',
          "import { createApi } from '../http/app.js';\nexport const x = createApi;\n",
        ),
      ),
    ).toHaveLength(1);
    expect(
      boundaryErrors(
        await lint(
          'interfaces/commands/probe.ts',
          "import { ChatAgent } from '../chat/chat-agent.js';\nexport const x = ChatAgent;\n",
        ),
      ),
    ).toHaveLength(1);
    expect(
      boundaryErrors(
        await lint(
          'interfaces/telegram/probe.ts',
          "import { createApi } from '../http/app.js';\nexport const x = createApi;\n",
        ),
      ),
    ).toHaveLength(1);
    expect(
      boundaryErrors(
        await lint(
          'interfaces/telegram/probe.ts',
          "import { createCommandRouter } from '../commands/index.js';\nexport const x = createCommandRouter;\n",
        ),
      ),
    ).toEqual([]);
  });

  it('a source file outside every layer fails the lint', async () => {
    expect(await lint('src/stray.ts', 'export const x = 1;\n')).toContain(
      'boundaries/no-unknown-files: File does not match any file pattern and does not belong to any known element',
    );
  });

  it('agent domain code reading the clock, drawing random numbers, keeping timers or doing I/O fails the lint', async () => {
    const code =
      "import { readFileSync } from 'node:fs';\nexport const a = Date.now();\nexport const b = Math.random();\nexport const c = new Date();\nexport const d = setTimeout(() => undefined, 1);\nexport const e = performance.now();\nexport const f = readFileSync;\n";
    const rules = (await lint('agents/risk/checks-probe.ts', code)).map((m) => m.split(':')[0]);
    expect(rules.sort()).toEqual([
      'no-restricted-globals',
      'no-restricted-globals',
      'no-restricted-imports',
      'no-restricted-properties',
      'no-restricted-properties',
      'no-restricted-properties',
      'no-restricted-syntax',
    ]);
    // a given instant may be formatted: only reading the clock is refused
    expect(
      await lint('agents/portfolio/probe.ts', 'export const day = (t: number) => new Date(t).toISOString();\n'),
    ).toEqual([]);
    // a binding is where the real clock is plugged in
    expect(await lint('agents/risk/agent.ts', 'export const now = Date.now;\n')).toEqual([]);
  });

  it("a user's strategy file (strategies/) is held to the same rules; its test is not", async () => {
    const code = 'export const a = Date.now();\nexport const b = Math.random();\n';
    expect((await lint('strategies/my-breakout.ts', code)).map((m) => m.split(':')[0])).toEqual([
      'no-restricted-properties',
      'no-restricted-properties',
    ]);
    expect(await lint('strategies/my-breakout.test.ts', code)).toEqual([]);
  });

  it('another folder is reached through its public entry (index.ts) or a lazily loaded module, never a file inside', async () => {
    const probe = (from: string) => `import { Recorder } from '${from}';\nexport const x = Recorder;\n`;
    expect(
      boundaryErrors(await lint('src/app/backtest/probe.ts', probe('../../infra/store/recorder.js'))),
    ).toHaveLength(1);
    expect(boundaryErrors(await lint('src/app/backtest/probe.ts', probe('../../infra/store/index.js')))).toEqual([]);
    // its own folder's files are its own
    expect(boundaryErrors(await lint('src/infra/store/probe.ts', probe('./recorder.js')))).toEqual([]);
    // ccxt is loaded only when BROKER=ccxt: its adapter is an entry of its own
    const ccxt = "export const load = () => import('../../../agents/execution/ccxt-broker.js');\n";
    expect(boundaryErrors(await lint('src/app/live/probe.ts', ccxt))).toEqual([]);
    const inside = "export const load = () => import('../../infra/store/recorder.js');\n";
    expect(boundaryErrors(await lint('src/app/live/probe.ts', inside))).toHaveLength(1);
  });
});
