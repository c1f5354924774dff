/**
 * The store-contract additions the import relies on, on the SQL store (SQLite, reopened and
 * recovered) and the MEMORY store: a channel whose numbering continues after expired
 * messages (`continueAfter`), a first sequence above 1, exact nanosecond timestamps
 * (`timestampNs`), an imported subscription's lastSent and pending set, the import marker,
 * and `forgetRecent` (in-memory copies dropped, messages then read from the database).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSqlite } from '../../src/store/sql/open';
import { prepareSchema } from '../../src/store/sql/schema-check';
import { SqlStore } from '../../src/store/sql/sql-store';
import { MemoryStore } from '../../src/store/memory';
import { defaultStoreLimits } from '../../src/config/options';
import type { SubState } from '../../src/protocol/codec';
import { decodeMsg } from '../../src/import/reference/records';
import { serverInfo } from '../helpers/store';

async function open(dir: string): Promise<SqlStore> {
  const a = await openSqlite({ dir, sync: true });
  await prepareSchema(a.knex, { dialect: 'sqlite', dir, autoMigrate: true });
  return new SqlStore(a, { type: 'FILE', clusterID: 'c1', limits: defaultStoreLimits(), maxBatchRows: 0, bulkInsertLimit: 0, ioSleepMicros: 0 });
}

const TS = 1_796_520_990_264_663_943n;

function durable(lastSent: number): SubState {
  return { ID: 0, clientID: 'gone', qGroup: '', inbox: '_INBOX.i', ackInbox: '_INBOX.a', maxInFlight: 10, ackWaitInSecs: 30, durableName: 'd', lastSent, isDurable: true, isClosed: true };
}

describe('store contract additions for the import', () => {
  test('SQL store: continueAfter, first above 1, exact timestamps, imported subscription, marker — after a reopen', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-import-contract-'));
    const s1 = await open(dir);
    assert.equal(await s1.recover(), null);
    assert.equal(await s1.readImportMarker(), undefined);
    await s1.writeImportMarker({ fingerprint: 'f', source: 'FILE store /ref', status: 'running' });
    s1.init(serverInfo('c1'));
    const gone = s1.createChannel('expired');
    gone.msgs.continueAfter(41);
    assert.deepEqual([gone.msgs.firstSeq, gone.msgs.lastSeq, gone.msgs.msgCount], [42, 41, 0]);
    const late = s1.createChannel('late');
    for (let q = 5; q <= 7; q++) late.msgs.store({ seq: q, timestamp: Number(TS + BigInt(q)), timestampNs: TS + BigInt(q), subject: 'late', reply: '', data: Buffer.from(`m${q}`) });
    const st = durable(9);
    late.subs.createSub(st);
    late.subs.addSeqPending(st.ID, 5);
    late.subs.addSeqPending(st.ID, 7);
    await s1.commit();
    assert.notEqual(late.msgs.lookupCached(6), null, 'recent messages are cached');
    late.msgs.forgetRecent();
    assert.equal(late.msgs.lookupCached(6), null, 'forgotten: read from the database');
    assert.equal(decodeMsg((await late.msgs.lookup(6))?.bytes ?? Buffer.alloc(0)).timestamp, TS + 6n);
    await s1.writeImportMarker({ fingerprint: 'f', source: 'FILE store /ref', status: 'complete' });
    await s1.close();

    const s2 = await open(dir);
    const rec = await s2.recover();
    assert.ok(rec !== null);
    const byName = new Map(rec.channels.map((c) => [c.channel.name, c]));
    const e = byName.get('expired')?.channel.msgs;
    assert.deepEqual([e?.firstSeq, e?.lastSeq, e?.msgCount], [42, 41, 0]);
    const l = byName.get('late');
    assert.deepEqual([l?.channel.msgs.firstSeq, l?.channel.msgs.lastSeq, l?.channel.msgs.msgCount], [5, 7, 3]);
    assert.deepEqual(l?.subs.map((s) => [s.state.lastSent, s.state.isClosed, s.pending]), [[9, true, [5, 7]]]);
    const m = await l?.channel.msgs.lookup(6);
    assert.equal(decodeMsg(m?.bytes ?? Buffer.alloc(0)).timestamp, TS + 6n);
    assert.deepEqual(await s2.readImportMarker(), { fingerprint: 'f', source: 'FILE store /ref', status: 'complete' });
    // Publishing continues after the numbering.
    e?.store({ seq: 42, timestamp: 1, subject: 'expired', reply: '', data: Buffer.from('x') });
    assert.deepEqual([e?.firstSeq, e?.lastSeq, e?.msgCount], [42, 42, 1]);
    await s2.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('MEMORY store: the same additions', async () => {
    const s = new MemoryStore(defaultStoreLimits());
    const ch = s.createChannel('x');
    ch.msgs.continueAfter(10);
    assert.deepEqual([ch.msgs.firstSeq, ch.msgs.lastSeq, ch.msgs.msgCount], [11, 10, 0]);
    ch.msgs.store({ seq: 11, timestamp: Number(TS), timestampNs: TS, subject: 'x', reply: '', data: Buffer.from('y') });
    assert.equal(decodeMsg(ch.msgs.lookupCached(11)?.bytes ?? Buffer.alloc(0)).timestamp, TS);
    assert.throws(() => ch.msgs.continueAfter(20), /has messages/);
    await s.writeImportMarker({ fingerprint: 'f', source: 's', status: 'running' });
    assert.deepEqual(await s.readImportMarker(), { fingerprint: 'f', source: 's', status: 'running' });
    await s.close();
  });
});
