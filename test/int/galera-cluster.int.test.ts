/**
 * The Galera test harness (test/helpers/galera.ts) on a real three-node MariaDB Galera cluster:
 * replication between nodes, and a node killed with SIGKILL that rejoins after a restart.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as mysql from 'mysql2/promise';
import { startGalera, type GaleraCluster } from '../helpers/galera';

let g: GaleraCluster;

before(async () => {
  g = await startGalera(3);
});

after(async () => {
  await g?.destroy();
});

async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = await mysql.createConnection(url);
  try {
    const [rows] = await c.query(sql, params);
    return rows as T[];
  } finally {
    await c.end();
  }
}

function node(i: number): NonNullable<GaleraCluster['nodes'][number]> {
  const n = g.nodes[i];
  if (n === undefined) throw new Error(`no node ${i}`);
  return n;
}

test('three synced nodes; a row written on node 1 is read on node 3', async () => {
  for (const n of g.nodes) assert.equal(await n.status('wsrep_cluster_size'), '3');
  await query(node(0).url(), 'CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))');
  await query(node(0).url(), 'INSERT INTO t VALUES (1, ?)', ['from node1']);
  // wsrep_sync_wait: the read waits until node 3 applied everything committed before it.
  const c = await mysql.createConnection(node(2).url());
  let synced: Array<{ v: string }>;
  try {
    await c.query('SET SESSION wsrep_sync_wait = 1');
    const [rows] = await c.query('SELECT v FROM t WHERE id = 1');
    synced = rows as Array<{ v: string }>;
  } finally {
    await c.end();
  }
  assert.deepEqual(synced.map((r) => r.v), ['from node1']);
});

test('a node killed with SIGKILL rejoins after a restart and catches up', async () => {
  await node(1).kill();
  await g.waitForSize(2);
  await query(node(0).url(), 'INSERT INTO t VALUES (2, ?)', ['while node2 was down']);
  await node(1).restart();
  await g.waitForSize(3);
  assert.equal(await node(1).status('wsrep_local_state_comment'), 'Synced');
  const c = await mysql.createConnection(node(1).url());
  try {
    await c.query('SET SESSION wsrep_sync_wait = 1');
    const [rows] = await c.query('SELECT v FROM t WHERE id = 2');
    assert.deepEqual((rows as Array<{ v: string }>).map((r) => r.v), ['while node2 was down']);
  } finally {
    await c.end();
  }
});
