/** The public entry of interfaces/commands: what other folders may import from it (ARCHITECTURE.md). */
export * from './agent-tracker.js';
export * from './market-clock.js';
export * from './registry.js';
export * from './router.js';
export * from './services.js';
export * from './amount.js';
