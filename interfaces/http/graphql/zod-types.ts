import {
  GraphQLBoolean,
  GraphQLEnumType,
  GraphQLFloat,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLString,
  valueFromASTUntyped,
  type GraphQLFieldConfigArgumentMap,
  type GraphQLFieldConfigMap,
  type GraphQLInputType,
  type GraphQLNullableType,
  type GraphQLOutputType,
} from 'graphql';
import { z } from 'zod';

/**
 * GraphQL types made from the zod schemas the rest of Sextant validates with (the message catalog,
 * the store's documents, the REST query schemas), so a field added to a schema appears in GraphQL
 * too. The mapping:
 * - string → String; boolean → Boolean; number → Int when it is an integer within 32 bits (GraphQL's
 *   Int), else Float (epoch milliseconds do not fit an Int);
 * - an enum → a GraphQL enum, named by its values (`buy, sell` is `Side` wherever it appears);
 * - an object → an object type, named after a known schema or its field (`Portfolio.pnl` → `PortfolioPnl`);
 * - optional or nullable → a nullable field; everything else is non-null;
 * - records, unions and unknown values → the `JSON` scalar (their keys are names chosen at run time:
 *   symbols, limits, indicators).
 */

/** Any JSON value: records keyed by run-time names (symbols, limits, indicators) and message payloads. */
export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value: records keyed by names known only at run time (symbols, limits), message payloads.',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});

const INT32_MAX = 2 ** 31 - 1;
const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

const pascal = (s: string) =>
  s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');

const nullable = <T extends GraphQLNullableType>(t: T | GraphQLNonNull<T>): T =>
  t instanceof GraphQLNonNull ? (t.ofType as T) : t;

const isInt32 = (n: z.ZodNumber) =>
  n.isInt && (n.minValue ?? -Infinity) >= -INT32_MAX - 1 && (n.maxValue ?? Infinity) <= INT32_MAX;

export interface TypeNames {
  /** Object schemas by the type name they take wherever they appear. */
  readonly objects: ReadonlyMap<z.ZodType, string>;
  /** Enum type names by their values joined with `,` (`buy,sell` → `Side`). */
  readonly enums: Readonly<Record<string, string>>;
}

/** Makes (and keeps, one per name) the GraphQL types of zod schemas. */
export class ZodGraphqlTypes {
  readonly #objects = new Map<string, { schema: z.ZodType; type: GraphQLObjectType }>();
  /** One type per schema: a nested object met again (`pnl` of a book and of the account) is the same type. */
  readonly #bySchema = new Map<z.ZodType, GraphQLObjectType>();
  readonly #enums = new Map<string, GraphQLEnumType>();

  constructor(private readonly names: TypeNames) {}

  /**
   * The object type of `schema`, named `name`; `extra` adds fields the schema does not have (hand-written,
   * with their resolvers). A name stands for one schema: asking for it with another is a mistake.
   */
  object(
    name: string,
    schema: z.ZodObject,
    options: { description?: string; extra?: () => GraphQLFieldConfigMap<unknown, unknown> } = {},
  ): GraphQLObjectType {
    const known = this.#objects.get(name);
    if (known) {
      if (known.schema !== schema) throw new Error(`two different schemas are both named ${name} in GraphQL`);
      return known.type;
    }
    const type = new GraphQLObjectType({
      name,
      ...(options.description ? { description: options.description } : {}),
      fields: () => ({
        ...Object.fromEntries(
          Object.entries(schema.shape).map(([field, s]) => [
            field,
            { type: this.output(s as z.ZodType, `${name}${pascal(field)}`) },
          ]),
        ),
        ...options.extra?.(),
      }),
    });
    this.#objects.set(name, { schema, type });
    this.#bySchema.set(schema, type);
    return type;
  }

  /** The output type of a field; `where` names a nested object or enum that has no name of its own. */
  output(schema: z.ZodType, where: string): GraphQLOutputType {
    if (schema instanceof z.ZodOptional || schema instanceof z.ZodNullable)
      return nullable(this.output(schema.unwrap() as z.ZodType, where));
    // a default is always there once parsed
    if (schema instanceof z.ZodDefault || schema instanceof z.ZodReadonly || schema instanceof z.ZodCatch)
      return this.output(schema.unwrap() as z.ZodType, where);
    if (schema instanceof z.ZodPipe)
      return this.output((schema.out instanceof z.ZodTransform ? JSONish : schema.out) as z.ZodType, where);
    return new GraphQLNonNull(this.#named(schema, where));
  }

  /**
   * Arguments from a query schema (the REST API's, validated on strings): each field an argument of
   * the type its value means (`limit: Int = 100`, `newest: Boolean`, `from: String` for a time
   * given as epoch milliseconds or ISO-8601). Every argument is optional as in a URL query.
   */
  args(schema: z.ZodObject, where: string): GraphQLFieldConfigArgumentMap {
    return Object.fromEntries(
      Object.entries(schema.shape).map(([field, s]) => {
        let inner = s as z.ZodType;
        let defaultValue: unknown;
        for (;;) {
          if (inner instanceof z.ZodOptional || inner instanceof z.ZodNullable) inner = inner.unwrap() as z.ZodType;
          else if (inner instanceof z.ZodDefault) {
            defaultValue = inner.def.defaultValue;
            inner = inner.unwrap() as z.ZodType;
          } else break;
        }
        // a URL string parsed into a number or a boolean takes that type; a string turned into
        // something else (a time) stays a string
        if (inner instanceof z.ZodPipe)
          inner = (
            inner.out instanceof z.ZodNumber || inner.out instanceof z.ZodBoolean ? inner.out : inner.in
          ) as z.ZodType;
        const type = this.#named(inner, `${where}${pascal(field)}`) as GraphQLInputType;
        return [field, { type, ...(defaultValue !== undefined ? { defaultValue } : {}) }];
      }),
    );
  }

  #named(schema: z.ZodType, where: string): GraphQLOutputType & GraphQLNullableType {
    if (schema instanceof z.ZodString) return GraphQLString;
    if (schema instanceof z.ZodBoolean) return GraphQLBoolean;
    if (schema instanceof z.ZodNumber) return isInt32(schema) ? GraphQLInt : GraphQLFloat;
    if (schema instanceof z.ZodLiteral) {
      const kinds = new Set([...schema.values].map((v) => typeof v));
      if (kinds.size === 1 && kinds.has('boolean')) return GraphQLBoolean;
      if (kinds.size === 1 && kinds.has('string')) return GraphQLString;
      if (kinds.size === 1 && kinds.has('number')) return GraphQLFloat;
    }
    if (schema instanceof z.ZodEnum) return this.#enum(schema.options.map(String), where);
    if (schema instanceof z.ZodArray) return new GraphQLList(this.output(schema.element as z.ZodType, where));
    if (schema instanceof z.ZodObject)
      return this.#bySchema.get(schema) ?? this.object(this.names.objects.get(schema) ?? where, schema);
    return JSONScalar;
  }

  #enum(values: readonly string[], where: string): GraphQLEnumType | GraphQLScalarType {
    // a value GraphQL cannot name (`order.*`) keeps the enum a string
    if (!values.every((v) => NAME.test(v))) return GraphQLString;
    const key = values.join(',');
    const name = this.names.enums[key] ?? where;
    let type = this.#enums.get(key);
    if (!type) {
      type = new GraphQLEnumType({ name, values: Object.fromEntries(values.map((v) => [v, { value: v }])) });
      this.#enums.set(key, type);
    }
    return type;
  }
}

/** What a transform makes is not known from its schema: any JSON. */
const JSONish = z.unknown();

/**
 * GraphQL arguments as the strings a URL query carries, so the REST query schemas validate them
 * exactly as they validate `?limit=5&from=2026-12-07`; unset arguments are left out.
 */
export function queryStrings(args: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(args)) if (v !== undefined && v !== null) out[k] = String(v);
  return out;
}
