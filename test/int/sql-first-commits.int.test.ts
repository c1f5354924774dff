/**
 * A start-up's first commits without Knex (dialect/event-insert.ts, batch-writer.ts), on real
 * PostgreSQL and MariaDB: a restarted store commits event rows only (a client's registration)
 * as one autocommitted INSERT on its reader pool and makes no Knex for it; the first batch that
 * needs Knex (message rows) makes it, and from then on no commit goes the direct way. The log
 * stays in commit order and a restart recovers all of it.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openSql } from '../../src/store/sql/open';
import { SqlStore } from '../../src/store/sql/sql-store';
import { defaultStoreLimits } from '../../src/config/options';
import { EventKind } from '../../src/store/events/events';
import { num } from '../../src/store/sql/dialect';
import type { DbKind } from '../helpers/db';
import { openTestSqlStore } from '../helpers/sql-store';

const open: SqlStore[] = [];
after(async () => {
  await Promise.all(open.map((s) => s.close().catch(() => undefined)));
});

/** The store as a server restart opens it: a new adapter, Knex not made. */
async function restart(kind: DbKind, url: string): Promise<SqlStore> {
  const a = await openSql({ driver: kind === 'postgres' ? 'postgres' : 'mysql', source: url, maxOpenConns: 2 });
  const store = new SqlStore(a, { type: 'SQL', clusterID: 'c1', limits: defaultStoreLimits(), maxBatchRows: 0, bulkInsertLimit: 0, ioSleepMicros: 0 });
  open.push(store);
  return store;
}

function client(id: string): Parameters<SqlStore['addClient']>[0] {
  return { ID: id, HbInbox: `_INBOX.${id}`, ConnID: Buffer.from(id), Protocol: 1, PingInterval: 5, PingMaxOut: 3 };
}

async function eventKinds(store: SqlStore): Promise<number[]> {
  const rows = (await store.adapter.rawRows('SELECT kind FROM stan_events ORDER BY event_id')) as Array<{ kind: number | string }>;
  return rows.map((r) => num(r.kind));
}

for (const kind of ['postgres', 'mariadb'] as const) {
  describe(`first commits without Knex (${kind})`, () => {
    test('event rows are committed before Knex exists; message rows make it; a restart recovers everything in order', async () => {
      const { store: created, url } = await openTestSqlStore(kind, 'firstcommit');
      await created.commit();
      await created.close();
      open.splice(open.indexOf(created), 1);
      const before = await (async () => {
        const s = await restart(kind, url);
        assert.ok(s.adapter.directEvents !== undefined, 'a restarted store offers the direct path');
        assert.notEqual(await s.recover(), null);
        s.addClient(client('first'));
        s.addClient(client('second'));
        await s.commit();
        // Knex was not made for it: the direct path is still offered.
        assert.ok(s.adapter.directEvents !== undefined, 'the event rows were committed without Knex');
        const ch = s.createChannel('foo');
        ch.msgs.store({ seq: 1, timestamp: 1_000, subject: 'foo', reply: '', data: Buffer.from('hello') });
        await s.commit();
        assert.equal(s.adapter.directEvents, undefined, 'message rows made Knex: no direct commits after');
        s.addClient(client('third'));
        await s.commit();
        const kinds = await eventKinds(s);
        await s.close();
        open.splice(open.indexOf(s), 1);
        return kinds;
      })();
      // In commit order: two registrations (direct), the channel (Knex), the third registration.
      assert.deepEqual(before.filter((k) => k === EventKind.ClientConnected || k === EventKind.ChannelCreated), [
        EventKind.ClientConnected,
        EventKind.ClientConnected,
        EventKind.ChannelCreated,
        EventKind.ClientConnected,
      ]);

      const again = await restart(kind, url);
      const rec = (await again.recover()) ?? assert.fail('nothing recovered');
      assert.deepEqual(
        rec.clients.map((c) => c.ID),
        ['first', 'second', 'third'],
      );
      const foo = rec.channels.find((c) => c.channel.name === 'foo') ?? assert.fail('channel foo not recovered');
      assert.equal(foo.channel.msgs.lastSeq, 1);
    });
  });
}
