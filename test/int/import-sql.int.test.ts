/**
 * The reference SQL store reader on real PostgreSQL and MariaDB: the fixture dumps
 * (postgres.sql, mysql.sql) are loaded with the databases' own clients, then read through a
 * role that may only SELECT (so the reader provably writes nothing), and the result is compared
 * with expected.json. Also: damaged Messages rows name the table and row, skip mode lists them.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import knexFactory, { type Knex } from 'knex';
import { openReferenceSqlStore, ReferenceDamageError, type ReferenceStoreReader } from '../../src/import/reference';
import { decodeSubState } from '../../src/import/reference/records';
import { testDatabase, uniqueName, type DbInstance, type DbKind } from '../helpers/db';
import { assertMatchesExpected, fixtureLimits } from '../helpers/reference-fixtures';
import { loadReferenceDump as loadDump } from '../helpers/reference-sql';

/** A login role that can only SELECT from `db`; resolves its URL. */
async function selectOnlyUrl(kind: DbKind, inst: DbInstance, db: string): Promise<string> {
  const role = uniqueName('ro');
  const pw = 'ro-secret';
  if (kind === 'postgres') {
    await inst.adminQuery(`CREATE ROLE ${role} LOGIN PASSWORD '${pw}'`, 'postgres');
    await inst.adminQuery(`GRANT CONNECT ON DATABASE ${db} TO ${role}; GRANT USAGE ON SCHEMA public TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`, db);
  } else {
    await inst.adminQuery(`CREATE USER '${role}'@'%' IDENTIFIED BY '${pw}'`, undefined);
    await inst.adminQuery(`GRANT SELECT ON \`${db}\`.* TO '${role}'@'%'`, undefined);
  }
  return inst.url(db, role, pw);
}

const knexes: Knex[] = [];
after(async () => {
  for (const k of knexes) await k.destroy();
});

function connect(kind: DbKind, url: string): Knex {
  const k = knexFactory({ client: kind === 'postgres' ? 'pg' : 'mysql2', connection: url, pool: { min: 0, max: 2 } });
  knexes.push(k);
  return k;
}

async function seqs(r: ReferenceStoreReader, channel: string): Promise<number[]> {
  const out: number[] = [];
  for await (const m of r.messages(channel)) out.push(m.seq);
  return out;
}

for (const kind of ['postgres', 'mariadb'] as const) {
  const variant = kind === 'postgres' ? 'postgres' : 'mysql';
  describe(`reference SQL store reader on ${kind}`, () => {
    test(`${variant}.sql read through a SELECT-only role equals expected.json`, async () => {
      const t = await testDatabase(kind, 'refsql');
      await loadDump(kind, t.instance, t.name);
      const k = connect(kind, await selectOnlyUrl(kind, t.instance, t.name));
      // pageSize 3: several pages per channel, so the paging itself is exercised
      const r = await openReferenceSqlStore(k, { limits: fixtureLimits, pageSize: 3 });
      assert.equal(r.snapshot.source, kind === 'postgres' ? 'postgres' : 'mysql');
      await assertMatchesExpected(r, variant);
      const limited = r.snapshot.channels.find((c) => c.name === 'limited');
      assert.deepEqual(limited?.storedLimits, { maxMsgs: 8, maxBytes: 1_024_000_000, maxAgeNs: 0n });
      // subscription IDs are store-wide in SQL: the next one follows the highest subid
      assert.ok(r.snapshot.channels.every((c) => c.nextSubscriptionId === r.snapshot.channels[0].nextSubscriptionId && c.nextSubscriptionId > 1));
    });

    test('a damaged Messages row names the table and row; skip mode lists it', async () => {
      const t = await testDatabase(kind, 'refdmg');
      await loadDump(kind, t.instance, t.name);
      const admin = connect(kind, t.url);
      const messages = kind === 'postgres' ? 'messages' : 'Messages';
      // the row of events seq 3 now holds a record of seq 2
      const two = (await admin(messages).select('data').where({ id: 2, seq: 2 }))[0] as { data: Buffer };
      await admin(messages).update({ data: two.data }).where({ id: 2, seq: 3 });
      const strict = await openReferenceSqlStore(admin, { limits: fixtureLimits });
      await assert.rejects(seqs(strict, 'events'), (err: unknown) => {
        assert.ok(err instanceof ReferenceDamageError);
        assert.equal(err.damage, 'index-mismatch');
        assert.deepEqual(err.at, { kind: 'row', table: messages, row: 'id=2, seq=3' });
        assert.match(err.message, new RegExp(`table ${messages}, row id=2, seq=3`));
        return true;
      });
      const lenient = await openReferenceSqlStore(admin, { limits: fixtureLimits, skipDamagedMessages: true });
      assert.deepEqual(await seqs(lenient, 'events'), [1, 2, 4, 5]);
      assert.deepEqual(lenient.skipped.map((s) => [s.channel, s.seq, s.damage]), [['events', 3, 'index-mismatch']]);
    });

    test('§4.3/§4.4 rows: tombstones, a channel being deleted, acks JSON and no-caching rows', async () => {
      const t = await testDatabase(kind, 'refrows');
      await loadDump(kind, t.instance, t.name);
      const admin = connect(kind, t.url);
      const T = (n: string): string => (kind === 'postgres' ? n.toLowerCase() : n);
      const subOf = async (channelId: number, clientId: string): Promise<number> => {
        const rows = (await admin(T('Subscriptions')).select('subid', 'proto').where('id', channelId)) as { subid: unknown; proto: Buffer }[];
        const row = rows.find((r) => decodeSubState(r.proto).clientId === clientId);
        assert.ok(row !== undefined, `subscription of ${clientId}`);
        return Number(row.subid);
      };
      await admin(T('Subscriptions')).update({ deleted: true }).where({ id: 1, subid: await subOf(1, 'sub-a') });
      await admin(T('Channels')).update({ deleted: true }).where({ name: 'limited' });
      // dur-b: a later caching row acks 3 (recorded pending in an earlier row)
      await admin(T('SubsPending')).insert({ subid: await subOf(2, 'sub-b'), row: 100, seq: 0, lastsent: 5, pending: null, acks: Buffer.from('[3]') });
      // q2: a no-caching row (one pending seq) raises lastSent
      await admin(T('SubsPending')).insert({ subid: await subOf(3, 'q2'), row: 101, seq: 6, lastsent: 0 });
      const k = connect(kind, await selectOnlyUrl(kind, t.instance, t.name));
      const r = await openReferenceSqlStore(k, { limits: fixtureLimits });
      assert.deepEqual(r.snapshot.channels.map((c) => c.name), ['events', 'orders', 'work']);
      assert.ok(r.snapshot.notices.some((n) => /"limited".*marked deleted/.test(n)));
      const chan = (n: string) => r.snapshot.channels.find((c) => c.name === n);
      assert.deepEqual(chan('orders')?.subscriptions, []);
      assert.deepEqual(chan('events')?.subscriptions.map((s) => [s.clientId, s.lastSent, s.pending]), [['sub-b', 5, [4, 5]]]);
      const q2 = chan('work')?.subscriptions.find((s) => s.clientId === 'q2');
      assert.deepEqual([q2?.lastSent, q2?.pending], [6, [5, 6]]);
    });

    test('MaxAge expiring every message: numbering continues after the last seq', async () => {
      const t = await testDatabase(kind, 'refage');
      await loadDump(kind, t.instance, t.name);
      const k = connect(kind, await selectOnlyUrl(kind, t.instance, t.name));
      const far = 1n << 62n;
      const r = await openReferenceSqlStore(k, { limits: () => ({ maxMsgs: 0, maxBytes: 0, maxAgeNs: 1_000_000_000n }), now: () => far });
      const work = r.snapshot.channels.find((c) => c.name === 'work');
      assert.deepEqual([work?.firstSeq, work?.lastSeq, work?.msgCount], [9, 8, 0]);
      assert.deepEqual(await seqs(r, 'work'), []);
      // q2's pending seq 5 is below first now: the reference acks it at startup
      assert.ok(work?.subscriptions.every((s) => s.pending.length === 0));
    });
  });
}
