/** The public entry of agents/portfolio: what other folders may import from it (ARCHITECTURE.md). */
export * from './agent.js';
