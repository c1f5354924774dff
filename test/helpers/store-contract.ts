/**
 * One contract suite for every store (MEMORY, SQLite, PostgreSQL, MariaDB): what the STAN core
 * relies on, driven through the Store interface only (src/store/contract.ts). Persistent
 * stores also run the round trips through a close and a reopen.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultStoreLimits, type StoreLimits } from '../../src/config/options';
import {
  ERR_TOO_MANY_CHANNELS,
  ERR_TOO_MANY_SUBS,
  isCommitObservable,
  isFencedStore,
  isHealthChecked,
  isPurgeableMsgStore,
  isResettableSubStore,
  type ChannelStore,
  type Store,
  type StoredMsg,
} from '../../src/store/contract';
import { serverInfo, subState as sub } from './store';
import { MsgProtoCodec } from '../../src/protocol/codec';

export interface StoreUnderTest {
  readonly name: string;
  /** Data survives close() + open() on the same backing data. */
  readonly persistent: boolean;
  /** Fresh backing data (a new directory or database) for the next open(). */
  fresh(): Promise<void>;
  /** Optional capabilities (contract.ts) this store must declare, and no others. */
  readonly capabilities: { fenced: boolean; commitObservable: boolean; healthChecked: boolean };
  /** Opens a store on the current backing data. */
  open(o: { clusterID: string; limits: StoreLimits; now: () => number }): Promise<Store>;
  /**
   * A store that keeps message rows in a database: the rows there per channel ID, read with
   * SQL (not through the store), and a channel's ID. Undefined: the test is skipped.
   */
  readonly storedRows?: { perChannel(st: Store): Promise<Map<number, number>>; idOf(ch: ChannelStore): number };
  /**
   * A store on a database: installs a DBA's rule that refuses every message row whose payload
   * contains `poison` (test/helpers/poison-trigger.ts), once per fresh database. Undefined:
   * the tests of refused messages are skipped.
   */
  refusePoison?(st: Store): Promise<void>;
}

export const T0_MS = 1_700_000_000_000;

export function limits(over: Partial<StoreLimits> = {}): StoreLimits {
  return { ...defaultStoreLimits(), ...over };
}

/** Polls `cond` until it holds (events, not durations: the bound only ends a hung test). */
export async function until(what: string, cond: () => boolean, boundMs = 15_000): Promise<void> {
  const end = Date.now() + boundMs;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function storeContractSuite(s: StoreUnderTest): void {
  describe(`store contract: ${s.name}`, () => {
    let clock = T0_MS;
    const now = (): number => clock;
    const open = async (clusterID = 'contract', l = limits()): Promise<Store> => s.open({ clusterID, limits: l, now });
    /** A store on fresh data, recovered (empty) and initialised as a server does at first start. */
    const start = async (l = limits()): Promise<Store> => {
      await s.fresh();
      clock = T0_MS;
      const st = await open('contract', l);
      assert.equal(await st.recover(), null, 'a fresh store recovers nothing');
      st.init(serverInfo('contract'));
      return st;
    };
    const put = (st: Store, channel: string, seq: number, data: string, tsMs = clock): void => {
      const ch = st.lookupChannel(channel) ?? st.createChannel(channel);
      ch.msgs.store({ seq, timestamp: tsMs * 1e6, subject: channel, reply: '', data: Buffer.from(data) });
    };

    test('declares exactly its optional capabilities (type guards, no casts)', async () => {
      const st = await start();
      assert.deepEqual(
        { fenced: isFencedStore(st), commitObservable: isCommitObservable(st), healthChecked: isHealthChecked(st) },
        s.capabilities,
      );
      if (isHealthChecked(st)) assert.equal(await st.checkHealth(), undefined, 'a working store is healthy');
      await st.close();
    });

    test('record, commit, read back; persistent stores recover it all after a reopen', async () => {
      const st = await start();
      st.addClient({ ID: 'me', HbInbox: '_INBOX.hb', ConnID: Buffer.from('c'), Protocol: 1, PingInterval: 5, PingMaxOut: 3 });
      for (let i = 1; i <= 5; i++) put(st, 'foo', i, `m${i}`);
      await st.commit();
      const ch = st.lookupChannel('foo');
      assert.ok(ch);
      assert.deepEqual([ch.msgs.firstSeq, ch.msgs.lastSeq, ch.msgs.msgCount], [1, 5, 5]);
      const m3 = await ch.msgs.lookup(3);
      assert.equal(m3?.seq, 3);
      assert.equal(await ch.msgs.firstSeqAtOrAfter(T0_MS * 1e6), 1);
      // A sequence at or below the last one is ignored.
      put(st, 'foo', 5, 'again');
      assert.equal(ch.msgs.msgCount, 5);
      await st.close();
      if (!s.persistent) return;
      const re = await open();
      const rec = await re.recover();
      assert.ok(rec, 'recovered state');
      assert.equal(rec.info.ClusterID, 'contract');
      assert.deepEqual(rec.clients.map((c) => c.ID), ['me']);
      const rc = rec.channels.find((c) => c.channel.name === 'foo');
      assert.ok(rc);
      assert.deepEqual([rc.channel.msgs.firstSeq, rc.channel.msgs.lastSeq, rc.channel.msgs.msgCount], [1, 5, 5]);
      const back = await rc.channel.msgs.lookup(5);
      assert.equal(back?.seq, 5);
      await re.close();
    });

    test('a message is found by its exact nanosecond timestamp above 2^53, committed alone or in a batch, also after a reopen', async () => {
      // Doubles whose shortest decimal is not their exact value (…456768 prints as …456800):
      // a store that writes one form and compares with the other misses the exact match.
      const T = [1765065600123456768, 1765065600123457024, 1765065600123457280, 1765065600123457536, 1765065600123457792, 1765065600123458048, 1765065600123458304, 1765065600123458560];
      assert.notEqual(String(T[1]), BigInt(T[1]).toString());
      const st = await start();
      const ch = st.createChannel('ts');
      const store = (seq: number): void => void ch.msgs.store({ seq, timestamp: T[seq - 1], subject: 'ts', reply: '', data: Buffer.from(`m${seq}`) });
      // Seqs 1-3 one commit each (a sync publisher's lone rows), 4-8 in one batch.
      for (let seq = 1; seq <= 3; seq++) {
        store(seq);
        await st.commit();
      }
      for (let seq = 4; seq <= 8; seq++) store(seq);
      await st.commit();
      // Not the channel's first message: the answer comes from the store's query, not only its cache.
      for (const seq of [2, 3, 6]) assert.equal(await ch.msgs.firstSeqAtOrAfter(T[seq - 1]), seq, `seq ${seq} by its own timestamp`);
      await st.close();
      if (!s.persistent) return;
      const re = await open();
      const rec = await re.recover();
      const rc = rec?.channels.find((c) => c.channel.name === 'ts');
      assert.ok(rc);
      for (const seq of [2, 3, 6]) assert.equal(await rc.channel.msgs.firstSeqAtOrAfter(T[seq - 1]), seq, `seq ${seq} by its own timestamp after a reopen`);
      await re.close();
    });

    test('binary payloads and a large batch come back byte for byte, also cold after a reopen', async () => {
      const st = await start();
      const ch = st.createChannel('bin');
      const payload = (i: number): Buffer =>
        i === 1 ? Buffer.alloc(0) : i === 2 ? Buffer.from(Array.from({ length: 256 }, (_, b) => b)) : i === 3 ? Buffer.alloc(65_536, 0xa5) : Buffer.from(`m${i}\u0000\\x'"`);
      // More rows than one INSERT statement's arrays or parameters, and than one read page.
      const n = 25_000;
      for (let i = 1; i <= n; i++) ch.msgs.store({ seq: i, timestamp: (T0_MS + i) * 1e6, subject: 'bin', reply: '', data: payload(i) });
      await st.commit();
      await st.close();
      if (!s.persistent) return;
      const re = await open();
      const rec = await re.recover();
      const rc = rec?.channels.find((c) => c.channel.name === 'bin');
      assert.ok(rc);
      assert.equal(rc.channel.msgs.msgCount, n);
      for (const i of [1, 2, 3, 4, 2_049, 20_000, 20_001, n]) {
        const m: StoredMsg | undefined = rc.channel.msgs.lookupCached(i) ?? (await rc.channel.msgs.lookup(i));
        assert.ok(m, `message ${i}`);
        assert.equal(m.seq, i);
        assert.equal(m.timestamp, (T0_MS + i) * 1e6);
        assert.deepEqual(Buffer.from(MsgProtoCodec.decode(m.bytes).data), payload(i), `payload of message ${i}`);
      }
      await re.close();
    });

    test('append (when offered) stores exactly what store() stores, ignores old sequences and applies limits', async () => {
      const st = await start(limits({ maxMsgs: 3 }));
      const a = st.createChannel('app');
      const b = st.createChannel('sto');
      if (a.msgs.append === undefined) {
        await st.close();
        return;
      }
      for (let i = 1; i <= 5; i++) {
        const msg = { seq: i, timestamp: (T0_MS + i) * 1e6, subject: 'same', reply: i % 2 ? 'r' : '', data: Buffer.from(`m${i}`) };
        a.msgs.append(msg);
        b.msgs.store(msg);
      }
      a.msgs.append({ seq: 4, timestamp: T0_MS * 1e6, subject: 'same', reply: '', data: Buffer.from('old') });
      await st.commit();
      for (const ms of [a.msgs, b.msgs]) assert.deepEqual([ms.firstSeq, ms.lastSeq, ms.msgCount, ms.lastTimestamp], [3, 5, 3, (T0_MS + 5) * 1e6]);
      assert.equal(a.msgs.byteCount, b.msgs.byteCount);
      for (let i = 3; i <= 5; i++) {
        const x = a.msgs.lookupCached(i) ?? (await a.msgs.lookup(i));
        const y = b.msgs.lookupCached(i) ?? (await b.msgs.lookup(i));
        assert.ok(x && y, `message ${i}`);
        assert.equal(x.timestamp, y.timestamp);
        assert.deepEqual(Buffer.from(x.bytes), Buffer.from(y.bytes), `message ${i} byte for byte`);
      }
      await st.close();
      if (!s.persistent) return;
      const re = await open('contract', limits({ maxMsgs: 3 }));
      const rec = await re.recover();
      const rc = rec?.channels.find((c) => c.channel.name === 'app');
      assert.ok(rc);
      assert.deepEqual([rc.channel.msgs.firstSeq, rc.channel.msgs.lastSeq, rc.channel.msgs.msgCount], [3, 5, 3]);
      const m5 = rc.channel.msgs.lookupCached(5) ?? (await rc.channel.msgs.lookup(5));
      assert.deepEqual(Buffer.from(MsgProtoCodec.decode(m5!.bytes).data), Buffer.from('m5'));
      await re.close();
    });

    test('count and bytes limits drop the oldest, always keeping the newest', async () => {
      const st = await start(limits({ maxMsgs: 3 }));
      for (let i = 1; i <= 10; i++) put(st, 'cnt', i, 'x'.repeat(10));
      await st.commit();
      const ch = st.lookupChannel('cnt');
      assert.ok(ch);
      assert.deepEqual([ch.msgs.firstSeq, ch.msgs.lastSeq, ch.msgs.msgCount], [8, 10, 3]);
      assert.equal(await ch.msgs.lookup(7), undefined, 'a dropped message is gone');
      await st.close();

      const one = (await ch.msgs.lookup(10))?.bytes.length ?? 0;
      const sb = await start(limits({ maxBytes: 1 }));
      for (let i = 1; i <= 4; i++) put(sb, 'bytes', i, 'y'.repeat(100));
      await sb.commit();
      const cb = sb.lookupChannel('bytes');
      assert.ok(cb);
      assert.deepEqual([cb.msgs.firstSeq, cb.msgs.lastSeq, cb.msgs.msgCount], [4, 4, 1], 'the newest message stays even above max_bytes');
      assert.ok(cb.msgs.byteCount > 0 && (one === 0 || cb.msgs.byteCount >= one));
      await sb.close();
      if (!s.persistent) return;
      const re = await open('contract', limits({ maxBytes: 1 }));
      const rec = await re.recover();
      const rc = rec?.channels.find((c) => c.channel.name === 'bytes');
      assert.deepEqual([rc?.channel.msgs.firstSeq, rc?.channel.msgs.msgCount], [4, 1], 'limits survive a reopen');
      await re.close();
    });

    test('max_age expires by the injected clock', async () => {
      const st = await start(limits({ maxAge: 1000 }));
      for (let i = 1; i <= 3; i++) put(st, 'aged', i, `old${i}`);
      await st.commit();
      // The store's clock moves past max_age: the old messages expire, newer ones stay.
      clock += 5000;
      for (let i = 4; i <= 5; i++) put(st, 'aged', i, `new${i}`);
      await st.commit();
      const ch = st.lookupChannel('aged');
      assert.ok(ch);
      await until('the three old messages expire', () => ch.msgs.firstSeq === 4);
      assert.equal(ch.msgs.msgCount, 2);
      assert.equal(await ch.msgs.lookup(2), undefined);
      assert.equal((await ch.msgs.lookup(4))?.seq, 4);
      await st.close();
    });

    test('max_age boundary: a message exactly max_age old expires, one a millisecond younger stays', async () => {
      const st = await start(limits({ maxAge: 1000 }));
      put(st, 'edge', 1, 'at-limit', clock);
      put(st, 'edge', 2, 'younger', clock + 1);
      await st.commit();
      // Every store applies one rule (limits/policy.ts isAgeExpired): age >= max_age expires.
      clock += 1000;
      const ch = st.lookupChannel('edge');
      assert.ok(ch);
      await until('the message exactly max_age old expires', () => ch.msgs.firstSeq === 2);
      assert.equal(ch.msgs.msgCount, 1, 'the message 1 ms younger than max_age stays');
      assert.equal((await ch.msgs.lookup(2))?.seq, 2);
      await st.close();
    });

    test('subscriptions and pending sets; max_subs refuses the next one', async () => {
      const st = await start(limits({ maxSubscriptions: 2 }));
      const ch = st.createChannel('subs');
      for (let i = 1; i <= 5; i++) put(st, 'subs', i, `m${i}`);
      const durable = sub('me', 'dur');
      ch.subs.createSub(durable);
      const plain = sub('me', '');
      ch.subs.createSub(plain);
      assert.ok(durable.ID > 0 && plain.ID > 0 && durable.ID !== plain.ID, 'IDs are assigned, unique');
      assert.equal(ch.subs.subCount, 2);
      assert.throws(() => ch.subs.createSub(sub('me', 'third')), new RegExp(ERR_TOO_MANY_SUBS));
      for (let i = 1; i <= 5; i++) ch.subs.addSeqPending(durable.ID, i);
      ch.subs.ackSeqPending(durable.ID, 1);
      ch.subs.ackSeqPending(durable.ID, 3);
      durable.lastSent = 5;
      ch.subs.updateSub(durable);
      ch.subs.deleteSub(plain.ID);
      assert.equal(ch.subs.subCount, 1);
      await st.commit();
      await st.close();
      if (!s.persistent) return;
      const re = await open('contract', limits({ maxSubscriptions: 2 }));
      const rec = await re.recover();
      const rc = rec?.channels.find((c) => c.channel.name === 'subs');
      assert.ok(rc);
      assert.equal(rc.subs.length, 1, 'the deleted subscription stays deleted');
      assert.equal(rc.subs[0].state.durableName, 'dur');
      assert.equal(rc.subs[0].state.lastSent, 5);
      assert.deepEqual(rc.subs[0].pending, [2, 4, 5]);
      await re.close();
    });

    test('admin purge keeps the last sequence; admin durable reset moves back and clears pending; both survive a reopen', async () => {
      const st = await start();
      const ch = st.createChannel('adm');
      for (let i = 1; i <= 10; i++) put(st, 'adm', i, `m${i}`);
      const durable = sub('me', 'dur');
      ch.subs.createSub(durable);
      for (let i = 1; i <= 8; i++) ch.subs.addSeqPending(durable.ID, i);
      durable.lastSent = 8;
      ch.subs.updateSub(durable);
      await st.commit();
      const msgs = ch.msgs;
      const subs = ch.subs;
      assert.ok(isPurgeableMsgStore(msgs) && isResettableSubStore(subs), 'every built-in store can purge and reset');
      let firstThree = 0;
      for (let i = 1; i <= 3; i++) firstThree += (await msgs.lookup(i))?.bytes.length ?? 0;
      const total = msgs.byteCount;
      assert.equal(await msgs.purgeBefore(4), 3);
      assert.deepEqual([msgs.firstSeq, msgs.lastSeq, msgs.msgCount, msgs.byteCount], [4, 10, 7, total - firstThree]);
      assert.equal(await msgs.lookup(3), undefined, 'a purged message is gone');
      assert.equal((await msgs.lookup(4))?.seq, 4);
      assert.equal(await msgs.purgeBefore(2), 0, 'nothing below the first sequence');
      subs.resetPosition(durable.ID, 5);
      await st.commit();
      assert.equal(await msgs.purgeBefore(100), 7);
      assert.deepEqual([msgs.firstSeq, msgs.lastSeq, msgs.msgCount, msgs.byteCount], [11, 10, 0, 0]);
      await st.commit();
      await st.close();
      if (!s.persistent) return;
      const re = await open();
      const rc = (await re.recover())?.channels.find((c) => c.channel.name === 'adm');
      assert.ok(rc);
      assert.deepEqual([rc.channel.msgs.lastSeq, rc.channel.msgs.msgCount], [10, 0], 'the channel keeps its last sequence');
      assert.equal(await rc.channel.msgs.lookup(10), undefined);
      assert.deepEqual([rc.subs[0]?.state.lastSent, rc.subs[0]?.pending], [5, []]);
      await re.close();
    });

    test('channel deletion, and max_channels', async () => {
      const st = await start(limits({ maxChannels: 2 }));
      put(st, 'a', 1, 'x');
      put(st, 'b', 1, 'y');
      assert.equal(st.channelCount, 2);
      assert.throws(() => st.createChannel('c'), new RegExp(ERR_TOO_MANY_CHANNELS));
      st.deleteChannel('a');
      assert.equal(st.lookupChannel('a'), undefined);
      assert.equal(st.channelCount, 1);
      // The freed slot can be used again, and the name starts over.
      put(st, 'a', 1, 'fresh');
      await st.commit();
      await st.close();
      if (!s.persistent) return;
      const re = await open('contract', limits({ maxChannels: 2 }));
      const rec = await re.recover();
      assert.deepEqual(rec?.channels.map((c) => c.channel.name).sort(), ['a', 'b']);
      const a = rec?.channels.find((c) => c.channel.name === 'a');
      assert.equal(a?.channel.msgs.msgCount, 1);
      assert.equal(Buffer.from((await a?.channel.msgs.lookup(1))?.bytes ?? []).includes(Buffer.from('fresh')), true);
      await re.close();
    });

    test('a channel deleted before its rows are written leaves none in the database, also with rows in a transaction in flight; the other channels\' rows of the batch are stored', { skip: s.storedRows === undefined ? 'this store keeps no message rows in a database' : false }, async () => {
      const rows = s.storedRows;
      assert.ok(rows);
      const st = await start(limits({ maxChannels: 0 }));
      put(st, 'kept', 1, 'k1');
      await st.commit();
      // Deleted with its rows still pending: they would share the batch of its DELETE.
      for (let i = 1; i <= 20; i++) put(st, 'pending', i, `p${i}`);
      put(st, 'kept', 2, 'k2');
      const pendingID = rows.idOf(st.lookupChannel('pending') ?? assert.fail('pending'));
      st.deleteChannel('pending');
      put(st, 'kept', 3, 'k3');
      await st.commit();
      // Deleted while its rows are in a transaction in flight (more rows than FILE writes
      // inline: handed to the write thread; PostgreSQL/MariaDB: sent, not yet committed): the
      // next transaction, which carries the DELETE, is committed after that one.
      for (let i = 1; i <= 40; i++) put(st, 'flying', i, `f${i}`);
      const flyingID = rows.idOf(st.lookupChannel('flying') ?? assert.fail('flying'));
      const first = st.commit();
      // The commit loop takes the batch on the next turn (setImmediate, queued before ours).
      await new Promise((r) => setImmediate(r));
      st.deleteChannel('flying');
      put(st, 'kept', 4, 'k4');
      await Promise.all([first, st.commit()]);
      const kept = st.lookupChannel('kept');
      assert.ok(kept);
      const stored = await rows.perChannel(st);
      assert.equal(stored.get(pendingID), undefined, 'no row of the channel deleted with rows pending');
      assert.equal(stored.get(flyingID), undefined, 'no row of the channel deleted with rows in flight');
      assert.deepEqual([...stored], [[rows.idOf(kept), 4]], 'the other channel\'s rows of the same batches are stored');
      await st.close();
      const re = await open('contract', limits({ maxChannels: 0 }));
      const rec = await re.recover();
      assert.deepEqual(rec?.channels.map((c) => [c.channel.name, c.channel.msgs.msgCount]), [['kept', 4]]);
      await re.close();
    });

    test('after a crash, every channel recovers the counts of its message rows (many channels, some empty)', { skip: s.persistent ? false : 'this store keeps nothing across a restart (MEMORY)' }, async () => {
      const unlimited = limits({ maxChannels: 0 });
      const st = await start(unlimited);
      // More channels than one aggregate query takes (src/store/sql/recovery.ts AGG_CHANNELS):
      // every 3rd empty, the others with 1..5 rows.
      const n = 260;
      for (let c = 0; c < n; c++) {
        if (c % 3 === 0) st.createChannel(`agg.${c}`);
        else for (let i = 1; i <= 1 + (c % 5); i++) put(st, `agg.${c}`, i, `m${c}.${i}`);
      }
      await st.commit();
      const live = new Map([...Array(n).keys()].map((c) => [`agg.${c}`, st.lookupChannel(`agg.${c}`)?.msgs]));
      // Recovered by a second store while the first is still open: no snapshot at close.
      const re = await open('contract', unlimited);
      const rec = await re.recover();
      assert.ok(rec);
      assert.equal(rec.channels.length, n);
      for (const rc of rec.channels) {
        const m = rc.channel.msgs;
        const want = live.get(rc.channel.name);
        assert.ok(want, rc.channel.name);
        assert.deepEqual([m.firstSeq, m.lastSeq, m.msgCount, m.byteCount], [want.firstSeq, want.lastSeq, want.msgCount, want.byteCount], rc.channel.name);
      }
      await re.close();
      await st.close();
    });

    test('a persistent store refuses data of another cluster ID, naming the fix', { skip: s.persistent ? false : 'this store keeps nothing across a restart (MEMORY)' }, async () => {
      const st = await start();
      put(st, 'foo', 1, 'x');
      await st.commit();
      await st.close();
      const other = await open('another');
      await assert.rejects(other.recover(), /belongs to the STAN cluster "contract", not "another".*-cid contract/);
      await other.close();
    });
  });
}
