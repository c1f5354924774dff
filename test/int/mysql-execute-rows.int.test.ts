/**
 * The message rows' COM_STMT_EXECUTE written by the store (dialect/mysql-execute*.ts) on real
 * MariaDB:
 *
 *  - Random batches (empty payloads, payloads across the length-prefix widths, 1 MB payloads,
 *    large and small ts values) written through `writeMessageRows` read back byte for byte the
 *    same as the same rows written through mysql2's own `execute` into another database: every
 *    column, ts compared as the stored decimal text.
 *  - The statement is prepared once per connection: many executions of the same row count on
 *    one connection are one COM_STMT_PREPARE (the server's session counters).
 *  - A refused statement (duplicate key) fails with the server's error as mysql2 reports it
 *    (errno, code, sqlState, sql), which the commit-error classification reads, and the
 *    connection stays usable; a connection killed by the server fails the execution (no hang).
 *  - A two-row statement whose packet is 0xFFFFFD bytes (mysql2's writePacket would break the
 *    connection with an empty packet after it) is split in two; both rows are stored.
 *  - A batch of several statements without a transaction is stored all or none, in one
 *    transaction: `SET autocommit = 0` and the statements written at once, then COMMIT (or
 *    ROLLBACK and the first error when a statement fails, in the first or the last statement:
 *    nothing of the batch stored) with `SET autocommit = 1`; the connection usable after, and
 *    no "packets out of order" warning from mysql2 (the answers' sequence ids); a deadlock
 *    that rolls the transaction back in the first statement leaves none of the second
 *    statement's rows; a connection killed between two batches fails the next one.
 *  - The installed mysql2 offers the command queue (else the store would quietly fall back to
 *    mysql2's execute and this file would test the fallback only); a connection without it
 *    (only `execute`, as another driver version might offer) still stores the same rows.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import type { SqlStore } from '../../src/store/sql/sql-store';
import { mysql } from '../../src/store/sql/dialect/mysql';
import { executeMessageRowsOn, statementSizes } from '../../src/store/sql/dialect/mysql-rows';
import { canExecuteRaw, canPipelineRaw, executeRowsRaw, executeTransactionRaw, unsendableByMysql2, type RawExecuteConnection } from '../../src/store/sql/dialect/mysql-execute';
import { encodeExecuteRows } from '../../src/store/sql/dialect/mysql-execute-packet';
import type { MsgRowKey } from '../../src/store/sql/dialect/types';
import { openTestSqlStore } from '../helpers/sql-store';
import { randomRows, seededRandom } from '../helpers/random-rows';

interface Mysql2Conn extends RawExecuteConnection {
  execute(sql: string, values: unknown[], cb: (err: Error | null) => void): unknown;
  query(sql: string, cb: (err: Error | null, rows: Array<Record<string, unknown>>) => void): unknown;
  threadId: number;
}
interface Pool {
  acquireConnection(): Promise<Mysql2Conn>;
  releaseConnection(c: Mysql2Conn): Promise<unknown>;
}

const stores: SqlStore[] = [];
after(async () => {
  await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
});

async function openKnex(prefix: string): Promise<Knex> {
  const { store } = await openTestSqlStore('mariadb', prefix);
  stores.push(store);
  await store.commit();
  return store.adapter.knex;
}

/** Runs `f` on a connection of `knex`'s pool (given back after). */
async function onPooled<T>(knex: Knex, f: (conn: Mysql2Conn) => Promise<T>): Promise<T> {
  const pool = knex.client as Pool;
  const conn = await pool.acquireConnection();
  try {
    return await f(conn);
  } finally {
    await pool.releaseConnection(conn).catch(() => undefined);
  }
}

function insertText(n: number): string {
  return 'insert into stan_messages (channel_id, seq, ts, size, data) values ' + new Array<string>(n).fill('(?,?,?,?,?)').join(',');
}

function call<T>(f: (cb: (err: Error | null, r?: T) => void) => unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => f((err, r) => (err === null ? resolve(r as T) : reject(err))));
}

const LENGTHS = [0, 1, 250, 251, 65_534, 65_535, 65_536, 1 << 20];
const TS = [0, 1, 1_796_520_990_264_663_808, Number.MAX_SAFE_INTEGER, 9_007_199_254_740_993, 2 ** 62];

function batch(r: () => number, n: number, firstSeq: number): { rows: MsgRowKey[]; data: Buffer[] } {
  return randomRows(r, n, { lengths: LENGTHS, smallShare: 0.85, smallMax: 200, ts: TS, firstSeq });
}

type ServerError = Error & { errno?: number; code?: string; sqlState?: string; sql?: string };

/** The error `p` fails with (the test fails when it succeeds). */
async function rejection(p: Promise<unknown>, what: string): Promise<ServerError> {
  return p.then(
    () => assert.fail(`${what} must fail`),
    (e: unknown) => e as ServerError,
  );
}

async function readBack(knex: Knex): Promise<unknown[]> {
  const [rows] = (await knex.raw('select channel_id, seq, cast(ts as char) as ts, size, hex(data) as data from stan_messages order by channel_id, seq')) as [unknown[]];
  return rows;
}

async function sessionCounter(conn: Mysql2Conn, name: string): Promise<number> {
  const rows = await call<Array<Record<string, unknown>>>((cb) => conn.query(`show session status like '${name}'`, cb));
  return Number(rows[0].Value);
}

describe('MariaDB message rows through our COM_STMT_EXECUTE', () => {
  test('random batches read back identical to the same rows written by mysql2 execute', async () => {
    const ours = await openKnex('mxours');
    const ref = await openKnex('mxref');
    const r = seededRandom(5);
    let seq = 1;
    for (const n of [1, 2, 5, 31, 32, 33, 64, 97, 300]) {
      const { rows, data } = batch(r, n, seq);
      seq += n;
      await mysql.writeMessageRows!(ours, undefined, rows, data, 16 << 20);
      const values: unknown[] = [];
      rows.forEach((m, i) => values.push(m.channel_id, m.seq, String(m.ts), m.size, data[i]));
      await onPooled(ref, (conn) => call((cb) => conn.execute(insertText(n), values, cb)));
    }
    const a = await readBack(ours);
    assert.equal(a.length, seq - 1);
    assert.deepEqual(a, await readBack(ref));
  });

  test('prepared once per connection; errors as mysql2 reports them; the connection stays usable', async () => {
    const knex = await openKnex('mxonce');
    await onPooled(knex, async (conn) => {
      assert.ok(canExecuteRaw(conn), 'the installed mysql2 offers the command queue');
      const prepared = await sessionCounter(conn, 'Com_stmt_prepare');
      const executed = await sessionCounter(conn, 'Com_stmt_execute');
      const r = seededRandom(9);
      for (let k = 0; k < 5; k++) {
        const { rows, data } = batch(r, 32, 1 + 32 * k);
        await executeRowsRaw(conn, insertText(32), rows, data, 0, 32);
      }
      assert.equal((await sessionCounter(conn, 'Com_stmt_prepare')) - prepared, 1);
      assert.equal((await sessionCounter(conn, 'Com_stmt_execute')) - executed, 5);

      const { rows, data } = batch(r, 2, 1); // seq 1 exists: duplicate key
      const err = await rejection(executeRowsRaw(conn, insertText(2), rows, data, 0, 2), 'a duplicate key');
      assert.equal(err.errno, 1062);
      assert.equal(err.code, 'ER_DUP_ENTRY');
      assert.equal(err.sqlState, '23000');
      assert.equal(err.sql, insertText(2));
      assert.equal(mysql.classifyCommitError(err), 'refused');
      const next = batch(r, 2, 1000);
      await executeRowsRaw(conn, insertText(2), next.rows, next.data, 0, 2);
      const [count] = (await knex.raw('select count(*) as n from stan_messages')) as [Array<{ n: number }>];
      assert.equal(Number(count[0].n), 5 * 32 + 2);
    });
  });

  test('a connection offering only execute (no command queue) stores the same rows', async () => {
    const ours = await openKnex('mxqueue');
    const plain = await openKnex('mxplain');
    const r = seededRandom(13);
    const { rows, data } = batch(r, 70, 1);
    for (const [knex, wrap] of [[ours, false], [plain, true]] as const) {
      await onPooled(knex, async (conn) => {
        const only = { execute: (sql: string, values: unknown[], cb: (err: Error | null) => void) => conn.execute(sql, values, cb) };
        assert.equal(canExecuteRaw(only), false);
        await executeMessageRowsOn(wrap ? only : conn, rows, data, 16 << 20);
      });
    }
    const a = await readBack(ours);
    assert.equal(a.length, 70);
    assert.deepEqual(a, await readBack(plain));
  });

  test('a statement whose packet mysql2 cannot send (just under 16 MB) is split; both rows stored', async () => {
    const knex = await openKnex('mxwindow');
    // Two rows whose COM_STMT_EXECUTE payload is 0xFFFFFD bytes: mysql2's writePacket would
    // send an empty packet after it and break the connection (unsendableByMysql2).
    const rows: MsgRowKey[] = [
      { channel_id: 1, seq: 1, ts: 1_796_520_990_264_663_808, size: 0 },
      { channel_id: 1, seq: 2, ts: 1_796_520_990_264_667_904, size: 10 },
    ];
    const second = Buffer.alloc(10, 2);
    const payloadOf = (len: number): number => encodeExecuteRows(1, rows, [Buffer.alloc(len), second], 0, 2, false).length - 4;
    let len = 0xfffffd - 200;
    len += 0xfffffd - payloadOf(len);
    assert.ok(unsendableByMysql2(payloadOf(len)), 'the two rows make a packet of an unsendable length');
    const data = [Buffer.alloc(len, 1), second];
    rows[0] = { ...rows[0], size: len };
    await onPooled(knex, async (conn) => {
      assert.equal(await executeRowsRaw(conn, insertText(2), rows, data, 0, 2), false, 'not sent as one statement');
      await executeMessageRowsOn(conn, rows, data, 32 << 20);
      const [count] = (await knex.raw('select count(*) as n, sum(length(data)) as bytes from stan_messages')) as [Array<{ n: number; bytes: number }>];
      assert.equal(Number(count[0].n), 2);
      assert.equal(Number(count[0].bytes), len + 10);
      // The connection is still usable.
      assert.ok((await sessionCounter(conn, 'Com_stmt_execute')) >= 2);
    });
  });

  test('several statements without a transaction: autocommit off and the statements in one write, then COMMIT; a failure stores none of the batch', async () => {
    const knex = await openKnex('mxpipe');
    const warnings: string[] = [];
    const consoleError = console.error;
    console.error = (...a: unknown[]) => void warnings.push(a.map(String).join(' '));
    try {
      const r = seededRandom(21);
      await onPooled(knex, async (conn) => {
        assert.ok(canPipelineRaw(conn), 'the installed mysql2 takes the pipelined transaction');
        const counters = async (): Promise<number[]> => Promise.all(['Com_set_option', 'Com_commit', 'Com_rollback', 'Com_stmt_execute'].map((c) => sessionCounter(conn, c)));
        const autocommit = async (): Promise<number> => Number((await call<Array<Record<string, unknown>>>((cb) => conn.query('select @@autocommit as a', cb)))[0].a);
        const delta = async (before: number[]): Promise<number[]> => (await counters()).map((v, i) => v - before[i]);
        // 70 rows: a 64-row statement and a 6-row remainder.
        const first = batch(r, 70, 1);
        const sizes = statementSizes(first.data, 16 << 20);
        assert.deepEqual(sizes, [64, 6]);
        let before = await counters();
        await executeTransactionRaw(conn, sizes, insertText, first.rows, first.data);
        assert.deepEqual(await delta(before), [2, 1, 0, 2], 'autocommit off and on again, one COMMIT, two statements');
        assert.equal(await autocommit(), 1);
        assert.equal((await readBack(knex)).length, 70);

        // A duplicate key in the remainder, then one in the first statement: nothing of either batch.
        for (const at of [66, 3]) {
          const bad = batch(r, 70, 1000 + at);
          bad.rows[at] = { ...bad.rows[at], channel_id: first.rows[5].channel_id, seq: first.rows[5].seq };
          before = await counters();
          const err = await rejection(executeTransactionRaw(conn, statementSizes(bad.data, 16 << 20), insertText, bad.rows, bad.data), `a duplicate key at row ${at}`);
          assert.equal(err.errno, 1062);
          assert.equal(err.sql, insertText(at < 64 ? 64 : 6), 'the error names the refused statement');
          assert.deepEqual(await delta(before), [2, 0, 1, 2], 'rolled back');
          assert.equal(await autocommit(), 1);
          assert.equal((await readBack(knex)).length, 70, `no row of the batch refused at row ${at}`);
        }
        // The connection serves the next batch.
        const next = batch(r, 40, 2000);
        await executeTransactionRaw(conn, statementSizes(next.data, 16 << 20), insertText, next.rows, next.data);
        assert.equal((await readBack(knex)).length, 110);
      });
      // The store's own entry point takes the same path: all or none.
      const bad = batch(r, 70, 3000);
      bad.rows[69] = { ...bad.rows[69], channel_id: bad.rows[0].channel_id, seq: bad.rows[0].seq };
      await rejection(mysql.writeMessageRows!(knex, undefined, bad.rows, bad.data, 16 << 20), 'a batch repeating its own first key');
      assert.equal((await readBack(knex)).length, 110);
    } finally {
      console.error = consoleError;
    }
    assert.deepEqual(warnings.filter((w) => /out of order/.test(w)), [], 'mysql2 saw every answer with the sequence id it expects');
  });

  test('a deadlock in the first statement (InnoDB rolls the transaction back) stores none of the later statements', async () => {
    const knex = await openKnex('mxdeadlock');
    await knex.raw('create table mx_heavy (id int primary key, pad varchar(100))');
    const admin = await openKnex('mxdeadlockadmin');
    const db = (await knex.raw('select database() as d'))[0][0].d as string;
    const other = await (admin.client as Pool).acquireConnection();
    const q = (sql: string): Promise<unknown> => call((cb) => other.query(sql, cb));
    try {
      // Another transaction, heavier (InnoDB rolls back the lighter one), holds seq 64.
      await q('begin');
      await q(`insert into \`${db}\`.mx_heavy select seq, repeat('x', 100) from seq_1_to_20000`);
      await q(`insert into \`${db}\`.stan_messages (channel_id, seq, ts, size, data) values (1, 64, 1, 1, 'a')`);
      const rows = Array.from({ length: 70 }, (_, i) => ({ channel_id: 1, seq: i + 1, ts: 1_700_000_000_000 + i, size: 16 }));
      const data = rows.map((r) => Buffer.alloc(16, r.seq));
      await onPooled(knex, async (conn) => {
        // The first statement (seq 1..64) waits on seq 64; then the other wants seq 1: a cycle.
        const ours = executeTransactionRaw(conn, statementSizes(data, 16 << 20), insertText, rows, data).then(
          () => undefined,
          (e: ServerError) => e,
        );
        await new Promise((r) => setTimeout(r, 500));
        await q(`insert into \`${db}\`.stan_messages (channel_id, seq, ts, size, data) values (1, 1, 1, 1, 'a')`);
        const err = await ours;
        assert.equal(err?.errno, 1213, 'our transaction is the deadlock victim');
        await q('rollback');
        assert.equal((await readBack(knex)).length, 0, 'none of the second statement\'s rows (65..70) either');
      });
    } finally {
      await (admin.client as Pool).releaseConnection(other).catch(() => undefined);
    }
  });

  test('a connection killed by the server fails the next pipelined transaction', async () => {
    const knex = await openKnex('mxpipekill');
    await onPooled(knex, async (conn) => {
      const one = batch(seededRandom(4), 40, 1);
      await executeTransactionRaw(conn, statementSizes(one.data, 16 << 20), insertText, one.rows, one.data);
      await knex.raw(`kill ${conn.threadId}`);
      const two = batch(seededRandom(5), 40, 100);
      const err = await rejection(executeTransactionRaw(conn, statementSizes(two.data, 16 << 20), insertText, two.rows, two.data), 'a killed connection');
      assert.equal(mysql.classifyCommitError(err), 'transient');
    });
    assert.equal((await readBack(knex)).length, 40);
  });

  test('a connection killed by the server fails the execution', async () => {
    const knex = await openKnex('mxkill');
    await onPooled(knex, async (conn) => {
      const { rows, data } = batch(seededRandom(2), 3, 1);
      await executeRowsRaw(conn, insertText(3), rows, data, 0, 3);
      await knex.raw(`kill ${conn.threadId}`);
      const more = batch(seededRandom(3), 3, 10);
      const err = await rejection(executeRowsRaw(conn, insertText(3), more.rows, more.data, 0, 3), 'a killed connection');
      assert.ok(err instanceof Error, String(err));
      assert.equal(mysql.classifyCommitError(err), 'transient');
    });
  });
});
