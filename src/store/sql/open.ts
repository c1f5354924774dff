/**
 * Opens a dialect adapter for the configured store. Drivers are loaded lazily (inside this
 * function) so the MEMORY store never pays for requiring pg, mysql2 or better-sqlite3 at
 * start-up; Knex and Kysely are loaded on first use (see adapter()).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as KnexModule from 'knex';
import type { Knex } from 'knex';
import type * as KyselyModule from 'kysely';
import type { Kysely } from 'kysely';
import type BetterSqlite3Module from 'better-sqlite3';
import type { Database } from './schema';
import { dialectFor, type DialectAdapter, type DialectName } from './dialect';
import type { SqlConnectionConfig, SqlDriver } from './dsn-common';
import { loadPg } from './load-pg';
import { mysqlPageRead, pgPageRead, sqlitePageRead, threadPageRead, type PageRead } from './dialect/page-reads';
import { pgSnapshotRead, type SnapshotRead } from './dialect/postgres-copy-out';
import type { RawRows } from './schema-startup';
import type { PlainRowsMulti } from './plain-reads';
import { applySqlitePragmas, SqliteWriteThread, type SqliteWriterSpawner } from './sqlite-writer';
import { SqliteWriterConnection } from './sqlite-connection';
import { LEASE_MARK, MAIN_MARK_BUSY, SQLITE_DEFAULT_MARK } from './sqlite-checkpoint';
export { WAL_GROWTH_BYTES } from './sqlite-wal-grow';
import { onConnection } from './dialect/connection';
import { releaseHeld } from './dialect/held-connection';
import { runHints } from '../../launch/run-hints';
import { sqliteOptions } from './sqlite-driver';
import { directEventInsert, type DirectEventInsert } from './dialect/event-insert';

/**
 * Knex prints pool errors (with stack traces) on stdout by default; the server reports
 * connection problems itself, in one clear line.
 */
const QUIET_KNEX_LOG = { warn() {}, error() {}, deprecate() {}, debug() {} };
// The writers' Knex runs with `compileSqlOnError: false`: a failed statement's error starts
// with its SQL text, not with the statement compiled with every bound value (a batch's
// payloads, hex-encoded, in logs and in /readyz); commit-errors.ts cuts that prefix off.


export interface OpenSqlOptions {
  driver: SqlDriver;
  source: string;
  /** Reader pool size (sql_max_open_conns; <= 0 → 10). The writer uses its own connections (writerConnections). */
  maxOpenConns: number;
  /**
   * The store's `--sql_commit_depth` (0 or absent: the default, at most 2): each transaction in
   * flight needs a writer connection of its own.
   */
  commitDepth?: number;
}

/** The writer pool: 2 connections (the default depth's), more when a larger depth is asked for. */
function writerConnections(o: OpenSqlOptions): number {
  return Math.max(2, o.commitDepth ?? 0);
}

export interface OpenSqliteOptions {
  /** Directory of `-store file -dir DIR`; the database file is DIR/stan.db. */
  dir: string;
  /** file_sync: synchronous=FULL (default) or NORMAL. */
  sync: boolean;
  /**
   * Starts the write thread that commits the store's batches (sqlite-writer.ts); without it
   * they are committed on the main thread through Knex.
   */
  writer?: SqliteWriterSpawner;
  /**
   * With `writer`: starts the thread at open and has it grow the WAL file to this many bytes
   * ahead of the first burst (sqlite-wal-grow.ts); the server passes WAL_GROWTH_BYTES.
   */
  growWal?: number;
}

export const SQLITE_FILE = 'stan.db';

/** A pg result as rawRowsMulti reads it (pg answers several statements with one per statement). */
interface PgResult {
  rows: unknown[];
}

/** How an adapter's Knex and Kysely are made, on first use (see LazyParts). */
interface AdapterParts {
  name: DialectName;
  knex: () => Knex;
  db: () => Kysely<Database>;
  maxStatementBytes: number;
  readPage: PageRead;
  /** PostgreSQL: the newest snapshot by COPY binary (postgres-copy-out.ts). */
  readSnapshot?: SnapshotRead;
  rawRows: RawRows;
  rawRowsMulti: PlainRowsMulti;
  /**
   * Settled before anything is closed: the writer's warm-up (warmWriter). A connection still
   * being opened for it when Knex is destroyed was never given back to the pool, and the pool's
   * end() then waited for it forever (seen with a multi-host source, whose host walk makes the
   * warm-up slower than a test's open-query-close).
   */
  warming?: () => Promise<void>;
  extraClose?: () => Promise<void>;
  /**
   * Event rows without Knex, offered until Knex is made: the dialect's direct driver's
   * INSERT run on this pool (dialect/event-insert.ts directEventInsert).
   */
  firstCommitPool?: unknown;
  /** Makes Knex and opens the writer's first connection in the background (warmWriter). */
  warmUp?: () => void;
  writeThread?: SqliteWriteThread;
  sqliteWriter?: SqliteWriterConnection;
}

/**
 * Knex and Kysely are created on first use, not at open: their modules' initialisation (with
 * lodash, tarn…) costs start-up time that the FILE store does not need before it serves (its
 * schema check and its writes run on better-sqlite3 connections), and that the SQL stores
 * spend while their first connection is being set up (openSql).
 */
function adapter(p: AdapterParts): DialectAdapter {
  const dialect = dialectFor(p.name);
  let knex: Knex | undefined;
  let db: Kysely<Database> | undefined;
  let warmScheduled = false;
  const direct = p.firstCommitPool !== undefined && dialect.directTx !== undefined ? directEventInsert(dialect.directTx, p.firstCommitPool) : undefined;
  // After the first commit without Knex: Knex and the writer's connection, off the way to
  // the first answer (the reply is sent when the commit resolves, before this timer fires).
  const directThenWarm: DirectEventInsert | undefined =
    direct === undefined
      ? undefined
      : async (rows) => {
          await direct(rows);
          if (warmScheduled || p.warmUp === undefined) return;
          warmScheduled = true;
          const warmUp = p.warmUp;
          setTimeout(() => {
            // Knex is not start-up code: the launcher's code cache is written without it.
            runHints()?.beyondStartup();
            warmUp();
          }, WARM_UP_AFTER_FIRST_COMMIT_MS).unref();
        };
  return {
    name: p.name,
    dialect,
    get knex(): Knex {
      return (knex ??= p.knex());
    },
    get directEvents(): DirectEventInsert | undefined {
      return knex === undefined ? directThenWarm : undefined;
    },
    get db(): Kysely<Database> {
      return (db ??= p.db());
    },
    maxStatementBytes: p.maxStatementBytes,
    writeThread: p.writeThread,
    sqliteWriter: p.sqliteWriter,
    readPage: p.readPage,
    rawRows: p.rawRows,
    rawRowsMulti: p.rawRowsMulti,
    readSnapshot: p.readSnapshot,
    maxRowsPerInsert: (columns) => Math.max(1, Math.min(dialect.maxRowsPerInsert, Math.floor(dialect.maxParams / columns))),
    close: async () => {
      if (p.warming) await settledWithin(p.warming(), WARM_UP_CLOSE_WAIT_MS);
      await p.writeThread?.close();
      await db?.destroy();
      // A reader pool Kysely never took over is ended by extraClose. The held writer
      // connection first: the pool's destroy waits for every connection in use.
      if (knex !== undefined) releaseHeld(knex);
      await knex?.destroy();
      await p.extraClose?.();
    },
  };
}

/** Knex is made this long after a start-up's first commit without it (see adapter()). */
const WARM_UP_AFTER_FIRST_COMMIT_MS = 50;

/**
 * How long close() waits for the writer's warm-up: a database that does not answer at all
 * (a black-holed host) must not hold a shutdown for Knex's whole acquire timeout (60 s).
 */
const WARM_UP_CLOSE_WAIT_MS = 5000;

async function settledWithin(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms).unref()))]);
  clearTimeout(timer);
}

/** Knex's module, loaded when an adapter first needs it (in the bundle: its initialisation). */
function knexModule(): typeof KnexModule.knex {
  return (require('knex') as typeof KnexModule).knex;
}

function kyselyModule(): typeof KyselyModule {
  return require('kysely') as typeof KyselyModule;
}

/**
 * Makes Knex and opens the writer's first connection, in the background: called shortly after
 * a start-up's first commit without Knex (dialect/event-insert.ts), so the commits that need
 * Knex (message rows, the FT fence, snapshots) find it ready instead of waiting for its
 * initialisation, TCP, authentication and Knex's version query. A failure is left to the
 * first commit to report.
 */
function warmWriter(knex: Knex): Promise<void> {
  return onConnection(knex, undefined, async () => undefined).catch(() => undefined);
}

export async function openSql(o: OpenSqlOptions): Promise<DialectAdapter> {
  const dsn = await import('./dsn');
  const readers = o.maxOpenConns > 0 ? o.maxOpenConns : 10;
  const conn = dsn.parseDataSource(o.driver, o.source);
  const writers = writerConnections(o);
  return o.driver === 'postgres' ? openPostgres(dsn, conn, readers, writers) : openMysql(dsn, conn, readers, writers);
}

/** The dsn module (loaded by openSql on first use). */
type DsnModule = typeof import('./dsn');

/** PostgreSQL: the readers' pool (its first connection started at once), Knex on first use. */
async function openPostgres(dsn: DsnModule, conn: SqlConnectionConfig, readers: number, writers: number): Promise<DialectAdapter> {
  const pg = loadPg();
  // BIGINT (int8) columns: numbers, not strings (our values stay below 2^53 except ns
  // timestamps, which lose sub-microsecond precision only).
  pg.types.setTypeParser(20, (v: string) => Number(v));
  const cfg = dsn.toPgConfig(conn);
  const { openPgPool } = await import('./pg-multihost');
  const readerPool = openPgPool(pg, conn, cfg, { max: readers });
  // The readers' first connection is set up (TCP, authentication: ~5-15 ms here) while
  // Knex initialises below; the start-up's schema check then runs on it
  // (rawRows), and the recovery reads on it. A failure is left to the first read to report.
  const first = readerPool.connect().then((c) => c.release(), () => undefined);
  const rawRows: RawRows = async (sql) => {
    // Not beside the first connection while it is set up: the pool would open another.
    await first;
    return (await readerPool.query(sql)).rows as unknown[];
  };
  // The simple-query protocol takes several statements in one message and answers each.
  const rawRowsMulti: PlainRowsMulti = async (sqls) => {
    await first;
    const r = (await readerPool.query(sqls.join(';\n'))) as unknown as PgResult | PgResult[];
    return (Array.isArray(r) ? r : [r]).map((x) => x.rows);
  };
  const db = (): Kysely<Database> => new (kyselyModule().Kysely)<Database>({ dialect: new (kyselyModule().PostgresDialect)({ pool: readerPool }) });
  const readPage = pgPageRead(readerPool);
  const readSnapshot = pgSnapshotRead(readerPool);
  // Kysely ends the reader pool when it is destroyed; until it exists, closing ends it here.
  let kyselyMade = false;
  const makeDb = (): Kysely<Database> => {
    kyselyMade = true;
    return db();
  };
  const endReaders = async (): Promise<void> => {
    if (!kyselyMade) await readerPool.end();
  };
  let a: DialectAdapter;
  // Set right after the adapter exists (its Knex is what the warm-up opens a connection of).
  let warm: Promise<void> = Promise.resolve();
  const warming = (): Promise<void> => warm;
  const warmUp = (): void => {
    warm = warmWriter(a.knex);
  };
  // Not beside the first connection while it is set up, as rawRows.
  const firstCommitPool = {
    query: async (q: { text: string; values: unknown[] }) => {
      await first;
      return readerPool.query(q);
    },
  };
  if (dsn.needsHostWalk(conn)) {
    // Several hosts / target_session_attrs: Knex takes a pg.Pool of host-walking clients
    // (its `connectionPool`); Knex does not own that pool, so closing ends it.
    const writerPool = openPgPool(pg, conn, cfg, { max: writers });
    const knex = (): Knex => knexModule()({ client: 'pg', connectionPool: writerPool, log: QUIET_KNEX_LOG, compileSqlOnError: false });
    a = adapter({ name: 'postgres', knex, db: makeDb, maxStatementBytes: Infinity, readPage, readSnapshot, rawRows, rawRowsMulti, warming, firstCommitPool, warmUp, extraClose: async () => Promise.all([writerPool.end(), endReaders()]).then(() => undefined) });
  } else {
    const knex = (): Knex => knexModule()({ client: 'pg', connection: cfg, pool: { min: 0, max: writers }, log: QUIET_KNEX_LOG, compileSqlOnError: false });
    a = adapter({ name: 'postgres', knex, db: makeDb, maxStatementBytes: Infinity, readPage, readSnapshot, rawRows, rawRowsMulti, warming, firstCommitPool, warmUp, extraClose: endReaders });
  }
  return a;
}

/** Set on every MySQL/MariaDB connection we open (why: openMysql). */
const MYSQL_AUTOCOMMIT = 'autocommit = 1';

/** MySQL/MariaDB: the readers' pool, its first connection reading max_allowed_packet; Knex on first use. */
async function openMysql(dsn: DsnModule, conn: SqlConnectionConfig, readers: number, writers: number): Promise<DialectAdapter> {
  const mysql = await import('mysql2');
  // tls=preferred: TLS when the server offers it, plain otherwise (as the Go driver).
  const resolved = await dsn.resolvePreferredTls(conn);
  // Unknown DSN parameters are MySQL session variables (the Go driver sets them per
  // connection), e.g. `?time_zone=%27%2B00:00%27`.
  const sessionVars = dsn.mysqlSessionVariables(resolved);
  const cfg = { ...dsn.toMysqlConfig(resolved), supportBigNumbers: true, bigNumberStrings: false };
  // autocommit = 1 last, whatever the DSN, the server's default or its init_connect say: every
  // statement we send outside BEGIN/COMMIT (message rows, event rows, the lone sync commit) is
  // durable once answered only with autocommit on; with it off, acked rows would sit in an open
  // transaction that a disconnect rolls back, and a reader's snapshot would never advance.
  const setVars = [
    ...Object.entries(sessionVars)
      .map(([k, v]) => `${/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : ''} = ${v}`)
      .filter((x) => !x.startsWith(' ')),
    MYSQL_AUTOCOMMIT,
  ];
  const afterCreate = (c: { query(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, c: unknown) => void): void => {
    c.query(`SET ${setVars.join(', ')}`, (err) => done(err, c));
  };
  // Multi-statement queries on the readers only, for our own fixed statements without user
  // text (plain-reads.ts): the recovery's first reads in one round trip. Every other statement
  // on this pool binds its values (escaped by mysql2), so nothing can be chained into them.
  const pool = mysql.createPool({ ...cfg, connectionLimit: readers, multipleStatements: true });
  // mysql2's pool connections listen for 'error' once (to leave the pool), and the driver
  // still emits 'error' on a connection when no command is running to take it: a second error
  // on the same connection (MySQL >= 8.0.24 sends an ERR packet before it closes a killed
  // session, then the socket's end follows) would have no listener and end the process. The
  // loss is reported to the next query on it; the pool replaces it.
  pool.on('connection', (c) => c.on('error', () => undefined));
  pool.on('connection', (c) => c.query(`SET ${setVars.join(', ')}`));
  // The server's packet limit, so batches never exceed it. Its connection (the readers'
  // first) is set up while Knex initialises; the schema check reads on it next.
  const packet = pool.promise().query('SELECT @@max_allowed_packet AS m');
  packet.catch(() => undefined);
  let knexMade: Knex | undefined;
  const knex = (): Knex =>
    (knexMade ??= knexModule()({ client: 'mysql2', connection: cfg, pool: { min: 0, max: writers, afterCreate }, log: QUIET_KNEX_LOG, compileSqlOnError: false }));
  let warm: Promise<void> = Promise.resolve();
  const [rows] = await packet.catch(async (err: unknown) => {
    await pool.promise().end().catch(() => undefined);
    throw err;
  });
  const maxPacket = Number((rows as Array<{ m: number | string }>)[0]?.m ?? 4 * 1024 * 1024);
  let kyselyMade = false;
  return adapter({
    name: 'mysql',
    knex,
    firstCommitPool: pool,
    warmUp: () => {
      warm = warmWriter(knex());
    },
    db: () => {
      kyselyMade = true;
      return new (kyselyModule().Kysely)<Database>({ dialect: new (kyselyModule().MysqlDialect)({ pool }) });
    },
    maxStatementBytes: Math.floor(maxPacket * 0.8),
    readPage: mysqlPageRead(pool),
    rawRows: async (sql) => (await pool.promise().query(sql))[0] as unknown[],
    // Several statements answer with one array of rows per statement, one with its rows.
    rawRowsMulti: async (sqls) => {
      const [r] = await pool.promise().query(sqls.join(';\n'));
      return (sqls.length === 1 ? [r] : r) as unknown[][];
    },
    warming: () => warm,
    // Kysely ends the reader pool when it is destroyed; until it exists, closing ends it here.
    // Knex, once made, is destroyed by the adapter's close().
    extraClose: async () => {
      if (!kyselyMade) await pool.promise().end();
    },
  });
}

export async function openSqlite(o: OpenSqliteOptions): Promise<DialectAdapter> {
  const BetterSqlite3 = require('better-sqlite3') as typeof BetterSqlite3Module;
  fs.mkdirSync(o.dir, { recursive: true });
  const file = path.join(o.dir, SQLITE_FILE);
  const pragmas = (d: { pragma(s: string): unknown }): void => applySqlitePragmas(d, o.sync);
  const writer = new SqliteWriterConnection(() => {
    const c = new BetterSqlite3(file, sqliteOptions());
    pragmas(c);
    return c;
  });
  const knex = (): Knex =>
    knexModule()({ client: 'better-sqlite3', connectionPool: writer.knexPool(), useNullAsDefault: true, log: QUIET_KNEX_LOG, compileSqlOnError: false });
  const reader = new BetterSqlite3(file, sqliteOptions());
  pragmas(reader);
  let kyselyMade = false;
  const db = (): Kysely<Database> => {
    kyselyMade = true;
    return new (kyselyModule().Kysely)<Database>({ dialect: new (kyselyModule().SqliteDialect)({ database: reader }) });
  };
  const parts = {
    name: 'sqlite' as const,
    knex,
    db,
    maxStatementBytes: Infinity,
    readPage: sqlitePageRead(reader),
    rawRows: async (sql: string) => reader.prepare(sql).all(),
    rawRowsMulti: async (sqls: readonly string[]) => sqls.map((sql) => reader.prepare(sql).all()),
    sqliteWriter: writer,
    // Kysely closes the reader when it is destroyed; until it exists, closing closes it here.
    extraClose: async () => {
      writer.close();
      if (!kyselyMade) reader.close();
    },
  };
  if (o.writer === undefined) return adapter(parts);
  // Unless it grows the WAL (below), started by the first batch too large to be written inline (sqlite-inline.ts), not here:
  // a worker with its own isolate and connection cost 30-70 ms of the FILE start-up (first
  // answered connect 281 ms awaited here, 317 ms started here and awaited at recovery, 248 ms
  // started on demand; medians of 10 on this machine; started at start-up without waiting:
  // +17 ms of server CPU before the first connect, "FILE, round 5"). That first batch waits
  // for the start once and opens the thread's connection; a thread that cannot start fails its
  // commits (retried), as a dead thread does.
  // The thread checkpoints what it writes (sqlite-checkpoint.ts); this connection's automatic
  // checkpoint is raised past the thread's bound while the thread holds uncopied batches.
  const thread = new SqliteWriteThread({ file, sync: o.sync, growWal: o.growWal }, o.writer, {
    raise: () => writer.setCheckpointMark(MAIN_MARK_BUSY),
    lower: () => writer.setCheckpointMark(SQLITE_DEFAULT_MARK),
  });
  // Growing the WAL ahead of the first burst (sqlite-wal-grow.ts) needs the thread started now,
  // not by that burst: started without waiting, beside the rest of the start-up (the first
  // answered connect +8-10 ms, its CPU +13-20 ms, "FILE, round 8"); a thread that fails to start here is started
  // again by the first batch, which then sees the error.
  if ((o.growWal ?? 0) > 0) void thread.start().catch(() => undefined);
  // Cold pages are read on the thread too (a catch-up's reads off the event loop).
  return adapter({ ...parts, writeThread: thread, readPage: threadPageRead(thread, parts.readPage) });
}

export type LeaseDbSpec =
  | { kind: 'sql'; driver: SqlDriver; source: string }
  | { kind: 'sqlite'; dir: string };

/**
 * A dedicated single connection for the FT lease, with statement timeouts: a busy writer or
 * reader pool can never delay a lease renewal (the reference's lock shared the pool).
 */
export async function openLeaseKnex(spec: LeaseDbSpec, timeoutMs: number): Promise<{ knex: Knex; dialect: DialectName }> {
  const { default: knexFactory } = await import('knex');
  if (spec.kind === 'sqlite') {
    const knex = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: path.join(spec.dir, SQLITE_FILE), options: sqliteOptions() },
      useNullAsDefault: true,
      log: QUIET_KNEX_LOG,
      pool: {
        min: 0,
        max: 1,
        afterCreate: (c: { pragma(s: string): unknown }, done: (err: Error | null, c: unknown) => void) => {
          c.pragma(`busy_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
          // Renewals never copy a burst's pages on the event loop (sqlite-checkpoint.ts).
          c.pragma(`wal_autocheckpoint = ${LEASE_MARK}`);
          done(null, c);
        },
      },
    });
    return { knex, dialect: 'sqlite' };
  }
  const dsn = await import('./dsn');
  const conn = dsn.parseDataSource(spec.driver, spec.source);
  const pool = { min: 0, max: 1, acquireTimeoutMillis: timeoutMs, createTimeoutMillis: timeoutMs };
  if (spec.driver === 'postgres') {
    const cfg = { ...dsn.toPgConfig(conn), statement_timeout: timeoutMs, query_timeout: timeoutMs, connectionTimeoutMillis: timeoutMs };
    if (dsn.needsHostWalk(conn)) {
      const [pg, { openPgPool }] = await Promise.all([loadPg(), import('./pg-multihost')]);
      // The walk may try every host: allow each its connect timeout.
      const leasePool = openPgPool(pg, conn, cfg, { max: 1, connectionTimeoutMillis: timeoutMs * dsn.pgHosts(conn).length });
      const knex = knexFactory({ client: 'pg', connectionPool: leasePool, log: QUIET_KNEX_LOG });
      // Knex never ends a pool given as `connectionPool`, and the lease closes its connection
      // with knex.destroy() only: chain the pool's end onto the Knex client's destroy
      // (knex.destroy itself is read-only; it calls client.destroy).
      const client = knex.client as { destroy(cb?: unknown): Promise<void> };
      const destroyClient = client.destroy.bind(client);
      client.destroy = async (cb?: unknown): Promise<void> => {
        try {
          await destroyClient(cb);
        } finally {
          await leasePool.end().catch(() => undefined);
        }
      };
      return { knex, dialect: 'postgres' };
    }
    return { knex: knexFactory({ client: 'pg', connection: cfg, pool, log: QUIET_KNEX_LOG }), dialect: 'postgres' };
  }
  const cfg = { ...dsn.toMysqlConfig(conn), connectTimeout: timeoutMs };
  // MySQL has no statement timeout for UPDATEs: bound the lock waits (default 50 s) instead,
  // so a lease row locked by a frozen active's transaction fails fast (1 s is the minimum).
  const lockWaitS = Math.max(1, Math.ceil(timeoutMs / 1000));
  const mysqlPool = {
    ...pool,
    afterCreate: (c: { query(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, c: unknown) => void) => {
      // The lease's renewal is one autocommitted UPDATE (see openMysql's autocommit).
      c.query(`SET SESSION innodb_lock_wait_timeout = ${lockWaitS}, ${MYSQL_AUTOCOMMIT}`, (err) => done(err, c));
    },
  };
  return { knex: knexFactory({ client: 'mysql2', connection: cfg, pool: mysqlPool, log: QUIET_KNEX_LOG }), dialect: 'mysql' };
}
