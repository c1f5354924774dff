/**
 * Schema version 4: `stan_messages` without its `(channel_id, ts)` index. Nothing reads
 * through it any more: start-at-time subscriptions and the max_age expiry of recovered
 * messages find their sequence by a binary search on `seq` through the primary key
 * (src/store/sql/ts-search.ts; timestamps never decrease along a channel's sequence), and
 * every stored row paid for it: on SQLite ~19% of the WAL frames per row and ~18% of the bytes
 * the FILE store writes per message (docs/performance.md, "FILE, round 7").
 *
 * Expand-compatible although it drops something (migrations/README.md): no release reads the
 * index by name, so an older server keeps starting and running on this schema, its time
 * queries only scanning the channel's rows through the primary key instead. minServerSchema
 * stays 1, and MIN_SCHEMA is not raised: a PostgreSQL/MySQL database where 0004 is not applied
 * yet keeps working (with the index, which only costs its writes).
 *
 * Applying it on PostgreSQL/MySQL takes an exclusive lock on stan_messages for a moment: it
 * waits DDL_LOCK_WAIT_S at most for one (a longer wait would hold the server's writes), then
 * fails saying which transaction kind to wait for (migrations/README.md).
 */
import type { Knex } from 'knex';
import { INDEXES, TABLES } from '../src/store/sql/schema';
import { DDL_LOCK_WAIT_S, type MigrationDef, type SqlDialect } from '../src/store/sql/migration-types';

const M = TABLES.stan_messages;

export const m0004_drop_channel_ts_index: MigrationDef = {
  name: '0004_drop_channel_ts_index',
  version: 4,
  minServerSchema: 1,
  build(knex: Knex, dialect: SqlDialect): Knex.SchemaBuilder[] {
    const drop = knex.schema.alterTable('stan_messages', (t) => {
      t.dropIndex([M[0], M[2]], INDEXES.stan_messages_channel_ts);
    });
    // The first migration that alters a table in use: the DROP needs an exclusive lock on
    // stan_messages, and while it waits for one (behind a backup's or a report's long
    // transaction) every write of a running server queues behind it. So it waits a few
    // seconds at most and fails with what to do (migrator.ts) rather than stall publishing.
    if (dialect === 'postgres') return [knex.schema.raw(`SET LOCAL lock_timeout = '${DDL_LOCK_WAIT_S}s'`), drop];
    if (dialect === 'mysql') return [knex.schema.raw(`SET SESSION lock_wait_timeout = ${DDL_LOCK_WAIT_S}`), drop];
    return [drop];
  },
};
