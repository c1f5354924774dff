/**
 * The store contract's time searches with messages the database refused (a DBA's rule, as a
 * trigger: test/helpers/poison-trigger.ts) beside recovered ones: a refused message is a gap
 * in the sequence, but the time search must neither stop at it nor skip the recovered
 * messages before it, and a restart must restore the channel's last timestamp when the last
 * sequence is a refused one (the searches rely on timestamps never decreasing along the
 * sequence: src/store/sql/ts-search.ts). Stores without refusals (MEMORY) skip these.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoreLimits } from '../../src/config/options';
import { isPurgeableMsgStore, type ChannelStore, type MsgStore, type Store } from '../../src/store/contract';
import { serverInfo } from './store';
import { limits, T0_MS, until, type StoreUnderTest } from './store-contract';

const T0_NS = T0_MS * 1e6;
/** Message `seq`'s timestamp (ns) in the fixed cases: one second apart. */
const tsOf = (seq: number): number => T0_NS + seq * 1e9;

function put(ch: ChannelStore, seq: number, ts: number, poison: boolean): void {
  ch.msgs.store({ seq, timestamp: ts, subject: 'rf', reply: '', data: Buffer.from(poison ? `poison${seq}` : `m${seq}`) });
}

/** A deterministic pseudo-random sequence (the cases are the same on every run). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/** What the test stored on one channel of the randomised case, and which of it was refused. */
class Model {
  readonly stamps = new Map<number, number>();
  readonly refused = new Set<number>();
  seq = 0;
  ts = T0_NS;
  constructor(
    readonly name: string,
    readonly rnd: () => number,
    readonly maxMsgs: number,
  ) {}

  /** Stores `n` more messages: equal timestamps, one second apart, or a few hundred ns; about one in eight refused. */
  add(ch: ChannelStore, n: number): void {
    for (let i = 0; i < n; i++) {
      this.seq++;
      const x = this.rnd();
      this.ts += x < 0.5 ? 0 : x < 0.8 ? 1e9 : 256 * Math.floor(this.rnd() * 8);
      const poison = this.rnd() < 0.12;
      // After a restart that forgot a refused tail, its sequences are used again.
      if (poison) this.refused.add(this.seq);
      else this.refused.delete(this.seq);
      this.stamps.set(this.seq, this.ts);
      put(ch, this.seq, this.ts, poison);
    }
  }

  /**
   * Compares the store's answer with a scan of the messages present, for times around every
   * stored one. A refused sequence with nothing present between it and the scan's answer is
   * the same start (its publish may not be known refused yet). Returns the first mismatch.
   */
  async check(m: MsgStore): Promise<string | undefined> {
    const present = (q: number): boolean => q >= m.firstSeq && q <= m.lastSeq && this.stamps.has(q) && !this.refused.has(q);
    const times = new Set([0, ...[...this.stamps.values()].flatMap((t) => [t - 1e9, t - 256, t, t + 256]), this.ts + 1e10]);
    for (const t of times) {
      let want = m.lastSeq + 1;
      for (let q = m.firstSeq; q <= m.lastSeq; q++) {
        if (present(q) && (this.stamps.get(q) ?? 0) >= t) {
          want = q;
          break;
        }
      }
      const got = await m.firstSeqAtOrAfter(t);
      let same = got === want;
      if (!same && got < want) {
        same = true;
        for (let q = got; q < want; q++) if (present(q)) same = false;
      }
      if (!same) return `${this.name} (max_msgs ${this.maxMsgs}): at ${t - T0_NS} ns past T0, got ${got}, a scan finds ${want}; first ${m.firstSeq}, last ${m.lastSeq}, refused [${[...this.refused].join(',')}]`;
    }
    return undefined;
  }
}

export function storeRefusalTimeSuite(s: StoreUnderTest): void {
  const refusePoison = s.refusePoison;
  const skip = s.persistent && refusePoison !== undefined ? false : 'this store has no database to refuse a message, or keeps nothing across a restart';
  describe(`store contract, time searches with refused messages: ${s.name}`, { skip }, () => {
    if (refusePoison === undefined) return;
    /** The stores' clock (ms): max_age cases move it, every fresh start resets it. */
    let clock = T0_MS;
    const open = (l: StoreLimits): Promise<Store> => s.open({ clusterID: 'refusals', limits: l, now: () => clock });
    /** A fresh store, initialised, with the rule that refuses `poison` payloads. */
    const start = async (l: StoreLimits): Promise<Store> => {
      clock = T0_MS;
      await s.fresh();
      const st = await open(l);
      assert.equal(await st.recover(), null);
      st.init(serverInfo('refusals'));
      await refusePoison(st);
      return st;
    };
    const reopen = async (l: StoreLimits): Promise<{ st: Store; channels: Map<string, ChannelStore> }> => {
      const st = await open(l);
      const rec = await st.recover();
      assert.ok(rec, 'state recovered');
      return { st, channels: new Map(rec.channels.map((c) => [c.channel.name, c.channel])) };
    };

    test('the first message after a restart refused: start at time still finds the recovered messages, and purge by time keeps the newer ones', async () => {
      const first = await start(limits());
      const ch1 = first.createChannel('rf');
      for (let seq = 1; seq <= 10; seq++) put(ch1, seq, tsOf(seq), false);
      await first.commit();
      await first.close();
      const { st, channels } = await reopen(limits());
      const ch = channels.get('rf');
      assert.ok(ch);
      put(ch, 11, tsOf(11), true);
      put(ch, 12, tsOf(12), false);
      await st.commit();
      assert.match(ch.msgs.takeRefusal?.(11) ?? '', /poison payload refused/);
      const at = (t: number): Promise<number> => ch.msgs.firstSeqAtOrAfter(t);
      assert.deepEqual(
        [await at(0), await at(tsOf(1)), await at(tsOf(5)), await at(tsOf(5) + 1e6), await at(tsOf(10)), await at(tsOf(11)), await at(tsOf(12)), await at(tsOf(13))],
        [1, 1, 5, 6, 10, 12, 12, 13],
      );
      // The admin purge "before a time" removes what is older than the time, no more.
      const msgs = ch.msgs;
      assert.ok(isPurgeableMsgStore(msgs));
      assert.equal(await msgs.purgeBefore(await at(tsOf(5))), 4);
      await st.commit();
      assert.equal((await msgs.lookup(5))?.seq, 5);
      assert.equal(await at(0), 5);
      await st.close();
    });

    test('randomised: start at time equals a scan of the messages present (refused, recovered, new, not yet committed, limits)', async () => {
      const CHANNELS = 60;
      const models: Model[] = [];
      const l = limits({ perChannel: {} });
      for (let k = 1; k <= CHANNELS; k++) {
        const rnd = lcg(k);
        const maxMsgs = rnd() < 0.4 ? 5 + Math.floor(rnd() * 30) : 0;
        const name = `rf${k}`;
        if (maxMsgs > 0) l.perChannel[name] = { maxMsgs };
        models.push(new Model(name, rnd, maxMsgs));
      }
      const first = await start(l);
      for (const m of models) m.add(first.createChannel(m.name), 1 + Math.floor(m.rnd() * 60));
      await first.commit();
      await first.close();

      const { st, channels } = await reopen(l);
      const chOf = (m: Model): ChannelStore => {
        const ch = channels.get(m.name);
        assert.ok(ch, `${m.name} recovered`);
        return ch;
      };
      // Some channels' new messages are committed before the searches, others' not yet.
      const later: Array<[Model, number]> = [];
      for (const m of models) {
        const ch = chOf(m);
        // Recovery's last sequence is the last row or a truncation's record: a refused tail
        // after it is forgotten, and its sequences are used again.
        m.seq = ch.msgs.lastSeq;
        const n = Math.floor(m.rnd() * 40);
        if (m.rnd() < 0.7) m.add(ch, n);
        else later.push([m, n]);
      }
      await st.commit();
      for (const [m, n] of later) m.add(chOf(m), n);
      for (const m of models) m.add(chOf(m), Math.floor(m.rnd() * 5));
      const mismatches: string[] = [];
      for (const m of models) {
        const bad = await m.check(chOf(m).msgs);
        if (bad !== undefined) mismatches.push(bad);
      }
      await st.commit();
      await st.close();
      assert.deepEqual(mismatches, []);
    });

    test('a refused last message and a limits truncation in one commit: the restart restores the last timestamp', async () => {
      const l = limits({ maxMsgs: 5 });
      const first = await start(l);
      const ch1 = first.createChannel('rf');
      for (let seq = 1; seq <= 10; seq++) put(ch1, seq, tsOf(seq), seq === 10);
      await first.commit();
      await first.close();
      const { st, channels } = await reopen(l);
      const m = channels.get('rf')?.msgs;
      assert.ok(m);
      const got = { first: m.firstSeq, last: m.lastSeq, count: m.msgCount, lastTimestamp: m.lastTimestamp };
      await st.close();
      // Message 10 has no row: the newest timestamp stored is message 9's. Restored as 0, a
      // clock behind it after the restart would give the next messages decreasing timestamps.
      assert.deepEqual(got, { first: 6, last: 10, count: 5, lastTimestamp: tsOf(9) });
    });

    /** What monitoring shows of a channel: first, last, count, bytes. */
    const counts = (m: MsgStore): number[] => [m.firstSeq, m.lastSeq, m.msgCount, m.byteCount];
    /** The bytes of the messages present in first..last (byteCount is their sum: contract.ts). */
    const bytesPresent = async (m: MsgStore): Promise<number> => {
      let sum = 0;
      for (let q = m.firstSeq; q <= m.lastSeq; q++) sum += (await m.lookup(q))?.bytes.length ?? 0;
      return sum;
    };
    const MAX_AGE_MS = 60_000;
    /** Moves the clock so that every message up to `seq` is max_age old, the next ones not. */
    const ageThrough = (seq: number): void => {
      clock = T0_MS + seq * 1000 + MAX_AGE_MS;
    };
    /**
     * Stores 1..10 (`refused` poisoned) under max_msgs 5 (a truncation records 6..10), restarts
     * with max_age only (no count limit to drop recovered messages by an estimate of their
     * sizes), and stores 11 and 12 after the restart.
     */
    const recoveredThenNew = async (refused: number): Promise<{ st: Store; m: MsgStore }> => {
      const first = await start(limits({ maxMsgs: 5, maxAge: MAX_AGE_MS }));
      const ch1 = first.createChannel('rf');
      for (let seq = 1; seq <= 10; seq++) put(ch1, seq, tsOf(seq), seq === refused);
      await first.commit();
      await first.close();
      const { st, channels } = await reopen(limits({ maxAge: MAX_AGE_MS }));
      const ch = channels.get('rf');
      assert.ok(ch);
      // The count is the span first..last: the refused message counts until it is dropped;
      // its bytes do not (the truncation recorded them before the refusal was known).
      assert.deepEqual(counts(ch.msgs), [6, 10, 5, await bytesPresent(ch.msgs)]);
      for (const seq of [11, 12]) put(ch, seq, tsOf(seq), false);
      await st.commit();
      return { st, m: ch.msgs };
    };
    const reopened = async (): Promise<{ st: Store; m: MsgStore }> => {
      const { st, channels } = await reopen(limits({ maxAge: MAX_AGE_MS }));
      const m = channels.get('rf')?.msgs;
      assert.ok(m);
      return { st, m };
    };

    test('max_age after a restart whose recovered messages end with a refused one: once they expire, the newer messages still expire', async () => {
      const { st, m } = await recoveredThenNew(10);
      ageThrough(12);
      // Before: the first sequence stopped on 10 (no row, not a new message) and stayed there.
      await until('every message expires', () => m.firstSeq === 13);
      await st.commit();
      assert.deepEqual(counts(m), [13, 12, 0, 0]);
      await st.close();
      const again = await reopened();
      assert.deepEqual(counts(again.m), [13, 12, 0, 0]);
      await again.st.close();
    });

    test('max_age with a refused message among the expired recovered ones: count and bytes stay those of the messages held, also after a restart', async () => {
      const { st, m } = await recoveredThenNew(7);
      ageThrough(9);
      await until('6..9 expire', () => m.firstSeq === 10);
      await st.commit();
      // Before: the expiry subtracted the rows (6, 8, 9) from a count that held 7 too: 4.
      assert.deepEqual(counts(m), [10, 12, 3, await bytesPresent(m)]);
      const before = counts(m);
      await st.close();
      const again = await reopened();
      assert.deepEqual(counts(again.m), before, 'a restart recovers the counts of the running server');
      ageThrough(12);
      await until('every message expires', () => again.m.firstSeq === 13);
      await again.st.commit();
      assert.deepEqual(counts(again.m), [13, 12, 0, 0]);
      await again.st.close();
    });

    test('a refused message after the last truncation: a restart recovers the count the running server had, and max_age then empties the channel', async () => {
      const l = limits({ maxAge: MAX_AGE_MS });
      const first = await start(l);
      const ch1 = first.createChannel('rf');
      for (let seq = 1; seq <= 10; seq++) put(ch1, seq, tsOf(seq), seq === 4);
      await first.commit();
      const before = counts(ch1.msgs);
      assert.deepEqual(before, [1, 10, 10, await bytesPresent(ch1.msgs)]);
      await first.close();
      const { st, channels } = await reopen(l);
      const m = channels.get('rf')?.msgs;
      assert.ok(m);
      // Before: the restart counted the rows (9), the running server the span (10).
      assert.deepEqual(counts(m), before);
      ageThrough(10);
      await until('every message expires', () => m.firstSeq === 11);
      await st.commit();
      assert.deepEqual(counts(m), [11, 10, 0, 0]);
      await st.close();
    });
  });
}
