import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { openEmbeddedStore } from '../../src/infra/store/embedded/embedded-store.js';
import { storeContract } from '../contract/store.contract.js';

storeContract({
  name: 'embedded',
  fresh: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sextant-store-'));
    return {
      open: () => openEmbeddedStore({ dir, fsync: 'interval', fsyncIntervalMs: 50 }),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  },
});

const mongoUri = inject('mongoUri');
const { openMongoStore } = await import('../../src/infra/store/mongo/mongo-store.js');
let n = 0;
storeContract({
  name: 'mongodb',
  fresh: async () => {
    const dbName = `sextant_test_${process.pid}_${Date.now().toString(36)}_${++n}`;
    const { MongoClient } = await import('mongodb');
    return {
      open: () => openMongoStore({ uri: mongoUri, dbName, writeConcern: 'majority' }),
      cleanup: async () => {
        const client = await MongoClient.connect(mongoUri);
        await client.db(dbName).dropDatabase();
        await client.close();
      },
    };
  },
});
