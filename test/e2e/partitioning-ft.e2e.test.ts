/**
 * Fault tolerance per partition (reference README "Fault Tolerance and Partitioning"): an
 * FT pair owns `foo.>`, a plain partitioned server owns `bar.>`, all with one cluster ID on
 * one real nats-server. The standby of the pair does not take part in the channel-list
 * check (it would conflict with its own active); when the active dies the standby takes
 * over, passes the check and serves `foo.>`.
 */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultStoreLimits } from '../../src/config/options';
import type { ServerHandle } from '../../src/index';
import { ftStore, spawnFt, waitActive, type FtStore } from '../helpers/ft';
import { RealNatsServer } from '../helpers/nats-server';
import type { Proc } from '../helpers/proc';
import { startTestServer } from '../helpers/server';
import { close, connect, publish } from '../helpers/stan';

const CLUSTER = `part-ft-${process.pid}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-part-ft-'));
const procs: Proc[] = [];
let nats: RealNatsServer | undefined;
let bar: ServerHandle | undefined;
let store: FtStore | undefined;

after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  await bar?.close();
  await store?.cleanup();
  await nats?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('an FT pair serves one partition; the standby takes over and passes the channel check', async () => {
  nats = await RealNatsServer.start();
  bar = await startTestServer({
    streaming: { clusterID: CLUSTER, natsServerURL: nats.url, partitioning: true, storeLimits: { ...defaultStoreLimits(), perChannel: { 'bar.>': {} } } },
  });
  store = await ftStore('file');
  const conf = path.join(dir, 'foo.conf');
  fs.writeFileSync(conf, 'partitioning: true\nstore_limits: {\n  channels: {\n    "foo.>": {}\n  }\n}\n');
  const ftOpts = { natsURL: nats.url, clusterID: CLUSTER, group: 'foo', store, extra: ['-sc', conf, '-m', '0'] };
  const first = await spawnFt(ftOpts);
  procs.push(first);
  await waitActive(first, 30000);
  const second = await spawnFt(ftOpts);
  procs.push(second);

  const sc = await connect(nats.url, CLUSTER, 'part-ft-client', { connectTimeout: 5000, ackTimeout: 5000 });
  try {
    await publish(sc, 'foo.a', '1');
    await publish(sc, 'bar.a', '1');
  } finally {
    await close(sc);
  }
  assert.equal(bar.server.core.channels.has('foo.a'), false);
  assert.ok(bar.server.core.channels.has('bar.a'));

  // The active dies: the standby takes over and checks its list with the other servers.
  await first.kill();
  await waitActive(second, 60000);
  assert.doesNotMatch(second.output, /causes conflict/);
  const sc2 = await connect(nats.url, CLUSTER, 'part-ft-client2', { connectTimeout: 5000, ackTimeout: 5000 });
  try {
    await publish(sc2, 'foo.b', '2');
    await publish(sc2, 'bar.b', '2');
  } finally {
    await close(sc2);
  }
  assert.ok(bar.server.core.channels.has('bar.b'));
  assert.equal(bar.server.core.channels.has('foo.b'), false);
});
