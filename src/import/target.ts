/**
 * The target store: described by the server's own options (store flags, `-sc`/`-c` files,
 * limits, encryption) and opened with the server's openStore, so it is exactly the store the
 * server will then run on.
 *
 * Same database as the source: the reference's tables (ServerInfo, Channels, …) and ours
 * (stan_*) do not collide, but the server refuses a database holding the reference's tables
 * unless an import marker says their data was imported. So in that case the marker is
 * written before the store is opened (the schema is migrated first, with --sql_auto_migrate).
 */
import type { ServerOptions } from '../config/options';
import type { Logger } from '../logging/logger';
import type { ImportMarker, Store } from '../store/contract';
import { ImportError } from './errors';

export interface OpenedTarget {
  store: Store;
  describe: string;
  /** The marker as found before this run wrote anything. */
  marker: ImportMarker | undefined;
}

export function describeTarget(o: ServerOptions): string {
  const s = o.streaming;
  if (s.storeType === 'FILE') return `FILE store ${s.filestoreDir}`;
  return `SQL store (${s.sql.driver})`;
}

/** Refusals that need no I/O: MEMORY, and a cluster ID other than the source's. */
export function checkTargetOptions(o: ServerOptions, sourceClusterID: string): void {
  const s = o.streaming;
  if (s.storeType === 'MEMORY') {
    throw new ImportError('the target is the MEMORY store, which keeps nothing across a restart: give -store file -dir <dir>, or -store sql --sql_driver <driver> --sql_source <dsn>');
  }
  if (o.explicit.has('cluster_id') && s.clusterID !== sourceClusterID) {
    throw new ImportError(
      `-cid ${s.clusterID} differs from the source's cluster ID "${sourceClusterID}": clients connect with the cluster ID, so it must stay; ` +
        `leave -cid out or give -cid ${sourceClusterID}`,
    );
  }
  s.clusterID = sourceClusterID;
}

/** A SQL target that already holds the reference's tables (same database as the source). */
async function prepareSharedDatabase(o: ServerOptions, pending: ImportMarker, log: Logger): Promise<{ before: ImportMarker | undefined } | undefined> {
  const s = o.streaming;
  if (s.storeType !== 'SQL' || (s.sql.driver !== 'postgres' && s.sql.driver !== 'mysql')) return undefined;
  const [{ openSql }, sc, mig, im] = await Promise.all([
    import('../store/sql/open'),
    import('../store/sql/schema-check'),
    import('../store/sql/migrator'),
    import('../store/sql/import-marker'),
  ]);
  const adapter = await openSql({ driver: s.sql.driver, source: s.sql.source, maxOpenConns: 1 });
  try {
    const found = await sc.findReferenceTables(adapter.knex);
    if (found.length === 0) return undefined;
    log.notice(`the target database also holds the reference's tables (${found.join(', ')}): they are left as they are, ours are the stan_* tables`);
    if (!(await adapter.knex.schema.hasTable('stan_import'))) {
      if (!s.sql.autoMigrate) {
        throw new ImportError(
          'the target database holds the reference\'s tables (the source), where `migrate` refuses to run: add --sql_auto_migrate so that the import creates this server\'s tables beside them',
        );
      }
      await mig.migrate(adapter.knex, { log: (l) => log.notice(l) });
    }
    const before = await im.readImportMarker(adapter.knex);
    if (before === undefined) await im.writeImportMarker(adapter.knex, pending, Date.now());
    return { before };
  } finally {
    await adapter.close();
  }
}

export async function openTarget(o: ServerOptions, pending: ImportMarker, log: Logger): Promise<OpenedTarget> {
  const shared = await prepareSharedDatabase(o, pending, log);
  const { openStore } = await import('../store/open-store');
  const store = await openStore(o.streaming, log);
  try {
    const marker = shared !== undefined ? shared.before : await store.readImportMarker();
    return { store, describe: describeTarget(o), marker };
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}
