/**
 * The driver connection under Knex, for the statements Knex has no API for (PostgreSQL COPY,
 * MySQL prepared statements, better-sqlite3 statements): a transaction's own connection, or
 * one taken from the writer pool and given back after (the statement then autocommits),
 * through the writer's held connection (held-connection.ts).
 */
import type { Knex } from 'knex';
import { heldConnection } from './held-connection';

/** Knex's connection API (not in its public types). */
interface ConnectionSource {
  acquireConnection(): Promise<unknown>;
  releaseConnection(conn: unknown): Promise<unknown>;
}

/** The connection `trx` runs on (Knex hands a transaction its own connection). */
export async function trxConnection<C>(trx: Knex.Transaction): Promise<C> {
  return (await (trx.client as ConnectionSource).acquireConnection()) as C;
}

/** Runs `f` on `trx`'s connection, or on a writer connection (autocommit) when `trx` is undefined. */
export async function onConnection<C, T>(knex: Knex, trx: Knex.Transaction | undefined, f: (conn: C) => Promise<T>): Promise<T> {
  if (trx !== undefined) return f(await trxConnection<C>(trx));
  const held = heldConnection(knex);
  const conn = (await held.acquire()) as C;
  let failed = true;
  try {
    const r = await f(conn);
    failed = false;
    return r;
  } finally {
    held.release(conn, failed);
  }
}
