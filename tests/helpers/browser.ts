import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/**
 * The system's Chromium (Debian's `chromium` package), for the browser tests: CHROMIUM_PATH,
 * else `chromium` or `chromium-browser` on PATH (or in /usr/bin). Playwright's own browser
 * downloads are never used.
 */
export function findChromium(): string | undefined {
  const candidates = [
    process.env.CHROMIUM_PATH,
    ...['chromium', 'chromium-browser'].flatMap((name) =>
      [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin'].map((dir) => join(dir, name)),
    ),
  ];
  for (const file of candidates) {
    if (!file) continue;
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Chromium's path, or undefined with a loud message so the caller can skip. Under CI=true a
 * missing browser throws: the browser tier must run there (.ci/run installs the package).
 */
export function chromiumOrSkip(what: string): string | undefined {
  const path = findChromium();
  if (path) return path;
  const reason = `no Chromium found (CHROMIUM_PATH, chromium or chromium-browser on PATH): ${what} NOT RUN. Install it with \`apt-get install -y chromium\`.`;
  if (process.env.CI === 'true') throw new Error(`${reason} CI needs it.`);
  console.error(`\n!!! ${reason} !!!\n`);
  return undefined;
}

/** Headless Chromium; as root Chromium refuses its sandbox, so it runs without one (tests only). */
export function launchChromium(executablePath: string): Promise<Browser> {
  const root = process.getuid?.() === 0;
  return chromium.launch({ executablePath, headless: true, args: root ? ['--no-sandbox'] : [] });
}

/** Where screenshots go (git-ignored `test-artifacts/<sub>`), created on demand. */
export function artifactDir(sub: string): string {
  const dir = resolve(process.cwd(), 'test-artifacts', sub);
  mkdirSync(dir, { recursive: true });
  return dir;
}
