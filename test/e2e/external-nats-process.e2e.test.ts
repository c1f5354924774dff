/**
 * Our executable against a real, external NATS server (the Debian `nats-server`) with -ns:
 * start-up, real STAN clients, the single-instance check across processes, and a start-up
 * failure when the NATS server is unreachable.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { RealNatsServer } from '../helpers/nats-server';
import { freePort, Proc, READY_RE, spawnServer } from '../helpers/proc';
import { close, Collector, connect, publish, subscribe } from '../helpers/stan';

let nats: RealNatsServer;
const procs: Proc[] = [];
before(async () => {
  nats = await RealNatsServer.start();
});
after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  await nats.stop();
});

test('-ns: the process serves STAN clients through the external NATS server', async () => {
  const proc = spawnServer(['-cid', 'ext-proc', '-ns', nats.url, '-SD']);
  procs.push(proc);
  await proc.waitForLine(READY_RE);
  assert.match(proc.stderr, new RegExp(`STREAM: Connecting to NATS Server at ${nats.url.replace(/[.]/g, '\\.')}`));
  // No embedded NATS server is started.
  assert.doesNotMatch(proc.stderr, /Listening for client connections/);

  const pub = await connect(nats.url, 'ext-proc', 'ext-pub');
  const subc = await connect(nats.url, 'ext-proc', 'ext-sub');
  try {
    const sub = await subscribe(subc, 'ext.p', subc.subscriptionOptions().setDeliverAllAvailable());
    const col = new Collector(sub);
    for (let i = 1; i <= 20; i++) await publish(pub, 'ext.p', `m${i}`);
    await col.waitFor(20);
    assert.deepEqual(col.seqs(), Array.from({ length: 20 }, (_, i) => i + 1));
    await proc.waitForLine(/\[DBG\] STREAM: \[Client:ext-sub\] Connected/);
  } finally {
    await close(pub);
    await close(subc);
  }
  assert.equal((await proc.stop('SIGTERM')).code, 143);
  // The external NATS server is unaffected by our shutdown.
  const other = spawnServer(['-cid', 'ext-proc', '-ns', nats.url]);
  procs.push(other);
  await other.waitForLine(READY_RE);
  assert.equal((await other.stop('SIGINT')).code, 0);
});

test('single-instance check through the external NATS server', async () => {
  const first = spawnServer(['-cid', 'ext-solo', '-ns', nats.url]);
  procs.push(first);
  await first.waitForLine(READY_RE);

  const dup = spawnServer(['-cid', 'ext-solo', '-ns', nats.url]);
  procs.push(dup);
  const exit = await dup.waitExit();
  assert.notEqual(exit.code, 0);
  assert.match(dup.stderr, /discovered another streaming server with cluster ID "ext-solo"/);

  const different = spawnServer(['-cid', 'ext-solo-2', '-ns', nats.url]);
  procs.push(different);
  await different.waitForLine(READY_RE);

  const sc = await connect(nats.url, 'ext-solo', 'ext-solo');
  await publish(sc, 'a', 'b');
  await close(sc);
  await Promise.all([first.stop('SIGINT'), different.stop('SIGINT')]);
});

test('-ns with an unreachable NATS server: start-up fails with a message, non-zero exit', async () => {
  const port = await freePort();
  const proc = spawnServer(['-ns', `nats://127.0.0.1:${port}`]);
  procs.push(proc);
  const exit = await proc.waitExit(10000);
  assert.notEqual(exit.code, 0, proc.output);
  assert.match(proc.stderr, /\[FTL\] STREAM: .*(ECONNREFUSED|CONNECTION_REFUSED|connect)/i, proc.output);
  assert.doesNotMatch(proc.stderr, READY_RE);
});
