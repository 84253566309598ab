import { instanceOf, isStrategyPath, strategyStem, type StrategyParams } from '../../../agents/strategy/index.js';
import { loadStrategyFile, type LoadOptions } from '../../infra/strategies/index.js';

/** One instance, or several (a strategies file): what a system's strategy agent runs. */
export type Strategies = StrategyParams | readonly StrategyParams[];

/**
 * The instance with its strategy file (if it names one) loaded and registered: `strategy`
 * becomes the file's absolute path (the key instances run it by) and, unless the instance was
 * given an id of its own, the id is the strategy's name. Built-ins pass through unchanged.
 */
export async function loadStrategyOf(params: StrategyParams, options: LoadOptions = {}): Promise<StrategyParams> {
  if ('kind' in params || !isStrategyPath(params.strategy)) return params;
  const inst = instanceOf(params);
  const { key, definition } = await loadStrategyFile(inst.strategy, options);
  return { ...inst, strategy: key, id: inst.id === strategyStem(inst.strategy) ? definition.name : inst.id };
}

/** Every instance's strategy file loaded (see loadStrategyOf), in order. */
export async function loadStrategies(strategies: Strategies, options: LoadOptions = {}): Promise<Strategies> {
  if (!Array.isArray(strategies)) return loadStrategyOf(strategies as StrategyParams, options);
  const loaded: StrategyParams[] = [];
  for (const s of strategies as readonly StrategyParams[]) loaded.push(await loadStrategyOf(s, options));
  return loaded;
}
