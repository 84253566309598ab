import { z } from 'zod';
import { NoRespondersError, RequestTimeoutError } from '../../bus/index.js';

/** Who may do what: viewers read, operators trade and halt, admins change limits. */
export type Role = 'viewer' | 'operator' | 'admin';
export const ROLE_RANK: Readonly<Record<Role, number>> = { viewer: 0, operator: 1, admin: 2 };

/** The person behind a command, as the adapter (REPL, Telegram, Discord, HTTP) identified them. */
export interface Caller {
  /** Stable id from the adapter, e.g. `telegram:42`, `repl:local`. */
  readonly id: string;
  readonly role: Role;
}

/** What a dangerous command would do, waiting for the person to confirm it. */
export interface PreviewInfo {
  readonly id: string;
  readonly command: string;
  readonly summary: string;
  /** The risk pre-check of an order: would it pass, and if not, which limit it hits. */
  readonly check?: { readonly wouldPass: boolean; readonly code?: string; readonly reason?: string };
  readonly expiresAt: number;
}

/** Every command answers with plain data and a text rendering of it; adapters only format. */
export interface Reply {
  readonly ok: boolean;
  readonly text: string;
  readonly data?: unknown;
  readonly preview?: PreviewInfo;
  /** A stable code when not ok (`unknown_command`, `bad_arguments`, `forbidden`, ...). */
  readonly code?: string;
}

/** A prepared dangerous command: shown first, executed once on confirm. */
export interface Prepared {
  readonly summary: string;
  readonly check?: PreviewInfo['check'];
  readonly execute: () => Promise<Reply>;
}

export interface CommandSpec<A = unknown, S = unknown> {
  readonly name: string;
  readonly aliases?: readonly string[];
  readonly summary: string;
  readonly usage: string;
  readonly role: Role;
  /** The arguments as an object (also the schema an LLM tool call is validated with). */
  readonly args: z.ZodType<A>;
  /** Maps the words after the command name to the argument object (before validation). */
  readonly fromWords?: (words: readonly string[]) => unknown;
  /** A safe command: runs at once. */
  readonly run?: (services: S, args: A, caller: Caller) => Promise<Reply>;
  /** A dangerous command (orders, halt, limits): prepared into a preview, executed on confirm. */
  readonly prepare?: (services: S, args: A, caller: Caller) => Promise<Prepared>;
}

export interface RouterOptions {
  /** How long a preview can be confirmed. */
  readonly previewTtlMs: number;
  /** Longest message accepted. */
  readonly maxMessageChars: number;
  readonly now: () => number;
  /** Preview ids (short, typeable). */
  readonly newId: () => string;
}

/** A tool the conversational agent may call: a command the caller is allowed to use. */
export interface ToolSpec {
  readonly name: string;
  readonly description: string;
  readonly schema: z.ZodType;
  /** True when calling it only makes a preview the person must confirm. */
  readonly dangerous: boolean;
}

const fail = (code: string, text: string): Reply => ({ ok: false, code, text });

/**
 * A person's mistake a command finds while it prepares or runs (closing a position that is not
 * held, a part too small to trade): answered with its code, as a refusal, never as a failure of
 * ours. Anything else a command throws is a fault (`failed`).
 */
export class CommandRefusal extends Error {
  constructor(
    /** Stable code: `no_position`, `too_small`, ... */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CommandRefusal';
  }
}

/** A thrown error as a reply: a person's mistake keeps its code; our faults say which part failed. */
function failure(command: string, err: unknown): Reply {
  if (err instanceof CommandRefusal) return fail(err.code, err.message);
  if (err instanceof NoRespondersError)
    return fail('unavailable', `${command} failed: no agent answers (is it running?)`);
  if (err instanceof RequestTimeoutError)
    return fail('timeout', `${command} failed: the agents did not answer in time`);
  return fail('failed', `${command} failed: ${(err as Error).message}`);
}

/** Previews one caller may have waiting at once. */
export const MAX_PENDING_PER_CALLER = 20;

/**
 * The one command router: Telegram, Discord, HTTP, the REPL and the conversational agent all
 * go through it. It parses a text command (`/buy ORCL 10`), checks the caller's role, validates
 * the arguments with the command's zod schema, and runs it. A dangerous command answers with a
 * preview (what would be sent, the risk pre-check); only `confirm <id>` by the same person
 * within the TTL executes it, exactly once.
 */
export class CommandRouter<S> {
  readonly #byName = new Map<string, CommandSpec<unknown, S>>();
  readonly #pending = new Map<string, { caller: string; expiresAt: number; prepared: Prepared; command: string }>();

  constructor(
    private readonly services: S,
    readonly specs: readonly CommandSpec<unknown, S>[],
    private readonly options: RouterOptions,
  ) {
    for (const spec of specs as readonly CommandSpec<unknown, S>[]) {
      for (const n of [spec.name, ...(spec.aliases ?? [])]) this.#byName.set(n.toLowerCase(), spec);
    }
  }

  /** A text command from a person: `/name args...` or `name args...`, and `confirm <id>`. */
  async handle(text: string, caller: Caller): Promise<Reply> {
    if (text.length > this.options.maxMessageChars)
      return fail(
        'too_long',
        `That message is ${text.length} characters; the limit is ${this.options.maxMessageChars}.`,
      );
    const words = text
      .trim()
      .split(/\s+/)
      .filter((w) => w.length > 0);
    if (words.length === 0) return fail('empty', 'Say a command, e.g. `help`, `status` or `buy ORCL 10`.');
    const name = words[0]!.replace(/^\//, '').replace(/@\S+$/, '').toLowerCase(); // `/status@SextantBot` in groups
    if (name === 'help') return this.help(caller);
    if (name === 'confirm')
      return words[1] ? this.confirm(words[1], caller) : fail('bad_arguments', 'Usage: confirm <preview id>');
    if (name === 'cancel')
      return words[1] ? this.cancel(words[1], caller) : fail('bad_arguments', 'Usage: cancel <preview id>');
    const spec = this.#byName.get(name);
    if (!spec) return fail('unknown_command', `I do not know "${name.slice(0, 40)}". ${this.#helpLine(caller)}`);
    return this.#run(spec, spec.fromWords ? spec.fromWords(words.slice(1)) : {}, caller);
  }

  /** True when `name` is a command (or alias, or confirm/cancel/help) this router knows. */
  knows(name: string): boolean {
    const n = name.replace(/^\//, '').toLowerCase();
    return this.#byName.has(n) || n === 'confirm' || n === 'cancel' || n === 'help';
  }

  /** A structured call (the conversational agent's tools, HTTP): arguments as an object. */
  async invoke(name: string, args: unknown, caller: Caller): Promise<Reply> {
    const spec = this.#byName.get(name.toLowerCase());
    if (!spec) return fail('unknown_command', `There is no command "${name.slice(0, 40)}".`);
    return this.#run(spec, args ?? {}, caller);
  }

  /** The commands the caller may use, as tools (dangerous ones only prepare previews). */
  tools(caller: Caller): ToolSpec[] {
    return this.specs
      .filter((s) => ROLE_RANK[caller.role] >= ROLE_RANK[s.role])
      .map((s) => ({
        name: s.name,
        description: `${s.summary} Usage: ${s.usage}`,
        schema: s.args,
        dangerous: s.prepare !== undefined,
      }));
  }

  /** The caller's previews waiting for their confirm (not expired), oldest first. */
  pending(caller: Caller): PreviewInfo[] {
    this.#sweep();
    return [...this.#pending]
      .filter(([, p]) => p.caller === caller.id)
      .map(([id, p]) => ({
        id,
        command: p.command,
        summary: p.prepared.summary,
        ...(p.prepared.check ? { check: p.prepared.check } : {}),
        expiresAt: p.expiresAt,
      }));
  }

  /** Executes a preview, once, for the person it was shown to, within its TTL. */
  async confirm(id: string, caller: Caller): Promise<Reply> {
    const p = this.#pending.get(id);
    if (!p || p.caller !== caller.id)
      return fail(
        'no_preview',
        `There is no preview ${id.slice(0, 40)} waiting for you (it was confirmed already, cancelled, or never shown to you).`,
      );
    this.#pending.delete(id); // before executing: a second confirm finds nothing
    if (this.options.now() > p.expiresAt) return fail('expired', `Preview ${id} expired; ask again for a fresh one.`);
    try {
      return await p.prepared.execute();
    } catch (err) {
      return failure(p.command, err);
    }
  }

  cancel(id: string, caller: Caller): Reply {
    const p = this.#pending.get(id);
    if (!p || p.caller !== caller.id)
      return fail('no_preview', `There is no preview ${id.slice(0, 40)} waiting for you.`);
    this.#pending.delete(id);
    return { ok: true, text: `Cancelled ${id}: ${p.prepared.summary}. Nothing was sent.` };
  }

  help(caller: Caller): Reply {
    const usable = this.specs.filter((s) => ROLE_RANK[caller.role] >= ROLE_RANK[s.role]);
    const lines = usable.map(
      (s) => `${s.usage.padEnd(34)} ${s.summary}${s.aliases?.length ? ` (also: ${s.aliases.join(', ')})` : ''}`,
    );
    return {
      ok: true,
      text: ['Commands:', ...lines, 'confirm <id> / cancel <id>          confirm or drop a preview'].join('\n'),
      data: usable.map((s) => ({ name: s.name, usage: s.usage, role: s.role })),
    };
  }

  #helpLine(caller: Caller): string {
    const names = this.specs.filter((s) => ROLE_RANK[caller.role] >= ROLE_RANK[s.role]).map((s) => s.name);
    return `Try: ${names.join(', ')}.`;
  }

  async #run(spec: CommandSpec<unknown, S>, raw: unknown, caller: Caller): Promise<Reply> {
    if (ROLE_RANK[caller.role] < ROLE_RANK[spec.role])
      return fail('forbidden', `${spec.name} needs the ${spec.role} role; you have ${caller.role}.`);
    const parsed = spec.args.safeParse(raw);
    if (!parsed.success) {
      return fail('bad_arguments', `${forPeople(parsed.error.issues)}. Usage: ${spec.usage}`);
    }
    try {
      if (spec.run) return await spec.run(this.services, parsed.data, caller);
      const prepared = await spec.prepare!(this.services, parsed.data, caller);
      this.#sweep();
      // one person's pending previews are bounded: the oldest gives way (it can no longer be confirmed)
      const mine = [...this.#pending].filter(([, p]) => p.caller === caller.id);
      if (mine.length >= MAX_PENDING_PER_CALLER) this.#pending.delete(mine[0]![0]);
      const id = this.options.newId();
      const expiresAt = this.options.now() + this.options.previewTtlMs;
      this.#pending.set(id, { caller: caller.id, expiresAt, prepared, command: spec.name });
      const check = prepared.check;
      const checkLine = check
        ? check.wouldPass
          ? 'Risk pre-check: would pass.'
          : `Risk pre-check: would be refused (${check.code}: ${check.reason}).`
        : '';
      return {
        ok: true,
        text: [
          `Preview ${id}: ${prepared.summary}`,
          checkLine,
          `Reply "confirm ${id}" within ${Math.round(this.options.previewTtlMs / 1000)} s to send it, or "cancel ${id}".`,
        ]
          .filter(Boolean)
          .join('\n'),
        preview: { id, command: spec.name, summary: prepared.summary, ...(check ? { check } : {}), expiresAt },
      };
    } catch (err) {
      return failure(spec.name, err);
    }
  }

  /** Drops expired previews (bounded memory). */
  #sweep(): void {
    const now = this.options.now();
    for (const [id, p] of this.#pending) if (now > p.expiresAt) this.#pending.delete(id);
  }
}

/** A command with its argument type checked, stored alongside commands of other argument types. */
export function defineCommand<A, S>(spec: CommandSpec<A, S>): CommandSpec<unknown, S> {
  return spec as unknown as CommandSpec<unknown, S>;
}

/** An empty argument object (commands without arguments). */
export const noArgs = z.object({}).strict();

/** What is wrong with a command's arguments, said for a person (not a schema's words). */
function forPeople(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      const field = i.path.map(String).join('.') || 'arguments';
      if (i.code === 'unrecognized_keys') return 'too many words';
      const missing = (x: z.core.$ZodIssue): boolean =>
        (x.code === 'invalid_type' && /received undefined/.test(x.message)) ||
        (x.code === 'invalid_union' && x.errors.every((branch) => branch.some(missing)));
      if (missing(i)) return `${field}: missing`;
      if ((i.code === 'invalid_type' && i.expected === 'number') || i.code === 'invalid_union')
        return `${field}: not a number`;
      return `${field}: ${i.message}`;
    })
    .join('; ');
}
