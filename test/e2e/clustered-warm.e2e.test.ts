/**
 * Warm followers (issue 13): a clustered follower tails stan_events while it waits for the
 * lease (src/store/events/log-follower.ts), so a takeover replays only the tail. On
 * PostgreSQL (STAN_TEST_STORE=mysql: MariaDB), two clustered servers, a publisher and a
 * durable subscriber (real clients):
 *
 *   1. kill -9 of the leader: the follower's takeover line says it replayed only the tail
 *      (counts) after following the leader's events; the durable continues; nothing lost;
 *   2. a follower paused (SIGSTOP) while the leader works and then shuts down cleanly (its
 *      close writes a snapshot, which deletes the events it covers): the follower detects the
 *      compaction and rebuilds from the snapshot; the durable continues; nothing lost.
 *
 * The failover time is printed, not asserted.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { RealNatsServer } from '../helpers/nats-server';
import { spawnServer, type Proc } from '../helpers/proc';
import { close, subscribe, type Message, type Stan } from '../helpers/stan';
import { checkExactlyOnce, connectClient, ContinuousPublisher, ftStore, readChannel, storedSeqs, tableCount, type FtStore } from '../helpers/ft';

const CID = 'test-cluster';
const BACKEND = process.env.STAN_TEST_STORE === 'mysql' ? 'mariadb' : 'postgres';
const FOLLOWING_RE = /clustering: following the event log every (\d+) ms/;
const WARM_RE = /clustering: warm takeover: replayed (\d+) event\(s\) written since the last poll; (\d+) event\(s\) followed before \(up to event \d+, (\d+) snapshot rebuild\(s\)\)/;
const FULL_RE = /clustering: full recovery at takeover \(([^)]*)\): replayed (\d+) event\(s\)/;

let nats: RealNatsServer | undefined;
after(async () => {
  await nats?.stop();
});

interface Load {
  pub: ContinuousPublisher;
  sc: Stan;
  subc: Stan;
  got: Message[];
}

async function startLoad(url: string, tag: string): Promise<Load> {
  const sc = await connectClient(url, CID, `${tag}-pub`, { ackTimeout: 4000, maxPubAcksInflight: 2000 });
  const subc = await connectClient(url, CID, `${tag}-sub`);
  const so = subc.subscriptionOptions().setDurableName('dur').setDeliverAllAvailable().setManualAckMode(true).setAckWait(2000).setMaxInFlight(200);
  const sub = await subscribe(subc, 'orders', so);
  const got: Message[] = [];
  sub.on('message', (m: Message) => {
    got.push(m);
    m.ack();
  });
  return { pub: new ContinuousPublisher(sc, 'orders', 20), sc, subc, got };
}

/** Every acknowledged message stored and read exactly once, and received by the durable. */
async function assertNothingLost(url: string, store: FtStore, load: Load): Promise<void> {
  await load.pub.stop();
  const acked = [...load.pub.acked.keys()];
  const msgs = await readChannel(url, CID, 'orders', acked.length);
  assert.deepEqual(checkExactlyOnce(msgs, acked, await storedSeqs(store.knex)), [], `acked ${acked.length}`);
  const missing = (): string[] => {
    const got = new Set(load.got.map((m) => String(m.getData())));
    return acked.filter((p) => !got.has(p));
  };
  const deadline = Date.now() + 30000;
  while (missing().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(missing().slice(0, 5), [], 'the durable got every acknowledged message');
}

async function closeLoad(load: Load | undefined): Promise<void> {
  await load?.pub.stop();
  if (load !== undefined) for (const c of [load.sc, load.subc]) await close(c).catch(() => undefined);
}

async function cluster(store: FtStore): Promise<{ a: Proc; b: Proc; url: string; procs: Proc[] }> {
  nats ??= await RealNatsServer.start();
  const url = nats.url;
  const args = store.args.map((x) => x.replace(/^--(store|sql_driver|sql_source)$/, '-$1'));
  const spawn = (id: string, peer: string): Proc => spawnServer([...args, '-clustered', '-cluster_node_id', id, '-cluster_peers', peer, '-nats_server', url]);
  const a = spawn('a', 'b');
  await a.waitForLine(/Streaming Server is ready/, { timeoutMs: 20000 });
  const b = spawn('b', 'a');
  await b.waitForLine(FOLLOWING_RE, { timeoutMs: 20000 });
  return { a, b, url, procs: [a, b] };
}

interface Loaded {
  a: Proc;
  b: Proc;
  url: string;
  store: FtStore;
  load: Load;
}

/** Two nodes (a leads, b follows) on a fresh store with a publisher and a durable running; always cleaned up. */
async function withLoadedCluster(tag: string, body: (c: Loaded) => Promise<void>): Promise<void> {
  const store = await ftStore(BACKEND);
  const { a, b, url, procs } = await cluster(store);
  let load: Load | undefined;
  try {
    load = await startLoad(url, tag);
    await body({ a, b, url, store, load });
  } finally {
    await closeLoad(load);
    for (const p of procs) {
      if (p.exit === undefined) p.child.kill('SIGCONT');
      await p.kill();
    }
    await store.cleanup();
  }
}

test(`warm follower (${BACKEND}): kill -9 of the leader, the follower replays only the tail, the durable continues, nothing lost`, () =>
  withLoadedCluster('w1', async ({ a, b, url, store, load }) => {
    await load.pub.waitAcks(500);
    const killedAt = performance.now();
    a.child.kill('SIGKILL');
    const firstAck = load.pub.firstAckOfPublishSentAfter(killedAt, 60000);
    await b.waitForLine(/Streaming Server is ready/, { timeoutMs: 30000 });
    console.log(`# warm follower (${BACKEND}): kill -9 leader → first PubAck from the new leader: ${((await firstAck) - killedAt).toFixed(0)} ms`);
    const line = await b.waitForLine(WARM_RE, { timeoutMs: 1000 });
    const [, replayed, followed] = (WARM_RE.exec(line) ?? []).map(Number);
    console.log(`# ${line.replace(/^.*clustering: /, '')}`);
    assert.ok(followed > 0, 'the follower folded the leader\'s events while waiting');
    assert.ok(replayed < followed, `only the tail is replayed at takeover (${replayed} of ${replayed + followed})`);
    assert.doesNotMatch(b.output, FULL_RE);
    await load.pub.waitAcks(300, 60000);
    await assertNothingLost(url, store, load);
  }));

test(`warm follower (${BACKEND}): a follower behind a snapshot compaction rebuilds from the snapshot, the durable continues, nothing lost`, () =>
  withLoadedCluster('w2', async ({ a, b, url, store, load }) => {
    await load.pub.waitAcks(100);
    await b.waitForLine(/clustering: following the event log: caught up at event \d+/, { timeoutMs: 20000 });
    // The follower stops reading; the leader goes on writing events it will not see.
    b.child.kill('SIGSTOP');
    await load.pub.waitAcks(300);
    // A clean shutdown writes a snapshot (deleting the events it covers), then releases the lease.
    assert.equal((await a.stop('SIGTERM')).code, 143, a.output);
    assert.ok((await tableCount(store.knex, 'stan_snapshots')) > 0, 'the leader wrote a snapshot on close');
    b.child.kill('SIGCONT');
    await b.waitForLine(/Streaming Server is ready/, { timeoutMs: 30000 });
    const out = b.output;
    const full = FULL_RE.exec(out);
    const warm = WARM_RE.exec(out);
    console.log(`# ${(full ?? warm)?.[0]}`);
    // Whichever of its timers fired first after SIGCONT: the takeover's last poll saw the
    // new snapshot (full recovery from it), or a follow poll did (rebuilt while following).
    assert.ok((full !== null && /snapshot compacted/.test(full[1])) || (warm !== null && Number(warm[3]) > 0), out);
    await load.pub.waitAcks(300, 60000);
    await assertNothingLost(url, store, load);
  }));

test(`two followers with one node ID (${BACKEND}): the second stops with a clear error, the first keeps following`, async () => {
  const store = await ftStore(BACKEND);
  const { a, b, url, procs } = await cluster(store);
  try {
    const args = store.args.map((x) => x.replace(/^--(store|sql_driver|sql_source)$/, '-$1'));
    const dup = spawnServer([...args, '-clustered', '-cluster_node_id', 'b', '-cluster_peers', 'a', '-nats_server', url]);
    procs.push(dup);
    const exit = await dup.waitExit(20000);
    assert.equal(exit.code, 1, dup.output);
    assert.match(dup.stderr, /another running node of cluster "test-cluster" uses the node ID "b" and started before this one/);
    await b.waitForLine(/clustering: another process \(server \w+\) started with this node's ID "b"; it will stop, this node keeps its role \(Follower\)/, { timeoutMs: 5000 });
    assert.equal(b.exit, undefined, 'the first follower runs on');
    assert.equal(a.exit, undefined, 'the leader serves on');
  } finally {
    for (const p of procs) await p.kill();
    await store.cleanup();
  }
});
