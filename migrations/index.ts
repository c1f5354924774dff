/**
 * Every schema migration, in order. Statically listed (not globbed from disk) so the same
 * list is loaded from `dist/` by the compiled server and from `src/` by tsx tests.
 *
 * Adding one: create `NNNN_name.ts` here, append it below, raise `MAX_SCHEMA` (and
 * `MIN_SCHEMA` if this release can no longer run without it) in ../schema-check.ts, run
 * `npx tsx src/store/sql/gen-sql.ts` to write `sql/<dialect>/NNNN_name.sql`, and follow the
 * expand/contract rule of migrations/README.md.
 */
import type { MigrationDef } from '../src/store/sql/migration-types';
import { m0001_initial } from './0001_initial';
import { m0002_ft_lease } from './0002_ft_lease';
import { m0003_import_marker } from './0003_import_marker';
import { m0004_drop_channel_ts_index } from './0004_drop_channel_ts_index';

export const MIGRATIONS: readonly MigrationDef[] = [m0001_initial, m0002_ft_lease, m0003_import_marker, m0004_drop_channel_ts_index];
