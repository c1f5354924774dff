/**
 * Crash test (issue 3, "How it is checked"): the real executable on FILE, PostgreSQL and
 * MariaDB; a client publishes 10,000 messages asynchronously while a durable subscriber
 * consumes; the server is killed with SIGKILL in the middle and started again on the same
 * store. Every message that got a PubAck is stored exactly once (sequences contiguous from 1)
 * and the durable resumes from its acknowledged position (unacknowledged ones may come again,
 * flagged redelivered).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Proc, startServerProc } from '../helpers/proc';
import { testDatabase } from '../helpers/db';
import { close, Collector, connect, opts, publish, sleep, subscribe, until, type Message } from '../helpers/stan';
import { assertAckedExactlyOnce, dropClient, publishAsync } from '../helpers/durability';

type Kind = 'file' | 'postgres' | 'mysql';
const KINDS: Kind[] = ['file', 'postgres', 'mysql'];
const TOTAL = 10_000;

const procs: Proc[] = [];
after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
});

async function storeArgs(kind: Kind): Promise<string[]> {
  if (kind === 'file') return ['-store', 'file', '-dir', fs.mkdtempSync(path.join(os.tmpdir(), 'stan-crash-'))];
  const db = await testDatabase(kind === 'postgres' ? 'postgres' : 'mariadb', 'crash');
  return ['-store', 'sql', '--sql_driver', kind, '--sql_source', db.url, '--sql_auto_migrate'];
}

/** Reads a channel from the start with a new client until no message came for `idleMs`. */
async function readUntilIdle(url: string, clusterID: string, channel: string, idleMs = 800, maxMs = 20000): Promise<Message[]> {
  const sc = await connect(url, clusterID, `reader-${Math.random().toString(36).slice(2, 10)}`);
  try {
    const sub = await subscribe(sc, channel, opts(sc, (o) => o.setDeliverAllAvailable().setMaxInFlight(20_000).setAckWait(60_000)));
    const col = new Collector(sub, true);
    const t0 = Date.now();
    let n = -1;
    let since = Date.now();
    while (Date.now() - t0 < maxMs) {
      await sleep(100);
      if (col.msgs.length !== n) {
        n = col.msgs.length;
        since = Date.now();
      } else if (Date.now() - since >= idleMs) break;
    }
    return col.msgs.slice();
  } finally {
    await close(sc);
  }
}

for (const kind of KINDS) {
  describe(`crash recovery (${kind})`, () => {
    test(`kill -9 while publishing ${TOTAL} messages: acked messages stored exactly once, durable resumes`, async () => {
      const args = [...(await storeArgs(kind)), '-cid', 'crash'];
      const first = await startServerProc(args);
      procs.push(first.proc);
      const url = first.url;
      const channel = 'crash.ch';

      // The durable subscriber acks everything it receives.
      const dur = await connect(url, 'crash', 'dur-client');
      const durAcked = new Set<number>();
      const dSub = await subscribe(dur, channel, opts(dur, (o) => o.setDurableName('cd').setDeliverAllAvailable().setManualAckMode(true).setMaxInFlight(500).setAckWait(30_000)));
      dSub.on('message', (m: Message) => {
        m.ack();
        durAcked.add(m.getSequence());
      });
      const contiguous = (): number => {
        let n = 0;
        while (durAcked.has(n + 1)) n++;
        return n;
      };

      const pub = await connect(url, 'crash', 'publisher', { maxPubAcksInflight: 1000, ackTimeout: 10_000 });
      let killed = false;
      let ackCount = 0;
      let checkpoint = -1;
      const pubDone = publishAsync(pub, channel, TOTAL, {
        window: 1000,
        // Paced (about 5 s for all) so the kill lands in the middle on every store.
        ratePerSec: 2000,
        payload: (i) => `crash-${i}`,
        stop: () => killed,
        onAck: () => {
          ackCount++;
        },
      });
      // Checkpoint: what the durable has acked by now is committed by the publishes that follow.
      await until(() => ackCount >= 3000, 20_000, '3000 PubAcks');
      checkpoint = contiguous();
      await new Promise<void>((r) => (dur as unknown as { nc: { flush(cb: () => void): void } }).nc.flush(() => r()));
      await sleep(300);
      await until(() => ackCount >= 4500, 20_000, '4500 PubAcks');
      assert.ok(ackCount < TOTAL - 500, `still publishing when killed (${ackCount} acked)`);
      first.proc.child.kill('SIGKILL');
      await first.proc.waitExit();
      killed = true;
      dropClient(pub);
      dropClient(dur);
      const res = await pubDone;
      const preAcked = new Set(durAcked);
      assert.ok(checkpoint > 0, 'the durable had acked something before the crash');
      assert.ok(res.acked.size >= 4500, `acked before the crash: ${res.acked.size}`);

      // Restart on the same store (another port: new clients).
      const second = await startServerProc(args);
      procs.push(second.proc);
      const url2 = second.url;

      // The durable resumes (same client ID: the dead connection is replaced).
      const dur2 = await connect(url2, 'crash', 'dur-client');
      const dSub2 = await subscribe(dur2, channel, opts(dur2, (o) => o.setDurableName('cd').setManualAckMode(true).setMaxInFlight(20_000).setAckWait(30_000)));
      const col = new Collector(dSub2, true);
      // Publishing works and appends after the recovered messages.
      const pub2 = await connect(url2, 'crash', 'publisher2');
      for (let i = 1; i <= 5; i++) await publish(pub2, channel, `after-${i}`);
      for (let i = 1; i <= 5; i++) res.acked.add(`after-${i}`);
      await close(pub2);

      const all = await readUntilIdle(url2, 'crash', channel);
      assertAckedExactlyOnce(all, res.acked);
      const last = all.length;
      assert.deepEqual(
        all.slice(-5).map((m) => String(m.getData())),
        ['after-1', 'after-2', 'after-3', 'after-4', 'after-5'],
      );
      // Unacknowledged publishes may be stored (written before the PubAck went out), never twice.
      assert.ok(last >= res.acked.size && last <= res.sent + 5, `stored ${last}, acked ${res.acked.size}, sent ${res.sent}`);

      const t0 = Date.now();
      let n = -1;
      let since = Date.now();
      while (Date.now() - t0 < 20_000) {
        await sleep(100);
        if (col.msgs.length !== n) {
          n = col.msgs.length;
          since = Date.now();
        } else if (Date.now() - since >= 800) break;
      }
      const got = col.msgs;
      assert.deepEqual(
        got.filter((m) => m.getSequence() <= checkpoint).map((m) => m.getSequence()).slice(0, 10),
        [],
        `nothing at or below the acked checkpoint ${checkpoint} again`,
      );
      const delivered = new Set(got.map((m) => m.getSequence()));
      const missing: number[] = [];
      for (let seq = checkpoint + 1; seq <= last; seq++) if (!preAcked.has(seq) && !delivered.has(seq)) missing.push(seq);
      assert.deepEqual(missing.slice(0, 10), [], `every message after the checkpoint is delivered or was acked (${missing.length} missing)`);
      // New (non-redelivered) deliveries form one run up to the end; redeliveries come before it.
      const fresh = got.filter((m) => !m.isRedelivered()).map((m) => m.getSequence());
      assert.ok(fresh.length >= 5, 'the messages published after the restart are new to the durable');
      {
        const lo = fresh[0];
        assert.deepEqual(fresh, Array.from({ length: last - lo + 1 }, (_, i) => lo + i), 'new messages in order, none skipped');
        const lateRedelivered = got.filter((m) => m.isRedelivered() && m.getSequence() >= lo).map((m) => m.getSequence());
        assert.deepEqual(lateRedelivered, [], 'redelivered messages were sent before the crash');
      }
      console.log(
        `# ${kind}: acked ${res.acked.size - 5}/${res.sent} before the crash, stored ${last - 5}; durable checkpoint ${checkpoint}, ` +
          `acked before crash ${preAcked.size}, after restart ${got.length} delivered (${got.length - fresh.length} redelivered)`,
      );
      await close(dur2);
      await second.proc.stop('SIGTERM');
    });
  });
}
