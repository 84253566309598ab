import { describe, expect, it } from 'vitest';
import { DailyBudget, type DailySpend, type SpendLedger } from '../../src/core/util/daily-budget.js';

const DAY = 86_400_000;

class MemoryLedger implements SpendLedger {
  saved: DailySpend[] = [];
  constructor(private readonly before?: DailySpend) {}
  load(day: number) {
    return Promise.resolve(this.before && this.before.day === day ? this.before : undefined);
  }
  save(spend: DailySpend) {
    this.saved.push(spend);
  }
}

describe('the daily model budget shared by the chat agent and the LLM scorer', () => {
  it('a reservation counts before the call and is replaced by what the call cost', () => {
    let now = 10 * DAY + 5;
    const budget = new DailyBudget({ tokensPerDay: 1_000, usdPerDay: 1, now: () => now });
    const held = budget.reserve({ tokens: 600, usd: 0.1 });
    expect(budget.spent()).toEqual({ tokens: 600, usd: 0.1 });
    budget.settle(held, { tokens: 450, usd: 0.05 });
    expect(budget.spent().tokens).toBe(450);
    expect(budget.spent().usd).toBeCloseTo(0.05, 12);
    expect(budget.over()).toBe(false);
    budget.settle(budget.reserve({ tokens: 100, usd: 0 }), { tokens: 600, usd: 0 });
    expect(budget.over()).toBe(true);
    now += DAY; // midnight UTC: a new day starts from zero
    expect(budget.over()).toBe(false);
    expect(budget.spent()).toEqual({ tokens: 0, usd: 0 });
  });

  it('the dollar limit stops spending even with tokens left; without one only tokens count', () => {
    const dollars = new DailyBudget({ tokensPerDay: 1_000_000, usdPerDay: 0.5, now: () => 0 });
    dollars.settle(dollars.reserve({ tokens: 10, usd: 0 }), { tokens: 10, usd: 0.5 });
    expect(dollars.over()).toBe(true);
    const tokens = new DailyBudget({ tokensPerDay: 100, now: () => 0 });
    tokens.settle(tokens.reserve({ tokens: 10, usd: 0 }), { tokens: 10, usd: 99 });
    expect(tokens.over()).toBe(false);
  });

  it("a restart counts the day's spend saved before it, once; another day's is ignored", async () => {
    const ledger = new MemoryLedger({ day: 3, tokens: 900, usd: 0.2 });
    const budget = new DailyBudget({ tokensPerDay: 1_000, now: () => 3 * DAY + 1, ledger });
    await budget.restore();
    await budget.restore();
    expect(budget.spent()).toEqual({ tokens: 900, usd: 0.2 });
    budget.settle(budget.reserve({ tokens: 50, usd: 0 }), { tokens: 100, usd: 0.01 });
    expect(budget.over()).toBe(true);
    expect(ledger.saved.at(-1)).toMatchObject({ day: 3, tokens: 1_000 });
    expect(ledger.saved.at(-1)!.usd).toBeCloseTo(0.21, 12);
    const nextDay = new DailyBudget({ tokensPerDay: 1_000, now: () => 4 * DAY, ledger });
    await nextDay.restore();
    expect(nextDay.spent()).toEqual({ tokens: 0, usd: 0 });
  });

  it("a new day tells the owner (the chat agent forgets the day's notices)", () => {
    let now = 0;
    let days = 0;
    const budget = new DailyBudget({ tokensPerDay: 1, now: () => now, onNewDay: () => days++ });
    budget.over();
    now = DAY - 1;
    budget.over();
    now = DAY;
    budget.over();
    expect(days).toBe(2);
  });
});
