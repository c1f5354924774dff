/**
 * Partitioning after start-up (spec §7.2): two servers own the same channel but start on
 * two separate nats-servers, so neither sees the other. When the NATS cluster forms (a
 * third nats-server routes to both), the servers are told about the new NATS servers,
 * send their channel lists again and the conflict stops them (fatal).
 */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { defaultServerOptions, defaultStoreLimits, type ServerOptions } from '../../src/config/options';
import { StreamingServer } from '../../src/stan/streaming-server';
import { NATS_SERVER_BIN } from '../helpers/nats-server';
import { freePort, Proc, waitForPort } from '../helpers/proc';
import { storeOptionsFor, testStore } from '../helpers/server';

const CLUSTER = `part-topo-${process.pid}`;
const procs: Proc[] = [];
const servers: StreamingServer[] = [];

after(async () => {
  await Promise.all(servers.map((s) => s.shutdown().catch(() => undefined)));
  await Promise.all(procs.map((p) => p.kill()));
});

async function natsNode(routes: number[]): Promise<{ url: string; clusterPort: number }> {
  const port = await freePort();
  const clusterPort = await freePort();
  const args = ['-a', '127.0.0.1', '-p', String(port), '--cluster_name', 'part-topo', '--cluster', `nats://127.0.0.1:${clusterPort}`];
  if (routes.length > 0) args.push('--routes', routes.map((r) => `nats://127.0.0.1:${r}`).join(','));
  const proc = new Proc(spawn(NATS_SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] }), `nats-server -p ${port}`);
  procs.push(proc);
  await waitForPort(port, 10000);
  return { url: `nats://127.0.0.1:${port}`, clusterPort };
}

async function partitioned(natsURL: string, channels: string[], onFatal: (why: string) => void): Promise<StreamingServer> {
  const base = defaultServerOptions();
  const perChannel: Record<string, object> = {};
  for (const c of channels) perChannel[c] = {};
  const options: ServerOptions = {
    streaming: {
      ...base.streaming,
      ...(await storeOptionsFor(testStore())),
      clusterID: CLUSTER,
      natsServerURL: natsURL,
      partitioning: true,
      storeLimits: { ...defaultStoreLimits(), perChannel },
    },
    nats: { ...base.nats, host: '127.0.0.1', port: 0 },
    explicit: new Set<string>(),
  };
  const s = await StreamingServer.start(options, { onFatal });
  servers.push(s);
  return s;
}

test('a conflict discovered when the NATS cluster forms stops the servers involved', async () => {
  const natsA = await natsNode([]);
  const natsB = await natsNode([]);
  const fatal: string[] = [];
  let notify: () => void = () => undefined;
  const firstFatal = new Promise<void>((resolve) => {
    notify = resolve;
  });
  const onFatal = (why: string): void => {
    fatal.push(why);
    notify();
  };
  // Separate NATS servers: both start (nobody answers their lists).
  const s1 = await partitioned(natsA.url, ['shared.*', 'only-one'], onFatal);
  const s2 = await partitioned(natsB.url, ['shared.x', 'only-two'], onFatal);
  assert.deepEqual(fatal, []);

  // A third nats-server routes to both: the cluster forms and clients learn new servers.
  await natsNode([natsA.clusterPort, natsB.clusterPort]);
  await Promise.race([
    firstFatal,
    new Promise((_, reject) => setTimeout(() => reject(new Error('no conflict reported within 30 s')), 30000)),
  ]);
  const expected = [
    `Partitioning error: channel "shared.*" causes conflict with channels on server "${s2.serverID}"`,
    `Partitioning error: channel "shared.x" causes conflict with channels on server "${s1.serverID}"`,
  ];
  assert.ok(expected.includes(fatal[0]), `unexpected: ${fatal[0]}`);
  const failed = fatal[0] === expected[0] ? s1 : s2;
  assert.equal(failed.state, 'FAILED');
});
