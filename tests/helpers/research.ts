import { csvFeed, readAll } from '../../agents/data/index.js';
import { paperLimits } from '../../src/app/backtest/index.js';
import type { TrialSetup } from '../../src/app/research/index.js';
import { zeroCosts } from '../../src/core/index.js';
import { sharedFile } from './test-data.js';

/** ORCL 1995-2014 daily bars, read once per test file. */
export const orclItems = () => readAll(csvFeed({ file: sharedFile('market/orcl-1995-2014.csv'), symbol: 'ORCL' }));

/** SMA cross of 100 shares on 100,000 under the paper limits, no costs: the reference setup. */
export const smaSetup: TrialSetup = {
  strategy: { id: 'sma-cross', strategy: 'sma-cross', params: { size: 100 } },
  cash: 100_000,
  costs: zeroCosts,
  limits: paperLimits(),
  riskMode: 'paper',
};
