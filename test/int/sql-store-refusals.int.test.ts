/**
 * Issue 9 on a real SQLite database (the FILE store's SqlStore): triggers stand for a DBA's
 * rules. Message rows refused alone are left out (their seq reports why, once) while the rest
 * of the same group commit is stored; an event row refused (client/subscription state,
 * which may not be dropped) puts the store in its failed state until the trigger is gone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSqlite } from '../../src/store/sql/open';
import { prepareSchema } from '../../src/store/sql/schema-check';
import { SqlStore } from '../../src/store/sql/sql-store';
import { defaultStoreLimits } from '../../src/config/options';
import { EventKind } from '../../src/store/events/events';
import { StoreUnavailableError } from '../../src/store/contract';
import { assertRefusals, serverInfo, storePoisoned } from '../helpers/store';
import { until } from '../helpers/stan';
import { tsxSqliteWriter } from '../helpers/sqlite-writer';
import type { SqliteWriterSpawner } from '../../src/store/sql/sqlite-writer';

async function open(dir: string, writer?: SqliteWriterSpawner): Promise<SqlStore> {
  const a = await openSqlite({ dir, sync: true, writer });
  await prepareSchema(a.knex, { dialect: 'sqlite', dir, autoMigrate: true });
  return new SqlStore(a, { type: 'FILE', clusterID: 'c1', limits: defaultStoreLimits(), maxBatchRows: 0, bulkInsertLimit: 0, ioSleepMicros: 0 });
}

const TS = 1_700_000_000_000_000_000;

// On the main thread (Knex) and through the write thread (sqlite-writer.ts): the same refusals.
for (const [mode, writer] of [['', undefined], [' (write thread)', tsxSqliteWriter]] as const) {
  test('a trigger refusing some message rows: those alone are left out, the rest of the commit is stored' + mode, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-refuse-'));
    const s1 = await open(dir, writer);
    await s1.recover();
    s1.init(serverInfo('c1'));
    await s1.commit();
    await s1.adapter.knex.raw(
      `CREATE TRIGGER no_poison BEFORE INSERT ON stan_messages WHEN instr(NEW.data, CAST('poison' AS BLOB)) > 0 BEGIN SELECT RAISE(ABORT, 'poison payload refused'); END`,
    );
    const ch = s1.createChannel('foo');
    const poison = new Set([2, 7, 8, 20]);
    storePoisoned(ch, 20, poison, TS);
    // One group commit holds all of them (and the channel's creation event).
    await s1.commit();
    assertRefusals(ch, 20, poison, /^message refused by the database, not stored: poison payload refused/);
    // Reported once.
    assert.equal(ch.msgs.takeRefusal?.(2), undefined);
    // A refused message reads as absent (delivery skips it); the others are there.
    assert.equal(await ch.msgs.lookup(7), undefined);
    assert.ok((await ch.msgs.lookup(6)) !== undefined);
    assert.equal(s1.failure, undefined);
    assert.equal(await s1.checkHealth(), undefined);
    await s1.close();

    const s2 = await open(dir, writer);
    const rec = await s2.recover();
    const foo = rec?.channels.find((c) => c.channel === s2.lookupChannel('foo'));
    assert.ok(foo !== undefined);
    // The count is the span first..last, as the running server counts (refused 2, 7 and 8
    // count until dropped); the refused tail (20) has left no trace and is forgotten.
    assert.equal(foo.channel.msgs.msgCount, 19);
    assert.equal(foo.channel.msgs.lastSeq, 19);
    const stored: number[] = [];
    for (let i = 1; i <= 20; i++) if ((await foo.channel.msgs.lookup(i)) !== undefined) stored.push(i);
    assert.deepEqual(stored, [1, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    await s2.close();
  });

  test('a trigger refusing an event row: the store fails (nothing dropped), refuses new messages, and resumes once it is gone' + mode, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-refuse-'));
    const s1 = await open(dir, writer);
    await s1.recover();
    s1.init(serverInfo('c1'));
    const ch = s1.createChannel('foo');
    ch.msgs.store({ seq: 1, timestamp: TS + 1, subject: 'foo', reply: '', data: Buffer.from('m1') });
    await s1.commit();
    await s1.adapter.knex.raw(`CREATE TRIGGER no_subs BEFORE INSERT ON stan_events WHEN NEW.kind = ${EventKind.ClientConnected} BEGIN SELECT RAISE(ABORT, 'no new clients'); END`);
    ch.msgs.store({ seq: 2, timestamp: TS + 2, subject: 'foo', reply: '', data: Buffer.from('m2') });
    s1.addClient({ ID: 'me', HbInbox: '_INBOX.hb', ConnID: Buffer.from('conn'), Protocol: 1, PingInterval: 5, PingMaxOut: 3 });
    await assert.rejects(s1.commit(), (err: unknown) => err instanceof StoreUnavailableError && /client\/subscription state record \(no new clients\)/.test(err.message));
    assert.match((await s1.checkHealth()) ?? '', /^store failed: the database refuses a client\/subscription state record \(no new clients\)/);
    // Failed: a new message is refused at once, a commit is answered at once.
    assert.throws(() => ch.msgs.store({ seq: 3, timestamp: TS + 3, subject: 'foo', reply: '', data: Buffer.from('m3') }), StoreUnavailableError);
    await assert.rejects(s1.commit(), StoreUnavailableError);

    await s1.adapter.knex.raw('DROP TRIGGER no_subs');
    await until(() => s1.failure === undefined, 20000, 'the store working again');
    assert.equal(await s1.checkHealth(), undefined);
    ch.msgs.store({ seq: 3, timestamp: TS + 3, subject: 'foo', reply: '', data: Buffer.from('m3') });
    await s1.commit();
    await s1.close();

    const s2 = await open(dir, writer);
    const rec = await s2.recover();
    assert.deepEqual(rec?.clients.map((c) => c.ID), ['me']);
    assert.equal(s2.lookupChannel('foo')?.msgs.lastSeq, 3);
    assert.equal(s2.lookupChannel('foo')?.msgs.msgCount, 3);
    await s2.close();
  });
}
