import { describe, expect, it } from 'vitest';
import { riskAgent } from '../../agents/risk/agent.js';
import type { RiskContext } from '../../agents/risk/machine.js';
import { unboundedLimits } from '../../agents/risk/limits.js';
import { MarketCache } from '../../src/core/agent/market-cache.js';
import { zeroCosts } from '../../src/core/domain/costs.js';
import { withLots } from '../../src/app/kernel/kernel.js';
import { venueRules } from '../../src/app/live/live-system.js';

describe("symbols' lot, minimum and tick rules", () => {
  it('the venue wins for a field it gives; what it leaves out stays as configured; other symbols stay', () => {
    expect(
      venueRules(
        { BTCUSDT: { lotSize: 0.001, minQty: 0.01, tickSize: 1 }, ORCL: { lotSize: 1 } },
        { BTCUSDT: { lotSize: 0.00001, tickSize: 0.01 }, ETHUSDT: { minQty: 0.0001 } },
      ),
    ).toEqual({
      BTCUSDT: { lotSize: 0.00001, minQty: 0.01, tickSize: 0.01 },
      ORCL: { lotSize: 1 },
      ETHUSDT: { minQty: 0.0001 },
    });
  });

  it("a strategy without lot sizes of its own rounds to the symbols' lots; its own win; without rules it is as given", () => {
    const limits = { ...unboundedLimits, symbolRules: { BTCUSDT: { lotSize: 0.0001 }, ORCL: { tickSize: 0.01 } } };
    const plain = { id: 'sma', strategy: 'sma-cross', params: { fast: 2, slow: 5, size: 1 } };
    expect(withLots(plain, limits)).toEqual({ ...plain, lotSizes: { BTCUSDT: 0.0001 } });
    expect(withLots([{ ...plain, lotSizes: { BTCUSDT: 0.01 } }], limits)).toEqual([
      { ...plain, lotSizes: { BTCUSDT: 0.01 } },
    ]);
    expect(withLots(plain, unboundedLimits)).toBe(plain);
  });

  it("risk resuming from a checkpoint takes this start's rules (config, the venue); its other limits stay as they were", () => {
    const limits = { ...unboundedLimits, lotSize: 1e-8, minQty: 1e-6, symbolRules: { BTCUSDT: { lotSize: 0.00001 } } };
    const spec = riskAgent({ limits, startCash: 1000, costs: zeroCosts }, new MarketCache());
    const saved = { limits: { ...unboundedLimits, maxOpenOrders: 3 }, tradingState: 'HALTED' } as RiskContext;
    expect(spec.upgrade!(saved)).toEqual({
      ...saved,
      limits: { ...saved.limits, lotSize: 1e-8, minQty: 1e-6, symbolRules: { BTCUSDT: { lotSize: 0.00001 } } },
    });
  });
});
