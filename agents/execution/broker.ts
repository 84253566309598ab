import type { OrderIntent } from '../../src/core/index.js';
import { BrokerError } from './resilience.js';

/** The venue's acknowledgement of an order. */
export interface BrokerAck {
  readonly brokerOrderId: string;
}

/**
 * The broker port. `submit` may answer synchronously (the paper broker) or with a promise (a
 * live venue); it must be idempotent by client order id (a retried submit of the same order is
 * one order at the venue). Fills from a live venue would arrive as events through the same
 * port; the paper broker's fills are simulated from market data inside the execution machine.
 */
export interface BrokerPort {
  readonly name: string;
  /**
   * Who fills orders: `simulated` (the paper broker: the execution machine fills them from
   * market data) or `venue` (a live venue: execution polls `report` for what it filled).
   */
  readonly fills: 'simulated' | 'venue';
  submit(order: OrderIntent): BrokerAck | Promise<BrokerAck>;
  /**
   * Cancels a working order at the venue and reports its state after (venue fills only; the paper
   * broker's orders are cancelled by the execution machine itself). Idempotent: an order already
   * over is not an error, its final state is reported. A broker without it cannot cancel: a cancel
   * request is then refused (`unsupported`).
   */
  cancelOrder?(order: OrderIntent, brokerOrderId: string): Promise<VenueReport>;
  /** A venue's view of an order (venue fills only). */
  report?(order: OrderIntent, brokerOrderId: string): Promise<VenueReport>;
  /**
   * A venue that pushes order updates (Alpaca's trade-updates stream): `listener` gets an order's
   * cumulative state each time the venue tells it, by client order id; returns the unsubscribe.
   * Execution hands them to its machine like polled reports, so an update delivered twice, or
   * again after a reconnect, changes nothing.
   */
  updates?(listener: (clientOrderId: string, report: VenueReport) => void): () => void;
  /** The latest pushed state of an order: what arrived before its acknowledgement was handled. */
  lastReport?(clientOrderId: string): VenueReport | undefined;
  /**
   * How the venue trades each of `symbols`, as far as it says (its market precision and limits):
   * what risk's lot, minimum and tick rules take (a live venue only).
   */
  symbolRules?(symbols: readonly string[]): Promise<Record<string, VenueSymbolRule>>;
}

/** A venue's rule for one symbol: quantity step, smallest order quantity, price step (each when known). */
export interface VenueSymbolRule {
  readonly lotSize?: number;
  readonly minQty?: number;
  readonly tickSize?: number;
}

/** What a venue says about one order: cumulative fill, average price, total fee, status. */
export interface VenueReport {
  readonly status: 'open' | 'closed' | 'canceled' | 'expired' | 'rejected';
  readonly filled: number;
  readonly average: number | undefined;
  /** Total fee so far in the quote currency, when the venue reports one. */
  readonly fee?: number;
}

/** Fault injection for tests: fail a share of calls, add latency. Deterministic for a seed. */
export interface PaperFaults {
  /** Share of calls that fail (retryably), 0..1. */
  readonly failRate: number;
  /** Latency range of each call, ms; 0 answers synchronously. */
  readonly minLatencyMs: number;
  readonly maxLatencyMs: number;
  readonly random: () => number;
}

/**
 * The paper broker's order desk: acknowledges every order at once, idempotently by client
 * order id. With faults it fails some calls and answers late, like a real venue on a bad day.
 */
export class PaperBroker implements BrokerPort {
  readonly name = 'paper';
  readonly fills = 'simulated' as const;
  readonly #acked = new Map<string, BrokerAck>();
  calls = 0;

  constructor(private readonly faults?: PaperFaults) {}

  submit(order: OrderIntent): BrokerAck | Promise<BrokerAck> {
    this.calls++;
    const answer = (): BrokerAck => {
      let ack = this.#acked.get(order.clientOrderId);
      if (!ack) this.#acked.set(order.clientOrderId, (ack = { brokerOrderId: `paper-${order.clientOrderId}` }));
      return ack;
    };
    const f = this.faults;
    if (!f) return answer();
    const fails = f.random() < f.failRate;
    const latency = f.minLatencyMs + Math.floor(f.random() * (f.maxLatencyMs - f.minLatencyMs + 1));
    if (latency === 0) {
      if (fails) throw new BrokerError('venue_unavailable', 'paper broker fault: venue unavailable', true);
      return answer();
    }
    return new Promise((resolve, reject) =>
      setTimeout(
        () =>
          fails
            ? reject(new BrokerError('venue_unavailable', 'paper broker fault: venue unavailable', true))
            : resolve(answer()),
        latency,
      ),
    );
  }

  /** Orders the desk has acknowledged (each once, however often it was asked). */
  get acknowledged(): number {
    return this.#acked.size;
  }
}
