/**
 * The SQL store's database connection, started at the very beginning of a server start-up
 * instead of when the store step reaches it: the database then sets up the connection (TCP,
 * a backend process or thread, authentication) while this process runs the steps before the
 * store (options, log lines, the client-port check, encryption set-up, the store's modules),
 * instead of waiting for it afterwards. Nothing is read or written before the store step: the
 * schema check and everything after it run where they always ran, after the port check.
 *
 * Measured on a PostgreSQL start-up (docs/startup.md, "Where the time goes"): the connection
 * was started ~35 ms of CPU after main() began (loaded machine) and then waited for ~45 ms.
 */
import type { StreamingOptions } from '../config/options';
import type { DialectAdapter } from './sql/dialect';

export interface EarlyConnection {
  /** The adapter (openSql), its first connection being set up; or its failure. Once. */
  take(): Promise<DialectAdapter>;
  /** Closes the adapter when the start-up ended before the store step took it. */
  release(): Promise<void>;
}

/**
 * Starts opening the SQL store's database when the options name one; undefined otherwise (the
 * store step then opens it, with its own errors for a missing driver or source).
 */
export function startStoreConnection(so: StreamingOptions): EarlyConnection | undefined {
  const driver = so.sql.driver;
  if (so.storeType !== 'SQL' || (driver !== 'postgres' && driver !== 'mysql') || !so.sql.source) return undefined;
  const adapter = import('./sql/open').then((open) => open.openSql({ driver, source: so.sql.source, maxOpenConns: so.sql.maxOpenConns, commitDepth: so.sql.commitDepth }));
  // A failure is reported by the store step, which awaits it (or by nobody, if the start-up
  // failed before: then the client-port error is the one that counts).
  adapter.catch(() => undefined);
  let taken = false;
  return {
    take: () => {
      taken = true;
      return adapter;
    },
    release: async () => {
      if (taken) return;
      taken = true;
      await adapter.then(
        (a) => a.close(),
        () => undefined,
      );
    },
  };
}
