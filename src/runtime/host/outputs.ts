import {
  type Bus,
  deriveEnvelope,
  messageLogFields,
  rootEnvelope,
  type Envelope,
  type EnvelopeDeps,
  subjectFor,
  versionOf,
  type MessageType,
  type PayloadOf,
  derivedId,
  derivedId3,
  type IdSeed,
  type Logger,
  type Outbound,
} from '../../core/index.js';

/** What a chained output needs of its parent; kept in checkpoints so chains survive a restart. */
export type ChainRef = Pick<Envelope, 'id' | 'correlationId' | 'time'>;

/** Outputs worth a line at info level: decisions and order outcomes, not market data or marks. */
const NOTABLE: ReadonlySet<string> = new Set([
  'signal.generated',
  'order.intent',
  'order.approved',
  'order.rejected',
  'order.submitted',
  'order.filled',
  'order.cancelled',
  'order.failed',
  'order.cancel',
  'order.cancel-approved',
  'order.cancel-rejected',
  'market.feed-completed',
  'risk.state',
  'risk.command-result',
  'sentiment.scored',
]);

export interface OutputPublisherDeps {
  readonly bus: Bus;
  readonly env: EnvelopeDeps;
  /** The hash of run and agent, which every derived id of this agent starts with. */
  readonly idSeed: IdSeed;
  readonly log: Logger;
  /** The level decisions and order outcomes are logged at (default info; a terminal narrating them says debug). */
  readonly notableLevel?: 'info' | 'debug';
}

/**
 * Turns an agent's outputs into envelopes on the bus. An output caused by a message gets an id
 * derived from run, agent, cause and its position in the step (so re-making it after a crash or
 * a redelivery gives the same id) and its causation from the message being handled, from the
 * previous output of the step (`chain: 'previous'`), or from the output last registered under a
 * key (`chain: { key }`: an order's submission, which its later fills chain to).
 */
export class OutputPublisher {
  /** Outputs registered under a key (an order's submission): later outputs of that key chain to them. */
  readonly chains = new Map<string, ChainRef>();
  #current: Envelope | undefined;
  /** The machine event type of the current step and the number of outputs it has made. */
  #stepEvent = '';
  #stepOutputs = 0;
  #previous: Envelope | undefined;
  /** Outputs of the current step, kept only while an inlet wants to reply with one. */
  #capture: Envelope[] | undefined;
  /** Debug lines are per message; the level is checked once, not per message. */
  readonly #debug: boolean;
  /** Notable outputs (orders, fills) are logged at `notableLevel`: their fields are gathered only when it is on. */
  readonly #notable: boolean;
  readonly #notableLevel: 'info' | 'debug';

  constructor(private readonly deps: OutputPublisherDeps) {
    this.#debug = deps.log.isLevelEnabled('debug');
    this.#notableLevel = deps.notableLevel ?? 'info';
    this.#notable = deps.log.isLevelEnabled(this.#notableLevel);
  }

  /** The message the current step handles (undefined between steps and for events sent directly). */
  get current(): Envelope | undefined {
    return this.#current;
  }

  /** A step begins: its outputs are caused by `cause` and named by its event type and their position. */
  beginStep(cause: Envelope | undefined, eventType: string): void {
    this.#current = cause;
    this.#stepEvent = eventType;
    this.#stepOutputs = 0;
    this.#previous = undefined;
  }

  endStep(): void {
    this.#current = undefined;
    this.#previous = undefined;
  }

  /** Keeps the outputs published from now on (an inlet that replies with one of them). */
  capture(): void {
    this.#capture = [];
  }

  /** The outputs kept since `capture`; stops keeping them. */
  captured(): Envelope[] {
    const out = this.#capture ?? [];
    this.#capture = undefined;
    return out;
  }

  publish(o: Outbound): void {
    let env: Envelope;
    if (o.root || (!this.#current && !o.chain && !o.cause)) {
      env = rootEnvelope(this.deps.env, o.type, o.payload, {
        v: versionOf(o.type),
        ...(o.time !== undefined ? { time: o.time } : {}),
      });
    } else {
      const parent: ChainRef | undefined = o.cause
        ? { id: o.cause.id, correlationId: o.cause.correlationId, time: o.cause.time }
        : o.chain === 'previous'
          ? (this.#previous ?? this.#current)
          : o.chain
            ? (this.chains.get(o.chain.key) ?? this.#current)
            : this.#current;
      if (!parent) {
        // a chain lost (it cannot happen with checkpoints, which keep chains): publish it as a root rather than lose it
        this.deps.log.warn(
          { type: o.type, chain: o.chain },
          'output has no cause to derive from; published as the root of a chain of its own',
        );
        this.publish({ ...o, root: true } as Outbound);
        return;
      }
      const time = o.time ?? parent.time;
      // the step's cause (not the chain parent) plus the position in the step names the output
      // a deferred output: the id it would have had as the first output of a step handling its cause
      const id = o.cause
        ? derivedId3(this.deps.idSeed, time, o.cause.id, o.cause.event, 0)
        : this.#current
          ? derivedId3(this.deps.idSeed, time, this.#current.id, this.#stepEvent, this.#stepOutputs++)
          : undefined;
      env = deriveEnvelope(this.deps.env, parent, o.type, o.payload, {
        v: versionOf(o.type),
        time,
        ...(id ? { id } : {}),
      });
    }
    this.deps.bus.publish(subjectFor(o.type, o.payload as never), env);
    this.#capture?.push(env);
    if (this.#notable && NOTABLE.has(o.type))
      this.deps.log[this.#notableLevel]({ ...messageLogFields(env), payload: env.payload }, o.type);
    else if (this.#debug) this.deps.log.debug(messageLogFields(env), o.type);
    this.#previous = env;
    if (o.key) this.chains.set(o.key, { id: env.id, correlationId: env.correlationId, time: env.time });
    if (o.release) this.chains.delete(o.release);
  }

  /** A root message of the agent's own (health, a feed's bars); with `key`, its id is derived from it. */
  publishRoot<T extends MessageType>(type: T, payload: PayloadOf<T>, time: number, key?: string): Envelope {
    const id = key === undefined ? undefined : derivedId(time, ['root', type, key], this.deps.idSeed);
    const env = rootEnvelope(this.deps.env, type, payload, { v: versionOf(type), time, ...(id ? { id } : {}) });
    this.deps.bus.publish(subjectFor(type, payload), env);
    return env;
  }
}
