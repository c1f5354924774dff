/**
 * The store contract's time searches (test/helpers/store-contract.ts for the rest): start at
 * time and max_age, over messages stored since the store opened and over recovered ones. The
 * SQL store answers them without an index on `ts` (migration 0004, src/store/sql/ts-search.ts),
 * so its suites also run on a database at schema 3, where the `(channel_id, ts)` index exists.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoreLimits } from '../../src/config/options';
import type { MsgStore, Store } from '../../src/store/contract';
import { serverInfo } from './store';
import { limits, T0_MS, until, type StoreUnderTest } from './store-contract';

/** Message `seq`'s timestamp (ns): one second apart, 10–12 sharing one. */
function tsOf(seq: number): number {
  return (T0_MS + 1000 * (seq >= 10 && seq <= 12 ? 10 : seq)) * 1e6;
}

/** What a scan of messages 1..last finds: the first one at or after `t`, else last + 1. */
function scan(t: number, last: number): number {
  for (let q = 1; q <= last; q++) if (tsOf(q) >= t) return q;
  return last + 1;
}

/** Half a millisecond: a time between two messages' (a double this large moves in steps of 256 ns). */
const HALF_MS = 500_000;
const PROBES = [0, tsOf(1), tsOf(1) + HALF_MS, tsOf(9) + HALF_MS, tsOf(10), tsOf(11) + HALF_MS, tsOf(13) - HALF_MS, tsOf(25), tsOf(40), tsOf(40) + HALF_MS, tsOf(41), tsOf(43) - HALF_MS, tsOf(45), tsOf(45) + HALF_MS];

async function checkSearch(msgs: MsgStore, last: number, what: string): Promise<void> {
  for (const t of PROBES) assert.equal(await msgs.firstSeqAtOrAfter(t), scan(t, last), `${what}: first message at or after ${t}`);
}

export function storeTimeSuite(s: StoreUnderTest): void {
  describe(`store contract, time searches: ${s.name}`, () => {
    let clock = T0_MS;
    const open = (l: StoreLimits): Promise<Store> => s.open({ clusterID: 'time', limits: l, now: () => clock });
    const store = (msgs: MsgStore, from: number, to: number): void => {
      for (let seq = from; seq <= to; seq++) msgs.store({ seq, timestamp: tsOf(seq), subject: 'tm', reply: '', data: Buffer.from(`m${seq}`) });
    };
    /** A fresh store holding messages 1..40 on channel `tm`, committed. */
    const filled = async (l: StoreLimits): Promise<Store> => {
      await s.fresh();
      clock = T0_MS + 60_000;
      const st = await open(l);
      assert.equal(await st.recover(), null);
      st.init(serverInfo('time'));
      store(st.createChannel('tm').msgs, 1, 40);
      await st.commit();
      return st;
    };
    const recovered = async (l: StoreLimits): Promise<{ st: Store; msgs: MsgStore }> => {
      const st = await open(l);
      const ch = (await st.recover())?.channels.find((c) => c.channel.name === 'tm');
      assert.ok(ch, 'channel recovered');
      return { st, msgs: ch.channel.msgs };
    };

    test('start at time: the first message at or after a time, stored now, recovered, or on both sides', async () => {
      const st = await filled(limits());
      const ch = st.lookupChannel('tm');
      assert.ok(ch);
      await checkSearch(ch.msgs, 40, 'stored since the store opened');
      await st.close();
      if (!s.persistent) return;
      const re = await recovered(limits());
      await checkSearch(re.msgs, 40, 'recovered');
      // Newer messages beside the recovered ones: the answer lies on either side.
      store(re.msgs, 41, 45);
      await checkSearch(re.msgs, 45, 'recovered and new, the new ones not committed yet');
      await re.st.commit();
      await checkSearch(re.msgs, 45, 'recovered and new');
      await re.st.close();
    });

    test('max_age expires recovered messages up to the last one too old, and that survives a reopen', { skip: s.persistent ? false : 'this store keeps nothing across a restart (MEMORY)' }, async () => {
      const aged = limits({ maxAge: 100_000 });
      await (await filled(aged)).close();
      // The cutoff is message 20's timestamp: 1..20 are max_age old or older.
      clock = T0_MS + 20_000 + 100_000;
      const re = await recovered(aged);
      await until('the recovered messages older than max_age expire', () => re.msgs.firstSeq === 21);
      assert.equal(re.msgs.msgCount, 20);
      assert.equal(await re.msgs.lookup(20), undefined);
      assert.equal((await re.msgs.lookup(21))?.seq, 21);
      assert.equal(await re.msgs.firstSeqAtOrAfter(0), 21, 'start at time begins at the first message kept');
      await re.st.commit();
      await re.st.close();
      const again = await recovered(aged);
      assert.deepEqual([again.msgs.firstSeq, again.msgs.lastSeq, again.msgs.msgCount], [21, 40, 20]);
      await again.st.close();
    });
  });
}
