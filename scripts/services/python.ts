import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { toolsDir } from './tools.js';

/**
 * A Python tool from PyPI in a virtualenv of its own in the tools cache (beside nats-server and
 * FerretDB), made once per machine: `<name>-venv-<version>`, marked complete only after pip
 * succeeded. Returns the venv's bin directory. Throws, saying why, when Python or pip cannot.
 */
export function ensureVenv(name: string, version: string, requirements: readonly string[], say: (l: string) => void) {
  const venv = join(toolsDir(), `${name}-venv-${version}`);
  const bin = join(venv, 'bin');
  if (existsSync(join(venv, '.complete'))) return bin;
  rmSync(venv, { recursive: true, force: true });
  say(`installing ${name} ${version} from PyPI into ${venv} (once per machine)`);
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0)
      throw new Error(
        `${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${(r.stderr ?? '').trim().slice(-500)}`,
      );
  };
  run('python3', ['-m', 'venv', venv]);
  run(join(bin, 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...requirements]);
  run('touch', [join(venv, '.complete')]);
  return bin;
}
