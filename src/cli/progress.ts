/**
 * One progress line on stderr for long CLI work (backtests, sweeps, replays, exports), redrawn at
 * most every 100 ms, and only on a terminal: piped or --json output never carries it. `update`
 * takes what is done and, when known, the total (then a bar and the time left are shown).
 */
export function progressLine(label: string, unit = '') {
  if (!process.stderr.isTTY) return undefined;
  const started = Date.now();
  let last = 0;
  return {
    update: (done: number, total?: number) => {
      const now = Date.now();
      if (now - last < 100 && (total === undefined || done < total)) return;
      last = now;
      const count = `${done.toLocaleString('en-US')}${total !== undefined ? `/${total.toLocaleString('en-US')}` : ''}${unit ? ` ${unit}` : ''}`;
      let text = `  ${label} ${count}`;
      if (total !== undefined && total > 0) {
        const width = 24;
        const filled = Math.min(width, Math.round((width * done) / total));
        const eta = done > 0 && done < total ? ((now - started) / done) * (total - done) : undefined;
        text = `  ${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${count}${eta !== undefined ? `  ~${Math.ceil(eta / 1000)} s left` : ''}`;
      } else if (now > started) {
        text += `  (${Math.round((done / (now - started)) * 1000).toLocaleString('en-US')}/s)`;
      }
      process.stderr.write(`\r${text}\x1b[K`);
    },
    done: () => process.stderr.write('\r\x1b[K'),
  };
}
