/** MySQL/MariaDB: server error numbers, NOW(3), MariaDB's idle_write_transaction_timeout. */
import type { Knex } from 'knex';
import { insertWide } from './mysql-bulk';
import { executeMessageRows } from './mysql-rows';
import { mysqlDirectTx } from './mysql-direct';
import { errField, type CommitErrorKind, type Dialect } from './types';

/** MySQL/MariaDB error numbers (server error reference). */
const REFUSED = new Set([
  1048, // ER_BAD_NULL_ERROR
  1062, // ER_DUP_ENTRY
  1216, 1217, 1451, 1452, // foreign key constraint fails
  1264, // ER_WARN_DATA_OUT_OF_RANGE
  1265, // WARN_DATA_TRUNCATED
  1292, // ER_TRUNCATED_WRONG_VALUE
  1366, // ER_TRUNCATED_WRONG_VALUE_FOR_FIELD (incorrect string value)
  1406, // ER_DATA_TOO_LONG
  1644, // ER_SIGNAL_EXCEPTION: SIGNAL SQLSTATE '45000' in a trigger
  1690, // ER_DATA_OUT_OF_RANGE
  3819, // ER_CHECK_CONSTRAINT_VIOLATED (MySQL 8)
  4025, // ER_CONSTRAINT_FAILED (MariaDB CHECK constraint)
]);
const SCHEMA = new Set([
  1044, // ER_DBACCESS_DENIED_ERROR
  1045, // ER_ACCESS_DENIED_ERROR
  1049, // ER_BAD_DB_ERROR
  1054, // ER_BAD_FIELD_ERROR (unknown column)
  1109, // ER_UNKNOWN_TABLE
  1142, // ER_TABLEACCESS_DENIED_ERROR (INSERT command denied)
  1143, // ER_COLUMNACCESS_DENIED_ERROR
  1146, // ER_NO_SUCH_TABLE
  1227, // ER_SPECIFIC_ACCESS_DENIED_ERROR
  1356, // ER_VIEW_INVALID
  1364, // ER_NO_DEFAULT_FOR_FIELD: a NOT NULL column without default was added
  1370, // ER_PROCACCESS_DENIED_ERROR (a trigger's routine)
]);

export const mysql: Dialect = {
  name: 'mysql',
  // Timestamps are written and bound the same way (as numbers or their decimal text).
  tsBound: (ts) => ts,
  maxParams: 65_535,
  maxRowsPerInsert: Infinity,
  insertIgnoreSuffix: ' on duplicate key update seq = seq',
  // two sessions inserting into stan_messages were slower than one (InnoDB)
  bulkLanes: 1,
  bulkInsertMessages: insertWide,
  writeMessageRows: executeMessageRows,
  directTx: mysqlDirectTx,
  nowMs: '(CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED))',
  /** MariaDB only (seconds; counts inside write transactions); MySQL has none (docs/ft.md). */
  async idleTxGuard(knex: Knex, ttlMs: number): Promise<string | undefined> {
    const [rows] = (await knex.raw('SELECT VERSION() AS v')) as [Array<{ v: string }>];
    if (!/mariadb/i.test(rows[0]?.v ?? '')) return undefined;
    return `SET SESSION idle_write_transaction_timeout = ${Math.max(1, Math.ceil(ttlMs / 1000))}`;
  },
  classifyCommitError(err: unknown): CommitErrorKind {
    const errno = errField(err, 'errno');
    // mysql2 sets errno only for errors the server sent; its own (connection lost,
    // timeouts) have a string code and no server errno.
    if (typeof errno !== 'number' || errField(err, 'sqlState') === undefined) return 'transient';
    if (REFUSED.has(errno)) return 'refused';
    if (SCHEMA.has(errno)) return 'schema';
    return 'transient';
  },
};
