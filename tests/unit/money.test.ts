import { describe, expect, it } from 'vitest';
import { roundMoney } from '../../interfaces/http/money.js';

describe('money in API answers is shown to the cent (interfaces/http/money.ts)', () => {
  it('rounds amounts of money, at any depth, and leaves prices, quantities and ratios alone', () => {
    const snapshot = {
      cash: 99_993.8 + 1e-9,
      equity: 100_000.004999,
      dayPnl: -6.199999999999761,
      pnl: { day: -6.199999999999761, week: 0.005, month: -0.005, all: 1.0049999 },
      drawdown: 0.000123456789,
      positions: [
        {
          symbol: 'SYN',
          qty: 0.123456,
          avgPrice: 100.123456,
          lastPrice: 100.654321,
          unrealizedPnl: 0.06543210001,
          realizedPnl: 0,
          marketValue: 12.3456,
        },
      ],
      asOf: 1_700_000_000_123,
    };
    expect(roundMoney(snapshot)).toEqual({
      cash: 99_993.8,
      equity: 100_000,
      dayPnl: -6.2,
      pnl: { day: -6.2, week: 0.01, month: -0.01, all: 1 },
      drawdown: 0.000123456789,
      positions: [
        {
          symbol: 'SYN',
          qty: 0.123456,
          avgPrice: 100.123456,
          lastPrice: 100.654321,
          unrealizedPnl: 0.07,
          realizedPnl: 0,
          marketValue: 12.35,
        },
      ],
      asOf: 1_700_000_000_123,
    });
    expect(roundMoney([{ price: 1.23456789, fee: 0.004999999 }])).toEqual([{ price: 1.23456789, fee: 0 }]);
  });
});
