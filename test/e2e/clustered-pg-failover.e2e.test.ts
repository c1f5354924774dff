/**
 * Clustered mode on PostgreSQL with a synchronous standby (issue 13): two clustered servers
 * whose `--sql_source` is the multi-host DSN (test/helpers/pg-replication.ts). Under load the
 * primary is stopped and the standby promoted: the cluster serves again on the new primary
 * (the leader reconnects through the DSN, or steps down and the other node leads) and every
 * acknowledged message is stored and read exactly once. b's peers list disagrees with a's:
 * both log it (src/cluster/peers-gossip.ts). The time to the first PubAck after
 * the stop is printed, not asserted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPgReplication, type PgReplication } from '../helpers/pg-replication';
import { RealNatsServer } from '../helpers/nats-server';
import { spawnServer, type Proc } from '../helpers/proc';
import { close } from '../helpers/stan';
import { MIGRATIONS } from '../../migrations';
import { migrate } from '../../src/store/sql/migrator';
import { checkExactlyOnce, connectClient, ContinuousPublisher, dbKnex, readChannel, storedSeqs } from '../helpers/ft';

const CID = 'test-cluster';
let r: PgReplication;
let nats: RealNatsServer;
before(async () => {
  [r, nats] = await Promise.all([startPgReplication(), RealNatsServer.start()]);
});
after(async () => {
  await nats?.stop();
  await r?.destroy();
});

test('PostgreSQL primary stopped, standby promoted: the cluster serves on the new primary, nothing acknowledged lost', async () => {
  const source = r.multiHostSource();
  const procs: Proc[] = [];
  const spawn = (id: string, peer: string): Proc => {
    const p = spawnServer(['-store', 'sql', '-sql_driver', 'postgres', '-sql_source', source, '-clustered', '-cluster_node_id', id, '-cluster_peers', peer, '-nats_server', nats.url]);
    procs.push(p);
    return p;
  };
  const primaryKnex = dbKnex(r.primary, r.primary.database);
  await migrate(primaryKnex, { migrations: MIGRATIONS });
  await primaryKnex.destroy();
  const knex = dbKnex(r.standby, r.primary.database);
  try {
    const a = spawn('a', 'b');
    await a.waitForLine(/Streaming Server is ready/, { timeoutMs: 20000 });
    // b's peers list names a node the others do not know: both sides log the disagreement.
    const b = spawn('b', 'a,x');
    await b.waitForLine(/Server state is CLUSTERED \(Follower\)/, { timeoutMs: 20000 });
    await a.waitForLine(/\[WRN\] STREAM: clustering: node "b" lists the cluster as \[a, b, x\], this node "a" as \[a, b\]/, { timeoutMs: 20000 });
    await b.waitForLine(/clustering: node "a" lists the cluster as \[a, b\], this node "b" as \[a, b, x\]/, { timeoutMs: 20000 });
    const sc = await connectClient(nats.url, CID, 'pg-pub', { ackTimeout: 4000, maxPubAcksInflight: 2000 });
    const pub = new ContinuousPublisher(sc, 'orders', 20);
    try {
      await pub.waitAcks(200);
      const stoppedAt = performance.now();
      await r.primary.stop();
      await r.standby.promote();
      const firstAck = await pub.firstAckOfPublishSentAfter(performance.now(), 60000);
      console.log(`# clustered (PostgreSQL): primary stopped → first PubAck on the promoted standby: ${(firstAck - stoppedAt).toFixed(0)} ms`);
      await pub.waitAcks(200, 60000);
    } finally {
      await pub.stop();
      await close(sc);
    }
    const acked = [...pub.acked.keys()];
    const msgs = await readChannel(nats.url, CID, 'orders', acked.length);
    assert.deepEqual(checkExactlyOnce(msgs, acked, await storedSeqs(knex)), [], `acked ${acked.length}, failed ${pub.failed.size}`);
    const led = procs.filter((p) => /Streaming Server is ready/.test(p.stdout + p.stderr) && p.exit === undefined);
    assert.equal(led.length, 1, 'one node serves');
  } finally {
    for (const p of procs) await p.kill();
    await knex.destroy();
  }
});
