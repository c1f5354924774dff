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
 */
import type { Knex } from 'knex';
import { INDEXES, TABLES } from '../src/store/sql/schema';
import type { MigrationDef } from '../src/store/sql/migration-types';

const M = TABLES.stan_messages;

export const m0004_drop_channel_ts_index: MigrationDef = {
  name: '0004_drop_channel_ts_index',
  version: 4,
  minServerSchema: 1,
  build(knex: Knex): Knex.SchemaBuilder[] {
    return [
      knex.schema.alterTable('stan_messages', (t) => {
        t.dropIndex([M[0], M[2]], INDEXES.stan_messages_channel_ts);
      }),
    ];
  },
};
