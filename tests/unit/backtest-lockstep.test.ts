import { describe, expect, it } from 'vitest';
import { wantsBrackets } from '../../src/app/backtest/run-backtest.js';

describe('which NATS backtests run lockstep by themselves', () => {
  it('an instance whose params ask for a bracket (stopLoss, takeProfit or their prices) turns it on; others do not', () => {
    const ema = (params: Record<string, unknown>) => ({ id: 'e', strategy: 'ema-cross', params });
    expect(wantsBrackets(ema({ fast: 12, slow: 26, stopLoss: 0.05 }))).toBe(true);
    expect(wantsBrackets(ema({ takeProfitPrice: 120 }))).toBe(true);
    expect(wantsBrackets(ema({ fast: 12, slow: 26 }))).toBe(false);
    expect(wantsBrackets(ema({ stopLoss: 0 }))).toBe(false);
    expect(wantsBrackets([{ kind: 'sma-cross', id: 's', fast: 10, slow: 30, size: 100 }, ema({ stopLoss: 0.1 })])).toBe(
      true,
    );
    expect(wantsBrackets({ kind: 'sma-cross', id: 's', fast: 10, slow: 30, size: 100 })).toBe(false);
  });
});
