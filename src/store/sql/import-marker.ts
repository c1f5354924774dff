/**
 * The import marker row (`stan_import`, migration 0003): which reference store filled this
 * database and whether the import finished (src/import/resume.ts decides what it means).
 * Written outside the group commit, in its own statement, because it brackets the import:
 * 'running' before the first batch, 'complete' after the last one.
 */
import type { Knex } from 'knex';
import type { ImportMarker } from '../contract';
import { StoreError } from '../contract';

const TABLE = 'stan_import';

function missingTable(): StoreError {
  return new StoreError(
    'the database schema has no stan_import table (migration 0003_import_marker), which the import needs: ' +
      'apply it with `nats-streaming-server migrate` and the same store flags, or add --sql_auto_migrate',
  );
}

/** True when the table exists and holds a marker: the database was (or is being) filled by an import. */
export async function hasImportMarker(knex: Knex): Promise<boolean> {
  if (!(await knex.schema.hasTable(TABLE))) return false;
  const row: unknown = await knex(TABLE).select('id').where('id', 1).first();
  return row !== undefined;
}

export async function readImportMarker(knex: Knex): Promise<ImportMarker | undefined> {
  if (!(await knex.schema.hasTable(TABLE))) throw missingTable();
  const row = (await knex(TABLE).select('fingerprint', 'source', 'status').where('id', 1).first()) as
    | { fingerprint: string; source: string; status: string }
    | undefined;
  if (row === undefined) return undefined;
  return { fingerprint: row.fingerprint, source: row.source, status: row.status === 'complete' ? 'complete' : 'running' };
}

export async function writeImportMarker(knex: Knex, marker: ImportMarker, nowMs: number): Promise<void> {
  if (!(await knex.schema.hasTable(TABLE))) throw missingTable();
  await knex.transaction(async (trx) => {
    await trx(TABLE).where('id', 1).del();
    await trx(TABLE).insert({ id: 1, fingerprint: marker.fingerprint, source: marker.source.slice(0, 1024), status: marker.status, updated_at: nowMs });
  });
}
