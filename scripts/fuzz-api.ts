/**
 * Fuzzes the HTTP API from its own OpenAPI document (`npm run fuzz:api`; `.ci/run` runs it after
 * the tests): starts `sextant start` embedded (in-memory bus, embedded store in a temporary
 * directory, synthetic feed, paper broker) on a free port with one token per role, then runs
 * schemathesis (PyPI, a virtualenv in the tools cache) against `/openapi.json` once per role and
 * once without a token. Checks: no 5xx (`not_a_server_error`), every status code and response body
 * and content type as documented. A fixed seed makes a run repeatable (`FUZZ_SEED` to change it);
 * `FUZZ_EXAMPLES` sets the examples per operation (default 20).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureVenv } from './services/python.js';

const SCHEMATHESIS = '4.32.5';
const CHECKS = 'not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance';
const TOKENS = {
  admin: 'fuzz-admin-token-0000000001',
  operator: 'fuzz-operator-token-000001',
  viewer: 'fuzz-viewer-token-00000001',
} as const;

const say = (line: string) => console.log(line);

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

async function waitForHealth(url: string, server: ReturnType<typeof spawn>, log: () => string): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`sextant start exited ${server.exitCode}:\n${log()}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`sextant start did not answer ${url}/health within 90 s:\n${log()}`);
}

async function main(): Promise<number> {
  const bin = ensureVenv('schemathesis', SCHEMATHESIS, [`schemathesis==${SCHEMATHESIS}`], say);
  const dir = mkdtempSync(join(tmpdir(), 'sextant-fuzz-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SEXTANT_DATA_DIR: dir,
    PORT: String(port),
    SEXTANT_API_TOKENS: Object.entries(TOKENS)
      .map(([role, token]) => `${token}:${role}`)
      .join(','),
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'warn',
  };
  // embedded: the fuzz must not reach a deployment's bus or database
  delete env.NATS_URL;
  delete env.MONGODB_URI;
  let output = '';
  const server = spawn(process.execPath, ['src/cli/sextant.mjs', 'start'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  server.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  const failures: string[] = [];
  try {
    await waitForHealth(url, server, () => output);
    say(`sextant start answers at ${url}; fuzzing its OpenAPI document with schemathesis ${SCHEMATHESIS}`);
    for (const [who, token] of [...Object.entries(TOKENS), ['no token', undefined] as const]) {
      const args = [
        'run',
        `${url}/openapi.json`,
        '--checks',
        CHECKS,
        '--phases',
        'examples,coverage,fuzzing',
        '--max-examples',
        process.env.FUZZ_EXAMPLES ?? '20',
        '--seed',
        process.env.FUZZ_SEED ?? '20261207',
        '--workers',
        '2',
        '--no-color',
        ...(token ? ['-H', `Authorization: Bearer ${token}`] : []),
      ];
      const started = Date.now();
      // in the temporary directory: schemathesis keeps a cache (.schemathesis/) where it runs
      const r = spawnSync(join(bin, 'schemathesis'), args, { cwd: dir, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
      const summary = /(\d+) generated, [^\n]*/.exec(out)?.[0] ?? out.trim().split('\n').slice(-3).join(' ');
      say(`  ${who.padEnd(9)} ${summary} (${Math.round((Date.now() - started) / 1000)} s)`);
      if (r.status !== 0) {
        failures.push(who);
        console.error(out.slice(-15_000));
      }
    }
    if (server.exitCode !== null) failures.push(`the server exited ${server.exitCode} during the fuzz`);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r(undefined) : server.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
  if (failures.length > 0) {
    console.error(`\nAPI fuzzing FAILED for: ${failures.join(', ')}`);
    return 1;
  }
  say('API fuzzing: no 5xx, every response as documented');
  return 0;
}

process.exitCode = await main();
