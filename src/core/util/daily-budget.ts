/** What was spent on a UTC day (a chat model's or a scorer's tokens and dollars). */
export interface DailySpend {
  readonly day: number;
  readonly tokens: number;
  readonly usd: number;
}

/** An amount of tokens and dollars: what a model call is estimated to cost, or cost. */
export interface Spend {
  readonly tokens: number;
  readonly usd: number;
}

/**
 * Where a budget's spend is kept across restarts (the store: PersistedSpend in
 * src/infra/store/daily-spend.ts), so a restart or a crash loop does not start the day afresh.
 */
export interface SpendLedger {
  /** The spend saved for `day`, if any. */
  load(day: number): Promise<DailySpend | undefined>;
  /** Saves the day's spend (in order; a failure is the ledger's to report). */
  save(spend: DailySpend): void;
}

export interface DailyBudgetOptions {
  readonly tokensPerDay: number;
  /** Unset: no dollar limit (a scorer counts tokens only). */
  readonly usdPerDay?: number;
  /** Wall clock, epoch ms (the budget's UTC day). */
  readonly now: () => number;
  readonly ledger?: SpendLedger;
  /** Called when a new UTC day starts (per-day state of the owner: notices given, per-conversation use). */
  readonly onNewDay?: () => void;
}

const DAY_MS = 86_400_000;

/**
 * A daily model budget, shared by the chat agent and the LLM scorer: a call's likely cost is
 * reserved before it is made (concurrent calls cannot all slip under the limit; a failed call
 * still cost) and settled with what it did cost after. The spend resets at 00:00 UTC; with a
 * ledger, the day's spend saved before a restart counts too.
 */
export class DailyBudget {
  #day = -1;
  #restoredDay = -1;
  #tokens = 0;
  #usd = 0;

  constructor(private readonly options: DailyBudgetOptions) {}

  /** Today's UTC day number (starts a new day when the clock has passed midnight). */
  get day(): number {
    this.#roll();
    return this.#day;
  }

  /** Spent today. */
  spent(): Spend {
    this.#roll();
    return { tokens: this.#tokens, usd: this.#usd };
  }

  /** True when today's tokens or dollars are used up. */
  over(): boolean {
    this.#roll();
    return (
      this.#tokens >= this.options.tokensPerDay ||
      (this.options.usdPerDay !== undefined && this.#usd >= this.options.usdPerDay)
    );
  }

  /** Adds the day's spend saved before a restart (read once per day; a no-op without a ledger). */
  async restore(): Promise<void> {
    this.#roll();
    if (!this.options.ledger || this.#restoredDay === this.#day) return;
    const day = this.#day;
    const saved = await this.options.ledger.load(day);
    if (this.#restoredDay === day) return;
    this.#restoredDay = day;
    if (saved && this.#day === day) {
      this.#tokens += saved.tokens;
      this.#usd += saved.usd;
    }
  }

  /** Counts an estimate against today before the call is made; returns it for `settle`. */
  reserve(estimate: Spend): Spend {
    this.#roll();
    this.#tokens += estimate.tokens;
    this.#usd += estimate.usd;
    return estimate;
  }

  /** Replaces a reservation with what the call cost, and saves the day's spend. */
  settle(reserved: Spend, actual: Spend): void {
    this.#roll();
    this.#tokens = Math.max(0, this.#tokens + actual.tokens - reserved.tokens);
    this.#usd = Math.max(0, this.#usd + actual.usd - reserved.usd);
    this.options.ledger?.save({ day: this.#day, tokens: this.#tokens, usd: this.#usd });
  }

  #roll(): void {
    const day = Math.floor(this.options.now() / DAY_MS);
    if (day === this.#day) return;
    this.#day = day;
    this.#tokens = 0;
    this.#usd = 0;
    this.options.onNewDay?.();
  }
}
