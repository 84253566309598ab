import { afterEach, describe, expect, it, vi } from 'vitest';
import { progressLine } from '../../src/cli/progress.js';

describe('CLI progress line', () => {
  const tty = process.stderr.isTTY;
  afterEach(() => {
    process.stderr.isTTY = tty;
    vi.restoreAllMocks();
  });

  it('is silent when stderr is not a terminal (pipes, CI logs)', () => {
    process.stderr.isTTY = false;
    expect(progressLine('replayed')).toBeUndefined();
  });

  it('on a terminal: a bar with the count and the time left when the total is known, a rate when not, then cleared', () => {
    process.stderr.isTTY = true;
    const out: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const bar = progressLine('trials')!;
    bar.update(16, 16);
    expect(out.at(-1)).toBe('\r  trials [########################] 16/16\x1b[K');
    const count = progressLine('replayed', 'messages')!;
    count.update(1_500);
    expect(out.at(-1)).toMatch(/^\r {2}replayed 1,500 messages/);
    count.done();
    expect(out.at(-1)).toBe('\r\x1b[K');
  });
});
