/** The public entry of src/app/backtest: what other folders may import from it (ARCHITECTURE.md). */
export * from './report.js';
export * from './risk-log.js';
export * from './run-backtest.js';
export * from './report-stats.js';
export type { ReportMeta } from './report-html.js';
export * from './html.js';
export * from './skipped-rows.js';
