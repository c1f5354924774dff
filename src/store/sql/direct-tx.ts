/**
 * An unfenced group commit's transaction (batch-writer.ts) run on a raw connection taken from
 * Knex's writer pool, with the statements sent by the driver itself (DirectTxDriver): BEGIN,
 * the event rows, the message rows, COMMIT — the same statements and round trips as through
 * `knex.transaction`, without its per-transaction objects (a Transaction emitter, a
 * transaction client and a Knex instance made for it, the query builder's compile of the
 * event INSERT, BEGIN/COMMIT through the runner). Measured: docs/performance.md
 * ("Group commits without Knex's transaction objects").
 *
 * Pipelining (commit-flights.ts) is unchanged: `gate.ready()` once the event rows are
 * written (their IDs are assigned), COMMIT only after `gate.mayCommit()`, ROLLBACK when it
 * rejects or any statement failed.
 *
 * FT: with a fence, BEGIN, the idle-transaction guard and the fence's UPDATE come first, in
 * the fewest round trips the driver allows (`DirectTxDriver.fencedBegin`: one on PostgreSQL,
 * where Knex's transaction took three); an UPDATE that changed no row means the lease is
 * lost: rolled back, nothing of the batch stored, the fence's error thrown. As through Knex,
 * the UPDATE holds the lease row's lock until COMMIT, which orders fenced transactions.
 */
import type { Knex } from 'knex';
import { onConnection } from './dialect/connection';
import { insertEventRows } from './dialect/event-insert';
import type { DirectTxDriver, EventRowValues, MsgRowKey } from './dialect/types';
import type { FenceStatementSource } from '../contract';

export interface DirectBatch {
  readonly events: readonly EventRowValues[];
  /** Event rows per INSERT at most. */
  readonly eventsPerInsert: number;
  readonly rows: readonly MsgRowKey[];
  /** `data[i]`: row i's data column. */
  readonly data: readonly Buffer[];
  readonly maxStatementBytes: number;
}

/** What the transaction needs of batch-writer.ts's CommitGate (pipelining). */
interface Gate {
  ready(): void;
  mayCommit(): Promise<void>;
}

/** Knex marks a connection it must not hand out again this way (its pool validates it first). */
interface DisposableConnection {
  __knex__disposed?: unknown;
}

/** Writes `b` in one transaction; resolves once it committed, rejects with nothing of it committed (or the COMMIT's answer lost). */
export function writeDirect(knex: Knex, driver: DirectTxDriver, b: DirectBatch, gate: Gate | undefined, fence?: FenceStatementSource): Promise<void> {
  return onConnection<unknown, void>(knex, undefined, async (conn) => {
    if (fence === undefined) await driver.run(conn, 'BEGIN');
    try {
      if (fence !== undefined && !(await driver.fencedBegin(conn, fence.statement()))) throw fence.lost();
      await insertEventRows(driver, conn, b.events, b.eventsPerInsert);
      gate?.ready();
      if (b.rows.length > 0) await driver.writeRows(conn, b.rows, b.data, b.maxStatementBytes);
      await gate?.mayCommit();
      await driver.run(conn, 'COMMIT');
    } catch (err) {
      await rollback(driver, conn, err);
      throw err;
    }
  });
}

/**
 * Ends the failed transaction before the connection goes back to the pool. ROLLBACK after a
 * failed COMMIT is harmless (no transaction: a warning). When ROLLBACK fails too, the
 * connection's state is unknown: it is marked so that the pool closes it instead of handing it
 * out inside a transaction.
 */
async function rollback(driver: DirectTxDriver, conn: unknown, cause: unknown): Promise<void> {
  try {
    await driver.run(conn, 'ROLLBACK');
  } catch {
    (conn as DisposableConnection).__knex__disposed = cause instanceof Error ? cause : new Error('group commit: ROLLBACK failed');
  }
}
