/**
 * Pipelined group commit (issue 12; `--sql_commit_depth 2`, whatever the default): the real
 * executable on PostgreSQL is killed with SIGKILL
 * at a moment the database shows two of its transactions open at once (one committing, the
 * next one written), while a real client publishes asynchronously. After a restart on the
 * same database every acknowledged message is stored exactly once, with contiguous
 * sequences (a later batch never commits without the earlier one).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client as PgClient } from 'pg';
import { type Proc, startServerProc } from '../helpers/proc';
import { testDatabase } from '../helpers/db';
import { connect, untilAsync } from '../helpers/stan';
import { assertAckedExactlyOnce, dropClient, publishAsync, readAll } from '../helpers/durability';

const procs: Proc[] = [];
after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
});

test('postgres: kill -9 with two transactions in flight loses nothing acked', async () => {
  const db = await testDatabase('postgres', 'pipe_crash');
  const args = ['-store', 'sql', '--sql_driver', 'postgres', '--sql_source', db.url, '--sql_auto_migrate', '-cid', 'crash', '--sql_commit_depth', '2'];
  const first = await startServerProc(args);
  procs.push(first.proc);
  const channel = 'pipe.crash';
  const pg = new PgClient({ connectionString: db.url });
  await pg.connect();
  try {
    const pub = await connect(first.url, 'crash', 'publisher', { maxPubAcksInflight: 2000, ackTimeout: 10_000 });
    let killed = false;
    let acks = 0;
    const pubDone = publishAsync(pub, channel, 500_000, { window: 2000, payload: (i) => `pc-${i}`, stop: () => killed, onAck: () => void acks++ });
    // Some messages acked first, then the kill at the first moment two transactions are open.
    await untilAsync(() => Promise.resolve(acks >= 2000), 60_000, '2000 PubAcks');
    const inFlight = async (): Promise<boolean> => {
      const r = await pg.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL AND backend_type = 'client backend'`,
      );
      return (r.rows[0] as { n: number }).n >= 2;
    };
    await untilAsync(inFlight, 60_000, 'two transactions of the server open at once');
    first.proc.child.kill('SIGKILL');
    await first.proc.waitExit();
    killed = true;
    dropClient(pub);
    const res = await pubDone;
    assert.ok(res.acked.size >= 2000, `acked before the kill: ${res.acked.size}`);

    const second = await startServerProc(args);
    procs.push(second.proc);
    const stored = Number((await pg.query('SELECT count(*)::int AS n FROM stan_messages')).rows[0].n);
    assert.ok(stored >= res.acked.size && stored <= res.sent, `stored ${stored}, acked ${res.acked.size}, sent ${res.sent}`);
    const all = await readAll(second.url, 'crash', channel, stored, 60_000);
    assertAckedExactlyOnce(all, res.acked);
  } finally {
    await pg.end();
  }
});
