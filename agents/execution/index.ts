/** The public entry of agents/execution: what other folders may import from it (ARCHITECTURE.md). */
export * from './agent.js';
export * from './broker.js';
export * from './paper-broker.js';
export * from './resilience.js';
