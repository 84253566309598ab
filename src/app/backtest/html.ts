/** Pieces every HTML report shares (backtest, optimize, walk-forward, Monte Carlo). */

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
/** Text for inside a <script> element: it cannot close the element early. */
export const scriptText = (s: string): string => s.replace(/<\/(script|style)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
export const money = (x: number): string =>
  x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
export const pct = (x: number | undefined): string => (x === undefined ? 'n/a' : `${(100 * x).toFixed(2)}%`);
export const fixed = (x: number | undefined, d = 2): string => (x === undefined ? 'n/a' : x.toFixed(d));
export const price = (x: number | undefined): string =>
  x === undefined ? '' : x.toLocaleString('en-US', { maximumFractionDigits: 6 });

/** The reports' stylesheet. */
export const CSS = `
*{box-sizing:border-box}body{margin:0 auto;max-width:72rem;padding:1rem;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c1e21}
h1{font-size:1.3rem;margin:0 0 .2rem}h2{font-size:1rem;margin:1.4rem 0 .5rem}.meta{color:#667;margin:0}
.stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(9.5rem,1fr));gap:.6rem;margin:1rem 0}
.stats div{border:1px solid #e2e4e8;border-radius:8px;padding:.5rem .7rem}.stats dt{color:#667;font-size:.8rem}.stats dd{margin:0;font-size:1.1rem;font-weight:600;font-variant-numeric:tabular-nums}
.chart{width:100%}.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:.25rem .5rem;border-bottom:1px solid #e2e4e8;text-align:right;white-space:nowrap}th{color:#667;font-size:.8rem}
td.l,th.l{text-align:left}.pos{color:#137333}.neg{color:#b3261e}.open{background:#fef7e0}
ul.defs li{margin:.2rem 0}summary{cursor:pointer;margin:1rem 0 .5rem}
`;

/**
 * The top of a self-contained report page: its content security policy forbids any fetch (styles,
 * scripts and data are inline), then the given styles.
 */
export const pageHead = (title: string, styles: readonly string[]): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
${styles.map((css) => `<style>${scriptText(css)}</style>`).join('\n')}
</head>`;
