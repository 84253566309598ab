import { AGENT_NAMES } from './subjects.js';

/** The processes of a deployment that are not agents: the event log's writer, the HTTP API (and chat), the bots. */
export const SERVICE_ROLES = ['recorder', 'api', 'bots'] as const;

/**
 * Who is on the bus: each agent, and each service process. In a deployment every role connects to
 * NATS as a user of its own, whose permissions (bus/nats-permissions.ts) are derived from the catalog's
 * `by` (src/core/domain/messages.ts): a process can publish only what its role may.
 */
export const BUS_ROLES = [...AGENT_NAMES, ...SERVICE_ROLES] as const;
export type BusRole = (typeof BUS_ROLES)[number];

/** The roles that take people's orders and commands (interfaces). */
export const PEOPLE_ROLES = ['api', 'bots'] as const satisfies readonly BusRole[];
