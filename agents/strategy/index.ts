/** The public entry of agents/strategy: what other folders may import from it (ARCHITECTURE.md). */
export * from './agent.js';
export * from './strategies.js';
