import { createHash } from 'node:crypto';
import { DailyBudget, type Spend, type SpendLedger } from '../../src/core/index.js';
import type { Caller, Role } from '../commands/index.js';

/**
 * Spending limits per UTC day; prices per million tokens. The day's tokens and dollars are
 * limited over all conversations, and tokens also per person and per role, so that one person
 * (or everyone of one role) cannot spend the assistant for everybody else.
 */
export interface ChatBudget {
  readonly tokensPerDay: number;
  readonly usdPerDay: number;
  readonly usdPerMillionPrompt: number;
  readonly usdPerMillionCompletion: number;
  /**
   * Tokens one person of a role may spend a day (0: that role gets the offline reader only); a role not named has no
   * limit of its own.
   */
  readonly tokensPerPersonPerDay?: Readonly<Partial<Record<Role, number>>>;
  /** Tokens all people of a role together may spend a day; a role not named shares only the global budget. */
  readonly tokensPerRolePerDay?: Readonly<Partial<Record<Role, number>>>;
}

/** Which budget is spent: the whole assistant's, the person's own, or their role's share. */
export type SpentBudget = 'global' | 'person' | 'role';

export interface ChatBudgetsDeps {
  readonly budget: ChatBudget;
  readonly now: () => number;
  /** Keeps the global day's spend across restarts (the store); unset: in memory only. */
  readonly spend?: SpendLedger;
  /** Keeps a person's (`person:<id>`) or a role's (`role:<role>`) spend across restarts; unset: in memory only. */
  readonly spendOf?: (key: string) => SpendLedger;
  /** Called when a new UTC day starts for the global budget. */
  readonly onNewDay?: () => void;
}

const SIMPLE_COMMANDS = 'simple commands still work (for example `status`, `portfolio`, `pnl today`, `buy ORCL 10`)';

/**
 * The chat agent's budgets: the global one and, per caller, their own and their role's. A model
 * call is reserved against every one that applies before it is made and settled with what it
 * cost after; the first one spent says why the offline reader answers. People are few (API tokens,
 * allowed bot users), so one budget each is kept for the day.
 */
export class ChatBudgets {
  readonly #global: DailyBudget;
  readonly #people = new Map<string, DailyBudget>();
  readonly #roles = new Map<Role, DailyBudget>();

  constructor(private readonly deps: ChatBudgetsDeps) {
    this.#global = new DailyBudget({
      tokensPerDay: deps.budget.tokensPerDay,
      usdPerDay: deps.budget.usdPerDay,
      now: deps.now,
      ...(deps.spend ? { ledger: deps.spend } : {}),
      ...(deps.onNewDay ? { onNewDay: deps.onNewDay } : {}),
    });
  }

  /** Today's spend over every conversation. */
  spent(): Spend {
    return this.#global.spent();
  }

  /** Today's spend of one person (zero when they have no limit of their own). */
  spentBy(caller: Caller): Spend {
    return this.#person(caller)?.spent() ?? { tokens: 0, usd: 0 };
  }

  /** Reads the spend saved before a restart (once a day each) for the budgets that apply to the caller. */
  async restore(caller: Caller): Promise<void> {
    await Promise.all(this.#applying(caller).map(([, b]) => b.restore()));
  }

  /** The first budget that applies to the caller and is spent, if any. */
  over(caller: Caller): SpentBudget | undefined {
    return this.#applying(caller).find(([, b]) => b.over())?.[0];
  }

  /** Counts an estimate against every budget that applies, before the call. */
  reserve(caller: Caller, estimate: Spend): Spend {
    for (const [, b] of this.#applying(caller)) b.reserve(estimate);
    return estimate;
  }

  /** Replaces the reservation with what the call cost, in every budget that applies. */
  settle(caller: Caller, reserved: Spend, actual: Spend): void {
    for (const [, b] of this.#applying(caller)) b.settle(reserved, actual);
  }

  /** What the person reads when `which` is spent. */
  notice(which: SpentBudget, caller: Caller): string {
    if (which === 'person') {
      const n = this.deps.budget.tokensPerPersonPerDay?.[caller.role] ?? 0;
      return n === 0
        ? `The assistant model is not offered to the ${caller.role} role (CHAT_TOKENS_PER_PERSON_PER_DAY); ${SIMPLE_COMMANDS}.`
        : `Your own daily assistant budget (${n.toLocaleString('en-US')} tokens for a ${caller.role}) is spent; ${SIMPLE_COMMANDS} until it resets at 00:00 UTC.`;
    }
    if (which === 'role') {
      const n = this.deps.budget.tokensPerRolePerDay?.[caller.role] ?? 0;
      return `The daily assistant budget shared by every ${caller.role} (${n.toLocaleString('en-US')} tokens) is spent; ${SIMPLE_COMMANDS} until it resets at 00:00 UTC.`;
    }
    return `The assistant's daily budget is spent; ${SIMPLE_COMMANDS} until it resets at 00:00 UTC.`;
  }

  #applying(caller: Caller): [SpentBudget, DailyBudget][] {
    const out: [SpentBudget, DailyBudget][] = [['global', this.#global]];
    const person = this.#person(caller);
    if (person) out.push(['person', person]);
    const role = this.#role(caller.role);
    if (role) out.push(['role', role]);
    return out;
  }

  #person(caller: Caller): DailyBudget | undefined {
    const limit = this.deps.budget.tokensPerPersonPerDay?.[caller.role];
    if (limit === undefined) return undefined;
    // keyed by role too: a person whose role changes gets that role's limit (their saved spend carries over)
    const key = `${caller.role}:${caller.id}`;
    let b = this.#people.get(key);
    if (!b) {
      b = this.#budget(limit, `person:${ledgerName(caller.id)}`);
      this.#people.set(key, b);
    }
    return b;
  }

  #role(role: Role): DailyBudget | undefined {
    const limit = this.deps.budget.tokensPerRolePerDay?.[role];
    if (limit === undefined) return undefined;
    let b = this.#roles.get(role);
    if (!b) {
      b = this.#budget(limit, `role:${role}`);
      this.#roles.set(role, b);
    }
    return b;
  }

  #budget(tokensPerDay: number, key: string): DailyBudget {
    const ledger = this.deps.spendOf?.(key);
    return new DailyBudget({ tokensPerDay, now: this.deps.now, ...(ledger ? { ledger } : {}) });
  }
}

/** A person's id as a ledger key: as it is when short and plain, else a digest (store keys become file names). */
function ledgerName(id: string): string {
  return /^[\w.:@-]{1,64}$/.test(id) ? id : `sha256-${createHash('sha256').update(id).digest('hex').slice(0, 32)}`;
}
