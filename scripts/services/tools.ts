import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The servers the test suite and `.ci/run` need, built from source through the Go module proxy
 * (the only way to get current releases on a machine that reaches package registries and
 * nothing else), kept outside the repository in a cache keyed by version: a fresh machine
 * builds each once (about a minute each on 2 cores), later runs reuse the binary.
 *
 * Why not plain `go install pkg@version`: FerretDB's `build/version/version.txt` is generated
 * by its release tooling and is not in the module, and a FerretDB binary built without it
 * panics at start ("Invalid build/version/version.txt file content"). So every tool is built
 * the same way: `go mod download` the module, copy its source, write the files its release
 * build would (`files`), `go build` the command.
 *
 * The cache is `$SEXTANT_TOOLS_DIR`, else `$XDG_CACHE_HOME/sextant/tools`, else
 * `~/.cache/sextant/tools`; each tool lives in `<name>@<version>/`.
 */
export interface GoTool {
  /** The binary's name. */
  readonly name: 'nats-server' | 'ferretdb' | 'kubeconform' | 'helm';
  /** The Go module that holds the command. */
  readonly module: string;
  /** The command's package inside the module ('.' for the module root). */
  readonly cmd: string;
  readonly version: string;
  /** Files written into the copied source before the build (paths inside the module). */
  readonly files?: Readonly<Record<string, string>>;
  /** What it stands for, in a sentence for the logs. */
  readonly what: string;
}

/**
 * The versions in use. NATS: the same version is in docker-compose.yml, the Kubernetes-less
 * compose profile and .github/workflows/ci.yml (tests/unit/deployment.test.ts checks).
 */
export const tools = {
  nats: {
    name: 'nats-server',
    module: 'github.com/nats-io/nats-server/v2',
    cmd: '.',
    version: 'v2.15.3',
    what: 'the NATS server (JetStream)',
  },
  ferretdb: {
    name: 'ferretdb',
    module: 'github.com/FerretDB/FerretDB',
    cmd: './cmd/ferretdb',
    version: 'v1.24.2',
    what: 'FerretDB, a MongoDB wire-protocol server on SQLite',
    files: { 'build/version/version.txt': 'v1.24.2\n' },
  },
  // the deployment checks (scripts/check-deploy.ts): render the Helm chart, validate what it renders
  kubeconform: {
    name: 'kubeconform',
    module: 'github.com/yannh/kubeconform',
    cmd: './cmd/kubeconform',
    version: 'v0.7.0',
    what: 'kubeconform, a Kubernetes manifest validator',
  },
  helm: {
    name: 'helm',
    module: 'helm.sh/helm/v3',
    cmd: './cmd/helm',
    version: 'v3.21.4',
    what: 'Helm, to render the chart under deploy/helm',
  },
} as const satisfies Record<string, GoTool>;

/** Where built tools are kept. */
export function toolsDir(): string {
  if (process.env.SEXTANT_TOOLS_DIR) return process.env.SEXTANT_TOOLS_DIR;
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'sextant', 'tools');
}

/** The path the tool's binary has once built (it may not exist yet). */
export function toolPath(tool: GoTool): string {
  return join(toolsDir(), `${tool.name}@${tool.version}`, tool.name);
}

/** The cached binary when it was built already, else undefined (nothing is built). */
export function builtTool(tool: GoTool): string | undefined {
  const bin = toolPath(tool);
  return existsSync(bin) ? bin : undefined;
}

/** A tool that cannot be had on this machine; the message says why and what to do. */
export class ToolUnavailableError extends Error {
  override readonly name = 'ToolUnavailableError';
  readonly code = 'TOOL_UNAVAILABLE';
  readonly retryable = false;
}

/**
 * The tool's binary, built into the cache when it is not there yet. The build goes to a
 * temporary folder first and is moved in whole, so an interrupted build never leaves a
 * half-written binary that a later run would trust.
 */
export function ensureTool(tool: GoTool, say: (line: string) => void = (l) => console.error(l)): string {
  const bin = toolPath(tool);
  if (existsSync(bin)) return bin;
  const go = findGo();
  if (!go) {
    throw new ToolUnavailableError(
      `${tool.name} ${tool.version} is not built and there is no Go toolchain to build it (looked for \`go\` on PATH and in /usr/local/go/bin). Install Go, or point the suite at running servers with NATS_URL / MONGODB_URI.`,
    );
  }
  const dir = join(toolsDir(), `${tool.name}@${tool.version}`);
  const tmp = `${dir}.building-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  say(
    `building ${tool.name} ${tool.version} (${tool.what}) from ${tool.module}@${tool.version} into ${dir}: once per machine, about a minute`,
  );
  const started = Date.now();
  const fail = (what: string, r: SpawnSyncReturns<string>): never => {
    rmSync(tmp, { recursive: true, force: true });
    throw new ToolUnavailableError(
      `${what} failed for ${tool.name} ${tool.version} (${r.error?.message ?? `exit ${r.status ?? r.signal}`}): ${(r.stderr ?? '').trim().split('\n').slice(-5).join(' | ')}`,
    );
  };
  const env = { ...process.env, CGO_ENABLED: '0' };
  const dl = spawnSync(go, ['mod', 'download', '-json', `${tool.module}@${tool.version}`], { encoding: 'utf8', env });
  if (dl.status !== 0) fail('go mod download', dl);
  const src = join(tmp, 'src');
  cpSync((JSON.parse(dl.stdout) as { Dir: string }).Dir, src, { recursive: true });
  // the module cache is read-only, and so is the copy
  spawnSync('chmod', ['-R', 'u+w', src]);
  for (const [file, content] of Object.entries(tool.files ?? {})) writeFileSync(join(src, file), content);
  const out = join(tmp, tool.name);
  const build = spawnSync(go, ['build', '-trimpath', '-buildvcs=false', '-o', out, tool.cmd], {
    cwd: src,
    encoding: 'utf8',
    env,
  });
  if (build.status !== 0 || !existsSync(out)) fail('go build', build);
  rmSync(src, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  say(`built ${tool.name} ${tool.version} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return bin;
}

function findGo(): string | undefined {
  for (const d of (process.env.PATH ?? '').split(':').concat('/usr/local/go/bin')) {
    if (d && existsSync(join(d, 'go'))) return join(d, 'go');
  }
  return undefined;
}

/** The nats-server binary: the built one; Debian's only when it cannot be built (said loudly). */
export function ensureNatsServer(say: (line: string) => void = (l) => console.error(l)): string {
  try {
    return ensureTool(tools.nats, say);
  } catch (err) {
    const debian = ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => existsSync(p));
    if (!debian) throw err;
    say(
      `\n!!! FALLBACK: ${(err as Error).message}\n!!! Using Debian's ${debian} instead (2.9.x: no multiple filter subjects); results may differ from ${tools.nats.version}.\n`,
    );
    return debian;
  }
}

/** `nats-server --version` / `ferretdb --version`, one line. */
export function versionOf(bin: string): string {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', env: { ...process.env, DO_NOT_TRACK: '1' } });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
  const line = text.split('\n').find((l) => /version/i.test(l)) ?? text.split('\n')[0] ?? '';
  return line.trim() || `${bin} (version unknown)`;
}
