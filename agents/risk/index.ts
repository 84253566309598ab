/** The public entry of agents/risk: what other folders may import from it (ARCHITECTURE.md). */
export * from './agent.js';
export * from './checks.js';
export * from './limits.js';
