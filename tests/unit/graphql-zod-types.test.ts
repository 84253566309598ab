import { GraphQLSchema, printSchema, printType, type GraphQLObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildSchema } from '../../interfaces/http/graphql/schema.js';
import { queryStrings, ZodGraphqlTypes } from '../../interfaces/http/graphql/zod-types.js';
import { StreamSlots } from '../../interfaces/http/live-stream.js';
import { ordersQuerySchema } from '../../interfaces/http/schemas.js';
import { orderFilledSchema, portfolioSnapshotSchema } from '../../src/core/domain/messages.js';
import { silentLogger } from '../../src/core/ports/logger.js';

const origin = z.object({ kind: z.enum(['strategy', 'person']), id: z.string() });

describe('GraphQL types made from zod schemas', () => {
  it('maps scalars, enums, optional fields, nested objects and records as documented', () => {
    const types = new ZodGraphqlTypes({ objects: new Map([[origin, 'Origin']]), enums: { 'buy,sell': 'Side' } });
    const fill = types.object(
      'Thing',
      z.object({
        side: z.enum(['buy', 'sell']),
        count: z.number().int().min(0).max(1000),
        time: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
        price: z.number().positive(),
        note: z.string().optional(),
        asOf: z.number().nullable(),
        flag: z.literal(true).optional(),
        origin,
        owner: origin,
        range: z.object({ from: z.number(), to: z.number() }),
        indicators: z.record(z.string(), z.number()),
        tags: z.array(z.string()),
        limit: z.number().int().min(1).max(10).default(5),
        qty: z.union([z.number(), z.string()]).pipe(z.number()),
      }),
    );
    const printed = printSchema(new GraphQLSchema({ types: [fill] }));
    expect(printType(fill)).toBe(
      [
        'type Thing {',
        '  side: Side!',
        '  count: Int!', // an integer within 32 bits
        '  time: Float!', // epoch ms do not fit GraphQL's Int
        '  price: Float!',
        '  note: String',
        '  asOf: Float',
        '  flag: Boolean',
        '  origin: Origin!',
        '  owner: Origin!', // one type per schema, wherever it appears
        '  range: ThingRange!', // an unnamed object is named after its field
        '  indicators: JSON!',
        '  tags: [String!]!',
        '  limit: Int!', // a default is always there once parsed
        '  qty: Float!', // what a pipe makes
        '}',
      ].join('\n'),
    );
    expect(printed).toContain('enum Side {\n  buy\n  sell\n}');
    expect(printed).toContain('enum OriginKind {\n  strategy\n  person\n}');
    expect(() => types.object('Origin', z.object({ other: z.string() }))).toThrow(
      'two different schemas are both named Origin in GraphQL',
    );
  });

  it('a field added to a domain schema is a field of its GraphQL type', () => {
    const schema = buildSchema({
      reads: {} as never,
      agents: { report: () => ({}) },
      bus: {} as never,
      slots: new StreamSlots(),
      log: silentLogger,
    });
    const fieldsOf = (name: string) => Object.keys((schema.getType(name) as GraphQLObjectType).getFields());
    expect(fieldsOf('Portfolio')).toEqual(Object.keys(portfolioSnapshotSchema.shape));
    expect(fieldsOf('FillEvent')).toEqual([...Object.keys(orderFilledSchema.shape), 'id', 'time', 'correlationId']);
  });

  it("arguments come from the REST query schema and reach it as a URL's strings", () => {
    const types = new ZodGraphqlTypes({ objects: new Map(), enums: {} });
    const args = types.args(ordersQuerySchema, 'Orders');
    expect(Object.fromEntries(Object.entries(args).map(([k, a]) => [k, String(a.type)]))).toEqual({
      status: 'OrdersStatus',
      symbol: 'String',
      from: 'String', // epoch ms or ISO-8601, parsed by the schema's own transform
      to: 'String',
      limit: 'Int',
    });
    expect(args.limit!.defaultValue).toBe(100);
    const strings = queryStrings({ status: 'open', limit: 5, from: '2026-12-07', symbol: null, to: undefined });
    expect(strings).toEqual({ status: 'open', limit: '5', from: '2026-12-07' });
    expect(ordersQuerySchema.parse(strings)).toEqual({ status: 'open', limit: 5, from: Date.UTC(2026, 11, 7) });
  });
});

describe('stream slots', () => {
  it('caps open streams per token and a slot given back twice counts once', () => {
    const slots = new StreamSlots(2);
    const a = slots.take('t');
    slots.take('t');
    expect(() => slots.take('t')).toThrow('at most 2 open event streams per token');
    expect(() => slots.take('other')).not.toThrow();
    a();
    a();
    slots.take('t');
    expect(() => slots.take('t')).toThrow('at most 2');
  });
});
