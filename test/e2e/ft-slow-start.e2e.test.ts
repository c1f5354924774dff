/**
 * An FT active whose start-up outlasts its lease (here: the partitioning channel check waits
 * 1 s, the lease lasts 1 s) keeps the lease — it renews from the moment it takes it, not from
 * "ready" — and serves a client that publishes the instant it says ready. Before, the lease
 * expired under the starting server: the standby took over mid-start-up, and the first
 * publishes after "ready" met a closed send gate and were dropped (client: ack timeout).
 */
import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ACTIVE_RE, ftStore, spawnFt, STEP_DOWN_RE, type FtStore } from '../helpers/ft';
import { RealNatsServer } from '../helpers/nats-server';
import type { Proc } from '../helpers/proc';
import { close, connect, publish } from '../helpers/stan';

const CLUSTER = `ft-slow-start-${process.pid}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-ft-slow-'));
const procs: Proc[] = [];
let nats: RealNatsServer | undefined;
let store: FtStore | undefined;

after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  await store?.cleanup();
  await nats?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('an FT active whose start-up outlasts the lease keeps it and answers the publishes sent the instant it is ready', async () => {
  nats = await RealNatsServer.start();
  store = await ftStore('file');
  const conf = path.join(dir, 'part.conf');
  fs.writeFileSync(conf, 'partitioning: true\nstore_limits: {\n  channels: {\n    "slow.>": {}\n  }\n}\n');
  const ftOpts = {
    natsURL: nats.url,
    clusterID: CLUSTER,
    group: 'slow',
    store,
    extra: ['-sc', conf, '-m', '0', '--ft_lease_ttl', '1s', '--ft_lease_renew', '200ms', '--ft_lease_poll', '100ms'],
  };
  const first = await spawnFt(ftOpts);
  procs.push(first);
  const second = await spawnFt(ftOpts);
  procs.push(second);
  await first.waitForLine(ACTIVE_RE, { timeoutMs: 15000 });
  await first.waitForLine(/Streaming Server is ready/, { timeoutMs: 15000 });

  const sc = await connect(nats.url, CLUSTER, 'slow-start-client', { connectTimeout: 5000, ackTimeout: 5000 });
  try {
    for (let i = 1; i <= 5; i++) await publish(sc, 'slow.a', `m${i}`);
  } finally {
    await close(sc);
  }
  const report = `first:\n${first.output}\nsecond:\n${second.output}`;
  assert.doesNotMatch(first.output, STEP_DOWN_RE, report);
  assert.doesNotMatch(second.output, ACTIVE_RE, report);
});
