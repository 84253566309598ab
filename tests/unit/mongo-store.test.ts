import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/infra/store/ports.js';
import { openMongoStore, redactMongoUri } from '../../src/infra/store/mongo/mongo-store.js';

// What can be checked without a MongoDB server. The adapter's behaviour is the store contract
// (tests/integration/store.contract.test.ts), which runs only where a MongoDB is reachable.

describe('redactMongoUri', () => {
  it('a URI with credentials, database and options shows only scheme and host', () => {
    const shown = redactMongoUri('mongodb://sextant:s3cr3t-pw@db1.example.com:27017/prod?authSource=admin&tls=true');
    expect(shown).toBe('mongodb://db1.example.com:27017');
    expect(shown).not.toMatch(/sextant|s3cr3t|prod|authSource/);
  });

  it('a mongodb+srv URI keeps its scheme and cluster host, never the encoded password', () => {
    expect(
      redactMongoUri('mongodb+srv://app:p%40ss%2Fword@cluster0.ab1cd.mongodb.net/sextant?retryWrites=true&w=majority'),
    ).toBe('mongodb+srv://cluster0.ab1cd.mongodb.net');
  });

  it('a replica set URI lists every host', () => {
    expect(redactMongoUri('mongodb://u:pw@h1:27017,h2:27018,[::1]:27019/db?replicaSet=rs0')).toBe(
      'mongodb://h1:27017,h2:27018,[::1]:27019',
    );
  });

  it('a password with unescaped @ or / does not leak as a host', () => {
    const shown = redactMongoUri('mongodb://u:pa/ss@wo@rd@host:27017/db');
    expect(shown).toBe('mongodb://host:27017');
    expect(shown).not.toMatch(/pa|ss|wo|rd@/);
  });

  it('a URI without credentials or database is shown as is', () => {
    expect(redactMongoUri('mongodb://localhost')).toBe('mongodb://localhost');
    expect(redactMongoUri('mongodb://localhost:27017/')).toBe('mongodb://localhost:27017');
  });

  it('something that is not a MongoDB URI is not echoed', () => {
    expect(redactMongoUri('http://user:secret@example.com')).not.toContain('secret');
  });
});

describe('openMongoStore without a reachable server', () => {
  it('an unreachable server rejects with a retryable error naming the host, never the password', async () => {
    const err: unknown = await openMongoStore({
      uri: 'mongodb://sextant:hunter2secret@127.0.0.1:1/x',
      serverSelectionTimeoutMS: 300,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreUnavailableError);
    const e = err as StoreUnavailableError;
    expect(e.retryable).toBe(true);
    expect(e.message).toContain('mongodb://127.0.0.1:1');
    expect(e.message).toContain('database x');
    // The message, and the whole error as a logger would print it (cause included).
    expect(e.message).not.toContain('hunter2secret');
    expect(inspect(e, { depth: 10 })).not.toContain('hunter2secret');
  });

  it('a malformed URI is a configuration error that does not echo the password', async () => {
    const err: unknown = await openMongoStore({ uri: 'mongodb://sextant:hunter2/secret@db/x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(StoreUnavailableError);
    expect(inspect(err, { depth: 10 })).not.toMatch(/hunter2|secret/);
  });

  it('an unacknowledged write concern or an empty batch size is refused before connecting', async () => {
    await expect(openMongoStore({ uri: 'mongodb://127.0.0.1:1', writeConcern: 0 })).rejects.toThrow(RangeError);
    await expect(openMongoStore({ uri: 'mongodb://127.0.0.1:1', eventBatchSize: 0 })).rejects.toThrow(RangeError);
  });
});
