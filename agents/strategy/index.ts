/** The public entry of agents/strategy: what other folders may import from it (ARCHITECTURE.md). */
export * from './agent.js';
export * from './strategies.js';
export { builtinStrategies } from './builtins/index.js';
export * as sdk from './sdk/index.js';
export type { AnyStrategy, StrategyDefinition } from './sdk/index.js';
export { instancesOf } from './machine.js';
