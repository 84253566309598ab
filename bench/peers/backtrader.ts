import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureVenv } from '../../scripts/services/python.js';
import type { BacktestBenchRow } from '../backtest.bench.js';

/**
 * backtrader (PyPI, pure Python) as the backtest bench's peer: installed from
 * `bench/peers/requirements.txt` into a virtualenv outside the repository, in the tools cache
 * beside nats-server and FerretDB (`backtrader-venv-<version>`), made once per machine.
 */
/** One peer run, measured as a Sextant run of the bench is. */
export type PeerRun = Omit<BacktestBenchRow, 'transport' | 'recorded'> & { readonly peer: string };

const here = fileURLToPath(new URL('.', import.meta.url));
const requirements = join(here, 'requirements.txt');
const script = join(here, 'backtrader_sma_cross.py');
const VERSION = '1.9.78.123';

/** The virtualenv's python, made and filled when missing. Throws when Python or pip cannot. */
export function ensureBacktrader(say: (line: string) => void): string {
  return join(ensureVenv('backtrader', VERSION, ['-r', requirements], say), 'python');
}

/** The SMA(fast, slow) cross of `size` over the Yahoo-layout CSV, in backtrader. */
export function runBacktrader(
  python: string,
  file: string,
  o: { fast: number; slow: number; size: number; cash: number },
): Promise<PeerRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(python, [script, file, String(o.fast), String(o.slow), String(o.size), String(o.cash)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`backtrader peer exited ${code}`));
      resolve({
        peer: `backtrader ${VERSION}`,
        ...(JSON.parse(out.trim().split('\n').pop()!) as Omit<PeerRun, 'peer'>),
      });
    });
  });
}
