import { GraphQLError, Kind, type SelectionSetNode, type ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Top-level fields one request may ask for. */
export const MAX_ROOT_FIELDS = 20;

/**
 * Each top-level field asks an agent (a bus request) and the rate limit counts a request once, so
 * a document of a thousand aliased `portfolio` fields would be a thousand requests for the price of
 * one: more than MAX_ROOT_FIELDS (fragments counted in) is a 400. Below the top level nothing asks
 * an agent, and no type nests itself, so depth needs no limit.
 */
export function maxRootFields(max: number): ValidationRule {
  return (context) => ({
    OperationDefinition(operation) {
      const count = (set: SelectionSetNode, spread: Set<string>): number =>
        set.selections.reduce((n, s) => {
          if (s.kind === Kind.FIELD) return n + (s.name.value.startsWith('__') ? 0 : 1);
          if (s.kind === Kind.INLINE_FRAGMENT) return n + count(s.selectionSet, spread);
          if (spread.has(s.name.value)) return n;
          spread.add(s.name.value);
          const fragment = context.getFragment(s.name.value);
          return fragment ? n + count(fragment.selectionSet, spread) : n;
        }, 0);
      const n = count(operation.selectionSet, new Set());
      if (n > max)
        context.reportError(
          new GraphQLError(
            `at most ${max} top-level fields in one request (this one asks for ${n}): each asks an agent`,
            { nodes: [operation] },
          ),
        );
    },
  });
}

export const limitRootFields: Plugin = {
  onValidate: ({ addValidationRule }) => addValidationRule(maxRootFields(MAX_ROOT_FIELDS)),
};
