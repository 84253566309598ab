import { join } from 'node:path';
import type { Config } from '../../../config/index.js';
import type { Logger } from '../../core/index.js';
import { openEmbeddedStore, type Store } from '../../infra/store/index.js';

/**
 * The store the configuration asks for: MongoDB when STORE=mongodb (or auto with MONGODB_URI),
 * the embedded SQLite store under SEXTANT_DATA_DIR (a single-agent process: its `agent-<name>`
 * subdirectory) when STORE=embedded (or auto without it), none when
 * STORE=off. The MongoDB adapter is loaded only when used.
 */
export async function openStore(
  config: Config,
  log: Logger,
  agents: readonly string[] = [],
): Promise<Store | undefined> {
  const kind = config.store.kind === 'auto' ? (config.mongoUri ? 'mongodb' : 'embedded') : config.store.kind;
  if (kind === 'off') return undefined;
  if (kind === 'mongodb') {
    const { openMongoStore, redactMongoUri } = await import('../../infra/store/mongo/mongo-store.js');
    const uri = config.mongoUri!;
    const store = await openMongoStore({
      uri,
      writeConcern: config.store.writeConcern,
      appName: `sextant-${config.instance}`,
      ...(config.store.mongoDb ? { dbName: config.store.mongoDb } : {}),
    });
    log.info({ store: 'mongodb', at: redactMongoUri(uri) }, 'store open');
    return store;
  }
  // one process per directory: a single-agent process (`sextant agent <name>`) gets its own
  const dir = agents.length === 1 ? join(config.dataDir, `agent-${agents[0]}`) : config.dataDir;
  const store = await openEmbeddedStore({
    dir,
    fsync: config.store.fsync,
    fsyncIntervalMs: config.store.fsyncIntervalMs,
    onTorn: (t) =>
      log.warn(
        { file: t.file, bytes: t.bytes, savedTo: t.savedTo },
        'a write cut off by a crash was found at the end of an append-log file being imported; it was never acknowledged, so it was not imported (it stays in the moved file)',
      ),
    onImported: (i) =>
      log.warn(
        { lines: i.lines, movedTo: i.movedTo },
        'imported the append-log files of this data directory into the SQLite store (once); the old files were moved aside',
      ),
  });
  log.info({ store: 'embedded', dir, fsync: config.store.fsync }, 'store open');
  return store;
}
