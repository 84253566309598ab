/** Lifecycle of one order. Terminal: filled, cancelled, rejected, expired. */
export const OrderStatus = {
  new: 'new',
  submitted: 'submitted',
  partiallyFilled: 'partially_filled',
  filled: 'filled',
  cancelled: 'cancelled',
  rejected: 'rejected',
  expired: 'expired',
} as const;
export type OrderStatus = (typeof OrderStatus)[keyof typeof OrderStatus];

const allowed: Record<OrderStatus, readonly OrderStatus[]> = {
  new: ['submitted', 'rejected', 'cancelled'],
  submitted: ['partially_filled', 'filled', 'cancelled', 'rejected', 'expired'],
  partially_filled: ['partially_filled', 'filled', 'cancelled', 'expired'],
  filled: [],
  cancelled: [],
  rejected: [],
  expired: [],
};

/** A transition the order lifecycle does not have: always a bug, never a business outcome. */
export class InvalidOrderTransitionError extends Error {
  readonly code = 'invalid_order_transition';
  readonly retryable = false;
  constructor(clientOrderId: string, from: OrderStatus, to: OrderStatus) {
    super(`order ${clientOrderId} cannot go from ${from} to ${to}`);
    this.name = 'InvalidOrderTransitionError';
  }
}

export const isTerminal = (s: OrderStatus) => allowed[s].length === 0;

/** The next status, or InvalidOrderTransitionError: invalid transitions cannot happen. */
export function transition(clientOrderId: string, from: OrderStatus, to: OrderStatus): OrderStatus {
  if (!allowed[from].includes(to)) throw new InvalidOrderTransitionError(clientOrderId, from, to);
  return to;
}
