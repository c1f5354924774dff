/**
 * Clustered mode on a three-node MariaDB Galera cluster (issue 13): three server processes
 * started with the reference's clustering command lines (seed 002: `-clustered
 * -cluster_node_id a -cluster_peers b,c -nats_server …`, only the store flags changed), each
 * pointing at its own Galera node, on one real nats-server. One test, in phases, so the
 * Galera cluster starts once:
 *
 *   1. one leader, two followers; serverz state/role/node_id, isFTActive 204, readyz only on
 *      the leader, healthz everywhere;
 *   2. a fourth process with the leader's node ID stops with a clear error; the leader serves on;
 *   3. kill -9 of the leader and of its Galera node under load (publisher + durable
 *      subscriber): a follower leads, the same clients continue; failover time printed;
 *   4. both restarted: the node rejoins as a follower;
 *   5. SIGSTOP of the leader for 10 s: another node leads; after SIGCONT the old leader
 *      steps down without a single PubAck (raw PubAck inboxes watched);
 *   6. every acknowledged message stored and read exactly once; the durable got them all.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGalera, type GaleraCluster } from '../helpers/galera';
import { RealNatsServer } from '../helpers/nats-server';
import { freePort, spawnServer, type Proc } from '../helpers/proc';
import { httpGet, readyz } from '../helpers/http';
import { rawNats, rawStanConnect, type NatsConnection } from '../helpers/raw';
import { RawAckWatcher } from '../helpers/raw-acks';
import { close, subscribe, type Message } from '../helpers/stan';
import { checkExactlyOnce, connectClient, ContinuousPublisher, dbKnex, readChannel, sqlArgs, storedSeqs } from '../helpers/ft';
import { MIGRATIONS } from '../../migrations';
import { migrate } from '../../src/store/sql/migrator';
import { uniqueName } from '../helpers/db';

const CID = 'test-cluster';
const IDS = ['a', 'b', 'c'] as const;
const LEADER_RE = /clustering: this node is now the leader \(cluster "[^"]*", epoch (\d+)\)/;
const FOLLOWER_RE = /Server state is CLUSTERED \(Follower\)/;
const STEP_DOWN_RE = /clustering: stepping down, this node is no longer the leader/;

const WHERE_RE = /taking the lease took|now the leader|warm takeover|full recovery at takeover|Streaming Server is ready/;

/** "+1234 ms" from the kill to a log line (its wall-clock timestamp, local time of this machine). */
function sinceKill(line: string, killedWall: number): string {
  const m = /(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{3})/.exec(line);
  if (m === null) return '?';
  const [y, mo, d, h, mi, s, ms] = m.slice(1).map(Number);
  return `+${new Date(y, mo - 1, d, h, mi, s, ms).getTime() - killedWall} ms`;
}

let galera: GaleraCluster;
let nats: RealNatsServer;
before(async () => {
  [galera, nats] = await Promise.all([startGalera(3), RealNatsServer.start()]);
});
after(async () => {
  await nats?.stop();
  await galera?.destroy();
});

interface Node {
  id: string;
  index: number;
  monitorPort: number;
  proc: Proc;
}

async function startNode(index: number, db: string, monitorPort: number): Promise<Node> {
  const id = IDS[index];
  const peers = IDS.filter((p) => p !== id).join(',');
  const store = sqlArgs(galera.nodes[index], db).map((a) => a.replace(/^--(store|sql_driver|sql_source)$/, '-$1'));
  const proc = spawnServer([...store, '-clustered', '-cluster_node_id', id, '-cluster_peers', peers, '-nats_server', nats.url, '-m', String(monitorPort)]);
  await proc.waitForLine(FOLLOWER_RE, { timeoutMs: 20000 });
  return { id, index, monitorPort, proc };
}

async function serverz(n: Node): Promise<{ state: string; role: string; node_id: string }> {
  return JSON.parse((await httpGet(n.monitorPort, '/streaming/serverz')).body) as { state: string; role: string; node_id: string };
}

function lines(n: Node): string[] {
  return n.proc.stdoutLines.concat(n.proc.stderrLines);
}

/**
 * Resolves with the first of `nodes` that logs "now the leader" and then "ready" after the
 * call (`fromStart`: lines already logged count too); prints who led before, for the record.
 */
async function nextLeader(nodes: Node[], fromStart = false, timeoutMs = 30000): Promise<{ node: Node; epoch: number }> {
  const mark = new Map(nodes.map((n) => [n, fromStart ? 0 : lines(n).length]));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const n of nodes) {
      const fresh = lines(n).slice(mark.get(n));
      const i = fresh.findIndex((l) => LEADER_RE.test(l));
      if (i >= 0 && fresh.slice(i).some((l) => /Streaming Server is ready/.test(l))) return { node: n, epoch: Number(LEADER_RE.exec(fresh[i])?.[1]) };
    }
    if (Date.now() > deadline) throw new Error(`no new leader among ${nodes.map((n) => n.id).join(', ')}\n${nodes.map((n) => n.proc.output).join('\n')}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The live node whose serverz says Leader (polled until exactly one does). */
async function currentLeader(nodes: Node[], timeoutMs = 30000): Promise<Node> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const live = nodes.filter((n) => n.proc.exit === undefined);
    const roles = await Promise.all(live.map((n) => serverz(n).then((z) => z.role).catch(() => '?')));
    const leaders = live.filter((_n, i) => roles[i] === 'Leader');
    if (leaders.length === 1) return leaders[0];
    if (Date.now() > deadline) throw new Error(`leaders: ${leaders.map((n) => n.id).join(', ') || 'none'}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('three clustered servers on Galera: election, monitoring, duplicate ID, kill -9 failover, rejoin, SIGSTOP split, nothing lost', async () => {
  const db = uniqueName('cl');
  await galera.nodes[0].createDatabase(db);
  const knex = dbKnex(galera.nodes[1], db);
  await migrate(knex, { migrations: MIGRATIONS });
  const nodes: Node[] = [];
  let raw: NatsConnection | undefined;
  const durableGot: Message[] = [];
  try {
    for (let i = 0; i < 3; i++) nodes.push(await startNode(i, db, await freePort()));
    const first = await nextLeader(nodes, true);
    let leader = first.node;

    // 1. Monitoring as the reference in clustered mode.
    for (const n of nodes) {
      const z = await serverz(n);
      assert.equal(z.state, 'CLUSTERED');
      assert.equal(z.node_id, n.id);
      assert.equal(z.role, n === leader ? 'Leader' : 'Follower', `${n.id}: ${JSON.stringify(z)}`);
      assert.equal((await httpGet(n.monitorPort, '/streaming/isFTActive')).status, 204);
      assert.equal((await readyz(n.monitorPort)).status, n === leader ? 200 : 503, n.id);
      assert.equal((await httpGet(n.monitorPort, '/healthz')).status, 200, n.id);
    }
    assert.match(leader.proc.stdout + leader.proc.stderr, /clustering: node "\w" \(configured\) of cluster "test-cluster"; peers: \w, \w/);

    // 2. A second process with the leader's node ID.
    const dupStore = sqlArgs(galera.nodes[(leader.index + 1) % 3], db);
    const dup = spawnServer([...dupStore, '-clustered', '-cluster_node_id', leader.id, '-nats_server', nats.url]);
    const dupExit = await dup.waitExit(20000);
    assert.equal(dupExit.code, 1, dup.output);
    assert.match(dup.stderr, new RegExp(`another running node of cluster "test-cluster" uses the node ID "${leader.id}"`));
    assert.ok(leader.proc.exit === undefined, 'the first node keeps serving');

    // 3. Load: a publisher and a durable subscriber (real client), then kill -9 leader + its Galera node.
    const sc = await connectClient(nats.url, CID, 'cl-pub', { ackTimeout: 4000, maxPubAcksInflight: 2000 });
    const subc = await connectClient(nats.url, CID, 'cl-sub');
    const so = subc.subscriptionOptions().setDurableName('dur').setDeliverAllAvailable().setManualAckMode(true).setAckWait(2000).setMaxInFlight(500);
    const sub = await subscribe(subc, 'orders', so);
    sub.on('message', (m: Message) => {
      durableGot.push(m);
      m.ack();
    });
    const pub = new ContinuousPublisher(sc, 'orders', 20);
    raw = await rawNats(nats.url);
    const rc = await rawStanConnect(raw, CID, 'cl-raw');
    const watcher = new RawAckWatcher(raw, CID, 'cl-raw', rc.connID, 'orders');
    try {
      await pub.waitAcks(200);
      const survivors = nodes.filter((n) => n !== leader);
      const secondP = nextLeader(survivors);
      const killedAt = performance.now();
      const killedWall = Date.now();
      leader.proc.child.kill('SIGKILL');
      await galera.nodes[leader.index].kill();
      const firstAck = pub.firstAckOfPublishSentAfter(killedAt, 40000);
      const second = await secondP.catch((err: unknown) => {
        for (const n of survivors) console.log(`--- ${n.id}\n${n.proc.output}\n--- galera ${n.index}\n${galera.nodes[n.index].logTail(40)}`);
        throw err;
      });
      console.log(`# clustered failover (Galera) kill -9 leader + its node → first PubAck from the new leader: ${((await firstAck) - killedAt).toFixed(0)} ms`);
      // Where the time went: the new leader's election and recovery lines, from the kill.
      for (const l of lines(second.node).filter((x) => WHERE_RE.test(x))) console.log(`#   ${sinceKill(l, killedWall)} ${l.replace(/^.*STREAM: /, '')}`);
      assert.ok(second.epoch > first.epoch);
      await pub.waitAcks(200);

      // 4. Restart the killed Galera node and server: it rejoins as a follower.
      const dead = leader;
      await galera.nodes[dead.index].restart();
      await galera.waitForSize(3);
      const back = await startNode(dead.index, db, dead.monitorPort);
      nodes[dead.index] = back;
      assert.equal((await serverz(back)).role, 'Follower');
      // The rejoining Galera node's rsync SST blocks its donor: a leader on the donor can
      // lose its lease meanwhile and step down (another node then leads). Ask who leads now.
      leader = await currentLeader(nodes);
      if (leader !== second.node) console.log(`# clustered (Galera): leadership moved from ${second.node.id} to ${leader.id} after the failover`);

      // 5. SIGSTOP the leader for 10 s: another node leads; after SIGCONT the old one steps down silently.
      watcher.start();
      await pub.waitAcks(100);
      const others = nodes.filter((n) => n !== leader && n.proc.exit === undefined);
      assert.ok(others.length > 0, `a follower is left\n${nodes.map((n) => `${n.id}: ${JSON.stringify(n.proc.exit)}\n${n.proc.output}`).join('\n')}`);
      const thirdP = nextLeader(others);
      const stoppedAt = performance.now();
      leader.proc.child.kill('SIGSTOP');
      const third = await thirdP;
      const takenAt = performance.now();
      console.log(`# clustered split (Galera): ${third.node.id} leads ${(takenAt - stoppedAt).toFixed(0)} ms after SIGSTOP of leader ${leader.id}`);
      const pausedFor = performance.now() - stoppedAt;
      if (pausedFor < 10000) await new Promise((r) => setTimeout(r, 10000 - pausedFor));
      const resumedAt = performance.now();
      leader.proc.child.kill('SIGCONT');
      await leader.proc.waitForLine(STEP_DOWN_RE, { timeoutMs: 15000 });
      assert.equal((await leader.proc.waitExit(10000)).code, 1, leader.proc.output);
      await pub.waitAcks(200);
      assert.ok(third.node.proc.exit === undefined);
      watcher.stop();
      await new Promise((r) => setTimeout(r, 300));
      const twice = [...watcher.replies].filter(([, l]) => l.length > 1);
      assert.deepEqual(twice.slice(0, 5), [], 'no guid answered twice (the old leader sent no PubAck)');
      const errors = [...watcher.replies].filter(([, l]) => l.some((e) => e !== ''));
      assert.deepEqual(errors.slice(0, 5), [], 'no error PubAck');
      assert.ok([...watcher.sentAt.values()].filter((t) => t > resumedAt).length > 20, 'raw publishes while both ran');
    } finally {
      watcher.stop();
      await pub.stop();
    }

    // 6. Nothing acknowledged lost or duplicated; the durable received every acked message.
    const acked = [...pub.acked.keys(), ...watcher.acked()];
    const msgs = await readChannel(nats.url, CID, 'orders', acked.length);
    assert.deepEqual(checkExactlyOnce(msgs, acked, await storedSeqs(knex)), [], `acked ${acked.length}`);
    const deadline = Date.now() + 30000;
    const missing = (): string[] => {
      const got = new Set(durableGot.map((m) => String(m.getData())));
      return acked.filter((p) => !got.has(p));
    };
    while (missing().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(missing().slice(0, 5), [], 'the durable got every acknowledged message');
    await close(sc);
    await close(subc);
  } finally {
    await raw?.close();
    for (const n of nodes) {
      if (n.proc.exit === undefined) n.proc.child.kill('SIGCONT');
      await n.proc.kill();
    }
    await knex.destroy();
  }
});
