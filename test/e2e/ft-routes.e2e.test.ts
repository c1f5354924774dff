/**
 * An FT pair without -ns, as operators run the reference: each server's NATS (a nats-server
 * child, since routes are configured) routed to the other's with --cluster and --routes, one
 * FILE store directory shared. A real client connected to the standby's NATS publishes and
 * reads through the route; after a kill -9 of the active the standby takes over the same
 * store, and the client's next publishes are acked and stored after the first ones.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePorts, spawnServer, type Proc } from '../helpers/proc';
import { STANDBY_RE, waitActive } from '../helpers/ft';
import { close, Collector, connect, opts, publishN, subscribe, type Stan } from '../helpers/stan';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-ft-routes-'));
const procs: Proc[] = [];
after(async () => {
  for (const p of procs) await p.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('an FT pair over routed NATS (--cluster/--routes): publishes and deliveries through the route, and a takeover after kill -9', async () => {
  const [portA, portB, routeA, routeB] = await freePorts(4);
  const spawn = (port: number, route: number, peer: number): Proc => {
    const p = spawnServer(['-p', String(port), '-cid', 'ft-routes', '--ft_group', 'g', '--store', 'file', '--dir', dir, '--cluster', `nats://127.0.0.1:${route}`, '--routes', `nats://127.0.0.1:${peer}`]);
    procs.push(p);
    return p;
  };
  const a = spawn(portA, routeA, routeB);
  await waitActive(a);
  const b = spawn(portB, routeB, routeA);
  await b.waitForLine(STANDBY_RE, { timeoutMs: 15000 });

  // The client is on B's NATS: its requests reach the active A over the route. The two NATS
  // servers agree on their (generated) cluster name only at the route's second attempt, ~1 s
  // after B starts: a connect request sent before that reaches no STAN server, so it is retried.
  let sc: Stan | undefined;
  for (let attempt = 1; sc === undefined; attempt++) {
    try {
      sc = await connect(`nats://127.0.0.1:${portB}`, 'ft-routes', 'routes-client', { connectTimeout: 2000 });
    } catch (err) {
      if (attempt === 10) throw err;
    }
  }
  try {
    await publishN(sc, 'ft.routes', 300, 'a');
    const first = new Collector(await subscribe(sc, 'ft.routes', opts(sc, (o) => o.setDeliverAllAvailable())));
    await first.waitFor(300);
    assert.deepEqual(first.msgs.map((m) => m.getSequence()), Array.from({ length: 300 }, (_, i) => i + 1));
    assert.equal(first.msgs[299].getData().toString(), 'a300');

    await a.kill();
    await waitActive(b, 20000);
    await publishN(sc, 'ft.routes', 100, 'b');
    const all = new Collector(await subscribe(sc, 'ft.routes', opts(sc, (o) => o.setDeliverAllAvailable())));
    await all.waitFor(400);
    assert.deepEqual(all.msgs.map((m) => m.getSequence()), Array.from({ length: 400 }, (_, i) => i + 1));
    assert.equal(all.msgs[300].getData().toString(), 'b1', 'the new active stored the next publish after the first 300');
  } finally {
    await close(sc).catch(() => undefined);
  }
});
