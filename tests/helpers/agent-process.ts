import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

/** A `sextant agent <name>` (or any sextant command) running as a process of its own. */
export interface AgentProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Everything it printed so far (the tail, bounded). */
  output(): string;
  /** SIGTERM (drain and exit), waiting for the exit; SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts `sextant <args>` from the source tree with only `env` (plus PATH and HOME) and resolves
 * once it logs "sextant running"; rejects with its output if it exits or takes over 20 s.
 */
export function startAgentProcess(name: string, args: readonly string[], env: Record<string, string>): Promise<AgentProcess> {
  return new Promise((resolveStart, reject) => {
    const child = spawn(process.execPath, ['--max-semi-space-size=64', join(root, 'src/cli/sextant.mjs'), ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const keep = (d: Buffer) => {
      out += d.toString();
      if (out.length > 200_000) out = out.slice(-50_000);
    };
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 20 s:\n${out.slice(-3000)}`)), 20_000);
    const proc: AgentProcess = {
      name,
      child,
      output: () => out,
      async stop(graceMs = 10_000) {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(kill);
      },
    };
    child.stdout!.on('data', (d: Buffer) => {
      keep(d);
      if (out.includes('sextant running')) {
        clearTimeout(timer);
        resolveStart(proc);
      }
    });
    child.stderr!.on('data', keep);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was running:\n${out.slice(-3000)}`));
    });
  });
}
