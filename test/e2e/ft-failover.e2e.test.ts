/**
 * FT failover with two real server processes on a real nats-server (issue 4): kill -9 of the
 * active during a publish stream → the standby takes over and the same STAN client keeps
 * publishing; then a clean shutdown (SIGTERM) of the new active → a third server, waiting as
 * standby, takes over at once because the lease was released. Every acknowledged message is
 * stored exactly once. Failover times (kill → first PubAck from the new active) are printed.
 * Default lease settings (ttl 1.5 s, renew 250 ms, poll 200 ms).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RealNatsServer } from '../helpers/nats-server';
import type { Proc } from '../helpers/proc';
import { close } from '../helpers/stan';
import {
  checkExactlyOnce,
  connectClient,
  ContinuousPublisher,
  type FtBackend,
  ftStore,
  leaseRow,
  readChannel,
  spawnFt,
  storedSeqs,
  waitActive,
} from '../helpers/ft';

let nats: RealNatsServer;
before(async () => {
  nats = await RealNatsServer.start();
});
after(async () => {
  await nats.stop();
});

const backends: FtBackend[] = ['file', 'postgres', 'mariadb'];

describe('FT failover: kill -9 and clean shutdown of the active', () => {
  for (const backend of backends) {
    test(`${backend}: kill -9 → standby active, client keeps publishing; SIGTERM → immediate takeover; acked stored exactly once`, async () => {
      const store = await ftStore(backend);
      const cid = `ft-fo-${backend}`;
      const group = `g-${backend}`;
      const procs: Proc[] = [];
      try {
        const spawn = async (): Promise<Proc> => {
          const p = await spawnFt({ natsURL: nats.url, clusterID: cid, group, store });
          procs.push(p);
          return p;
        };
        const a = await spawn();
        await waitActive(a);
        const b = await spawn();
        // B must stay standby while A holds the lease.
        await new Promise((r) => setTimeout(r, 600));
        assert.ok(!b.stdoutLines.concat(b.stderrLines).some((l) => /now active/.test(l)), `B stays standby\n${b.output}`);

        const sc = await connectClient(nats.url, cid, 'ft-pub', { ackTimeout: 4000, maxPubAcksInflight: 2000 });
        const pub = new ContinuousPublisher(sc, 'orders', 20);
        try {
          await pub.waitAcks(200);

          // 1. Crash of the active.
          const killedAt = performance.now();
          a.child.kill('SIGKILL');
          const firstAckB = pub.firstAckOfPublishSentAfter(killedAt);
          const epochB = await waitActive(b, 10000);
          const crashFailover = (await firstAckB) - killedAt;
          assert.equal((await a.exited).signal, 'SIGKILL');
          await pub.waitAcks(200);
          console.log(`# ft failover (${backend}) kill -9 → first PubAck from the new active: ${crashFailover.toFixed(0)} ms (goal < 2000)`);

          // 2. Clean shutdown of the (new) active: C takes over at once.
          const c = await spawn();
          await pub.waitAcks(100);
          const stoppedAt = performance.now();
          b.child.kill('SIGTERM');
          // B may still answer what it received before it stopped serving: measure with the
          // first PubAck of a publish sent once B is gone, which only C can answer.
          const bExit = await b.waitExit(10000);
          const firstAckC = pub.firstAckOfPublishSentAfter(performance.now());
          const epochC = await waitActive(c, 10000);
          const cleanFailover = (await firstAckC) - stoppedAt;
          assert.equal(bExit.code, 143, `B exits with the SIGTERM code\n${b.output}`);
          await pub.waitAcks(200);
          console.log(`# ft failover (${backend}) SIGTERM → first PubAck from the new active: ${cleanFailover.toFixed(0)} ms (goal < 500)`);
          assert.equal(epochC, epochB + 1, 'one takeover, one epoch');
          // A released lease is taken without waiting for its expiry: well under the lease TTL.
          assert.ok(cleanFailover < 1500, `takeover after a clean shutdown does not wait for the lease to expire: ${cleanFailover} ms`);
        } finally {
          await pub.stop();
          await close(sc);
        }
        assert.ok(pub.acked.size >= 700, `acks: ${pub.acked.size}`);
        const lease = await leaseRow(store.knex, group);
        assert.equal(lease?.epoch, 3, 'three holders: A, B, C');

        const msgs = await readChannel(nats.url, cid, 'orders', pub.acked.size);
        const problems = checkExactlyOnce(msgs, pub.acked.keys(), await storedSeqs(store.knex));
        assert.deepEqual(problems, [], `acked ${pub.acked.size}, unacked ${pub.failed.size}`);
      } finally {
        for (const p of procs) await p.kill();
        await store.cleanup();
      }
    });
  }
});
