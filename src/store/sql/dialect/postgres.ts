/** PostgreSQL: SQLSTATE classes, clock_timestamp(), idle_in_transaction_session_timeout. */
import { copyMessages } from './postgres-copy';
import { writePgMessageRows } from './postgres-rows';
import { pgDirectTx } from './postgres-direct';
import { errField, type CommitErrorKind, type Dialect } from './types';

/** PostgreSQL SQLSTATE classes and codes (Appendix A of the PostgreSQL manual). */
const REFUSED_CLASSES = new Set(['22', '23', '44']);
const REFUSED_CODES = new Set(['P0001' /* raise_exception: RAISE EXCEPTION in a trigger */]);
const SCHEMA_CLASSES = new Set(['28', '3D', '3F', '42']);

export const postgres: Dialect = {
  name: 'postgres',
  maxParams: 65_535,
  maxRowsPerInsert: Infinity,
  // Above 2^53 every double is an integer: BigInt gives its exact value, bound as its digits.
  tsBound: (ts) => (Math.abs(ts) > Number.MAX_SAFE_INTEGER && Number.isFinite(ts) ? BigInt(ts) : ts),
  insertIgnoreSuffix: ' on conflict (channel_id, seq) do nothing',
  arrayInsertSql:
    'insert into stan_messages (channel_id, seq, ts, size, data) ' +
    'select * from unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::integer[], ?::bytea[])',
  writeMessageRows: writePgMessageRows,
  // a second COPY session puts the second core to work (1,000,000 messages, one run each on the
  // loaded machine: 11.1 s with one session, 9.6 s with two)
  bulkLanes: 2,
  bulkInsertMessages: (trx, channelID, rows) => copyMessages(trx, channelID, rows),
  directTx: pgDirectTx,
  nowMs: '(CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT))',
  // SET LOCAL: this transaction only.
  idleTxGuard: (_knex, ttlMs) => Promise.resolve(`SET LOCAL idle_in_transaction_session_timeout = ${ttlMs}`),
  classifyCommitError(err: unknown): CommitErrorKind {
    const code = errField(err, 'code');
    // pg sets `code` to the SQLSTATE for errors from the server; network errors carry
    // Node's codes (ECONNREFUSED…), which are not 5 characters of [0-9A-Z].
    if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return 'transient';
    if (REFUSED_CODES.has(code) || REFUSED_CLASSES.has(code.slice(0, 2))) return 'refused';
    if (SCHEMA_CLASSES.has(code.slice(0, 2))) return 'schema';
    return 'transient';
  },
};
