/**
 * NATS cluster routes (`--cluster`, `--routes`): the NATS role is served by a real
 * nats-server child of our server (src/nats/child-server.ts). Real processes throughout:
 * our CLI, the Debian nats-server binary as the child, node-nats-streaming clients.
 *
 *  - an FT pair whose children are routed to each other, sharing a FILE (SQLite) store: a
 *    client publishes through A's NATS port and another subscribes through B's; kill -9 of
 *    the active A → its child dies with it, B takes over, the subscriber on B's NATS gets the
 *    messages the publisher (reconnected to B's NATS) keeps sending;
 *  - /routez and /varz of our monitor come from the child, /streaming/* from us;
 *  - the child is gone after SIGTERM and after SIGKILL of our server; a dying child stops
 *    our server with exit code 1;
 *  - start-up errors: no binary, a child that cannot start (its lines are quoted), -ns.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { freePort, freePorts, spawnServer, type Proc } from '../helpers/proc';
import { ACTIVE_RE, STANDBY_RE, ftStore, waitActive, connectClient, type FtStore } from '../helpers/ft';
import { close, Collector, publish, subscribe, until } from '../helpers/stan';
import { httpGet } from '../helpers/http';
import { RealNatsServer } from '../helpers/nats-server';

const STARTED_CHILD_RE = /Started nats-server .* \(pid (\d+)\)/;
const ROUTE_UP_RE = /Route connection created/;

/** The pid of the nats-server child, from our server's start-up line. */
async function childPid(p: Proc, timeoutMs = 20000): Promise<number> {
  const line = await p.waitForLine(STARTED_CHILD_RE, { timeoutMs });
  return Number(STARTED_CHILD_RE.exec(line)?.[1]);
}

/** Alive = the pid exists and is not a zombie waiting for its (new) parent to reap it. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

async function waitGone(pid: number, timeoutMs = 10000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} still alive after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Our temporary configuration directories (stan-nats-*) that exist now. */
function childConfDirs(): Set<string> {
  return new Set(fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('stan-nats-')));
}

interface RoutedPorts {
  client: number;
  cluster: number;
  http: number;
}

/** Ports for one routed server: client, cluster, monitor (distinct: freePorts, not freePort three times). */
async function ports(): Promise<RoutedPorts> {
  const [client, cluster, http] = await freePorts(3);
  return { client, cluster, http };
}

/**
 * Ports for the two servers of a routed pair, all six distinct: ports picked one after the
 * other may repeat (a port released by one pick is handed out again), and a pair's monitor
 * port equal to the other's listener failed a run with EADDRINUSE.
 */
async function pairPorts(): Promise<[RoutedPorts, RoutedPorts]> {
  const p = await freePorts(6);
  return [
    { client: p[0], cluster: p[1], http: p[2] },
    { client: p[3], cluster: p[4], http: p[5] },
  ];
}

function routedArgs(me: { client: number; cluster: number }, peer: { cluster: number }): string[] {
  return ['-a', '127.0.0.1', '-p', String(me.client), '--cluster', `nats://127.0.0.1:${me.cluster}`, '--routes', `nats://127.0.0.1:${peer.cluster}`];
}

describe('NATS cluster routes: an FT pair over routed nats-server children', () => {
  let store: FtStore;
  const procs: Proc[] = [];
  before(async () => {
    store = await ftStore('file');
  });
  after(async () => {
    for (const p of procs) await p.kill();
    await store.cleanup();
  });

  test('publish via A\'s NATS, subscribe via B\'s; /routez from the child; kill -9 of A → its child dies, B takes over, the subscriber keeps receiving', async () => {
    const cid = 'routes-ft';
    const [pa, pb] = await pairPorts();
    const urlA = `nats://127.0.0.1:${pa.client}`;
    const urlB = `nats://127.0.0.1:${pb.client}`;
    const ftArgs = ['-cid', cid, '--ft_group', 'g', ...store.args];
    const a = spawnServer([...routedArgs(pa, pb), '-m', String(pa.http), ...ftArgs]);
    procs.push(a);
    await waitActive(a, 30000);
    const b = spawnServer([...routedArgs(pb, pa), '-m', String(pb.http), ...ftArgs]);
    procs.push(b);
    await b.waitForLine(STANDBY_RE, { timeoutMs: 30000 });
    const pidA = await childPid(a);
    const pidB = await childPid(b);
    assert.ok(alive(pidA) && alive(pidB));
    await a.waitForLine(ROUTE_UP_RE, { timeoutMs: 20000 });
    await b.waitForLine(ROUTE_UP_RE, { timeoutMs: 20000 });

    // Our monitor: NATS endpoints answered by the child (a real route to A), streaming by us.
    // Both sides solicit: a duplicate route may exist briefly; wait for the settled one.
    let routez: { num_routes: number } = { num_routes: -1 };
    for (const deadline = Date.now() + 20000; Date.now() < deadline; ) {
      routez = JSON.parse((await httpGet(pb.http, '/routez')).body) as { num_routes: number };
      if (routez.num_routes === 1) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(routez.num_routes, 1, JSON.stringify(routez));
    const varz = JSON.parse((await httpGet(pb.http, '/varz')).body) as { port: number; version: string; cluster?: { cluster_port?: number } };
    assert.equal(varz.port, pb.client);
    assert.equal(varz.cluster?.cluster_port, pb.cluster);
    const serverz = JSON.parse((await httpGet(pb.http, '/streaming/serverz')).body) as { state: string; cluster_id: string };
    assert.deepEqual([serverz.cluster_id, serverz.state], [cid, 'FT_STANDBY']);
    assert.equal((await httpGet(pb.http, '/readyz')).status, 503, 'the standby is not ready');

    // The publisher knows both NATS servers (it rides out the loss of A's); the subscriber
    // only B's.
    const pub = await connectClient(urlA, cid, 'pub', { servers: [urlA, urlB], ackTimeout: 5000 });
    const sub = await connectClient(urlB, cid, 'sub', { ackTimeout: 5000 });
    try {
      const s = await subscribe(sub, 'orders', sub.subscriptionOptions().setDeliverAllAvailable().setDurableName('d').setAckWait(5000));
      const col = new Collector(s, true);
      for (let i = 1; i <= 5; i++) await publish(pub, 'orders', `before-${i}`);
      await col.waitFor(5, 15000);

      a.child.kill('SIGKILL');
      await waitGone(pidA);
      await waitActive(b, 30000);
      assert.equal((await httpGet(pb.http, '/readyz')).status, 200, 'B serves');
      // The publisher reconnects to B's NATS; a publish may be lost in the switch: retry it.
      for (let i = 1; i <= 5; i++) {
        for (let attempt = 0; ; attempt++) {
          try {
            await publish(pub, 'orders', `after-${i}`);
            break;
          } catch (err) {
            if (attempt >= 10) throw err;
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      }
      // At-least-once: B may redeliver what A sent but whose ack it never saw.
      const want = [1, 2, 3, 4, 5].flatMap((i) => [`before-${i}`, `after-${i}`]);
      await until(() => want.every((w) => col.datas().includes(w)), 20000, `all of ${want.join(',')}`).catch(() => {
        assert.fail(`got ${col.datas().join(',')}`);
      });
      assert.ok(b.stdoutLines.concat(b.stderrLines).some((l) => ACTIVE_RE.test(l)));
    } finally {
      await close(pub).catch(() => undefined);
      await close(sub).catch(() => undefined);
    }
    const exit = await b.stop('SIGTERM', 20000);
    assert.equal(exit.code, 143, b.output);
    assert.ok(!alive(pidB), 'B\'s child is stopped with B');
  });
});

describe('NATS cluster routes: a standby whose child dies', () => {
  test('the FT standby stops waiting, says why and exits 1; the active keeps serving', async () => {
    const store = await ftStore('file');
    const procs: Proc[] = [];
    try {
      const cid = 'routes-standby';
      const [pa, pb] = await pairPorts();
      const ftArgs = ['-cid', cid, '--ft_group', 'g2', ...store.args];
      const a = spawnServer([...routedArgs(pa, pb), ...ftArgs]);
      procs.push(a);
      await waitActive(a, 30000);
      const b = spawnServer([...routedArgs(pb, pa), ...ftArgs]);
      procs.push(b);
      await b.waitForLine(STANDBY_RE, { timeoutMs: 30000 });
      process.kill(await childPid(b), 'SIGKILL');
      const exit = await b.waitExit(20000);
      assert.equal(exit.code, 1, b.output);
      assert.match(b.output, /\[FTL\] STREAM: the nats-server child \(pid \d+\) exited unexpectedly \(signal SIGKILL\)/);
      assert.doesNotMatch(b.output, /Streaming Server is ready/);
      // A is untouched: a client on its NATS still gets PubAcks.
      const sc = await connectClient(`nats://127.0.0.1:${pa.client}`, cid, 'still-there');
      try {
        await publish(sc, 'x', 'ok');
      } finally {
        await close(sc);
      }
    } finally {
      for (const p of procs) await p.kill();
      await store.cleanup();
    }
  });
});

describe('NATS cluster routes: the child process lifecycle', () => {
  test('SIGTERM: our server closes, then its child; no child process and no configuration directory left', async () => {
    const before = childConfDirs();
    const p = await ports();
    const proc = spawnServer(['-a', '127.0.0.1', '-p', String(p.client), '--cluster', `nats://127.0.0.1:${p.cluster}`]);
    try {
      await proc.waitForLine(/Streaming Server is ready/, { timeoutMs: 30000 });
      const pid = await childPid(proc);
      assert.ok(alive(pid));
      // The configuration (it may hold passwords) is deleted once the child is ready.
      assert.deepEqual([...childConfDirs()].filter((d) => !before.has(d)), []);
      const exit = await proc.stop('SIGTERM', 20000);
      assert.equal(exit.code, 143, proc.output);
      assert.ok(!alive(pid), `child ${pid} stopped before our server exited`);
      const out = proc.output;
      assert.ok(out.indexOf('STREAM: Shutting down.') < out.indexOf('Server Exiting'), 'the child stops after the streaming server');
    } finally {
      await proc.kill();
    }
  });

  test('SIGKILL of our server: the kernel kills the child too (parent-death signal)', async () => {
    const p = await ports();
    const proc = spawnServer(['-a', '127.0.0.1', '-p', String(p.client), '--cluster', `nats://127.0.0.1:${p.cluster}`]);
    let pid = 0;
    try {
      await proc.waitForLine(/Streaming Server is ready/, { timeoutMs: 30000 });
      pid = await childPid(proc);
      proc.child.kill('SIGKILL');
      await proc.waitExit(10000);
      await waitGone(pid, 10000);
    } finally {
      await proc.kill();
      if (pid !== 0 && alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  test('the child dies: our server logs why and exits 1', async () => {
    const p = await ports();
    const proc = spawnServer(['-a', '127.0.0.1', '-p', String(p.client), '--cluster', `nats://127.0.0.1:${p.cluster}`]);
    try {
      await proc.waitForLine(/Streaming Server is ready/, { timeoutMs: 30000 });
      const pid = await childPid(proc);
      process.kill(pid, 'SIGKILL');
      const exit = await proc.waitExit(20000);
      assert.equal(exit.code, 1, proc.output);
      assert.match(proc.output, /\[ERR\] STREAM: the nats-server child \(pid \d+\) exited unexpectedly \(signal SIGKILL\)/);
    } finally {
      await proc.kill();
    }
  });
});

describe('NATS cluster routes: start-up errors', () => {
  async function refused(args: string[], re: RegExp, env?: NodeJS.ProcessEnv): Promise<string> {
    const port = await freePort();
    const proc = spawnServer(['-a', '127.0.0.1', '-p', String(port), ...args], env ? { env } : {});
    const exit = await proc.waitExit(30000);
    assert.notEqual(exit.code, 0, proc.output);
    assert.match(proc.output, re);
    assert.doesNotMatch(proc.output, /Streaming Server is ready/);
    return proc.output;
  }

  test('--nats_server_bin /nonexistent: says so and what to install', async () => {
    await refused(
      ['--cluster', 'nats://127.0.0.1:6222', '--nats_server_bin', '/nonexistent/nats-server'],
      /--nats_server_bin "\/nonexistent\/nats-server": no executable file there;.*apt-get install nats-server/,
    );
  });

  test('no nats-server on PATH: says what to install or which flag to use', async () => {
    const env = { ...process.env, PATH: path.dirname(process.execPath) };
    await refused(['--routes', 'nats://127.0.0.1:6222'], /none was found on PATH: install it \(apt-get install nats-server.*--nats_server_bin/, env);
  });

  test('a child that cannot start (cluster port taken): its own lines are quoted, nothing left running', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const busyPort = (busy.address() as net.AddressInfo).port;
    try {
      const out = await refused(['--cluster', `nats://127.0.0.1:${busyPort}`], /nats-server exited \(exit code \d+\) before it was ready; its last lines:/);
      assert.match(out, /address already in use/);
      const m = STARTED_CHILD_RE.exec(out);
      assert.equal(m, null);
    } finally {
      busy.close();
    }
  });

  test('-ns together with --routes is refused (the routes would belong to the external server)', async () => {
    const nats = await RealNatsServer.start();
    try {
      await refused(['-ns', nats.url, '--routes', 'nats://127.0.0.1:6222'], /have no effect with -ns\/--nats_server/);
    } finally {
      await nats.stop();
    }
  });

  test('a bad --cluster URL is refused before anything starts', async () => {
    await refused(['--cluster', 'not a url'], /--cluster "not a url": not a URL; expected nats:\/\/host:port/);
  });
});

describe('NATS cluster routes: security flags reach the child', () => {
  test('--user/--pass and --tlscert/--tlskey/--tlsverify: the child requires them, our server connects with them, clients without are refused', async () => {
    const { generateTestCerts } = await import('../helpers/certs');
    const { connect, opts } = await import('../helpers/stan');
    const pki = await generateTestCerts(fs.mkdtempSync(path.join(os.tmpdir(), 'routes-pki-')));
    const p = await ports();
    const proc = spawnServer([
      '-a', '127.0.0.1', '-p', String(p.client), '--cluster', `nats://127.0.0.1:${p.cluster}`,
      // HTTPS monitoring only: the NATS endpoints still come from the child.
      '-ms', String(p.http),
      '--user', 'ops', '--pass', 's3cret',
      '--tlscert', pki.certFile, '--tlskey', pki.keyFile, '--tlsverify', '--tlscacert', pki.caFile,
      // The streaming server's own connection to its (verifying) child.
      '-tls_client_cert', pki.clientCertFile, '-tls_client_key', pki.clientKeyFile, '-tls_client_cacert', pki.caFile,
    ]);
    try {
      await proc.waitForLine(/Streaming Server is ready/, { timeoutMs: 30000 });
      const pid = await childPid(proc);
      const url = `nats://127.0.0.1:${p.client}`;
      const tls = { ca: fs.readFileSync(pki.caFile), cert: fs.readFileSync(pki.clientCertFile), key: fs.readFileSync(pki.clientKeyFile) };
      const good = await connect(url, 'test-cluster', 'secure-client', { user: 'ops', pass: 's3cret', tls, reconnect: false });
      const col = new Collector(await subscribe(good, 'secured', opts(good, (o) => o.setDeliverAllAvailable())));
      await publish(good, 'secured', 'through-tls-and-auth');
      assert.deepEqual((await col.waitFor(1)).map((m) => String(m.getData())), ['through-tls-and-auth']);
      await close(good);
      const { httpsGet } = await import('../helpers/http');
      const varz = await httpsGet(p.http, '/varz', tls.ca);
      assert.equal(varz.status, 200, varz.body);
      assert.equal((JSON.parse(varz.body) as { tls_verify?: boolean }).tls_verify, true, 'the child\'s /varz');
      await assert.rejects(connect(url, 'test-cluster', 'no-password', { tls, reconnect: false }), /Authorization/i);
      await assert.rejects(connect(url, 'test-cluster', 'no-cert', { user: 'ops', pass: 's3cret', tls: { ca: tls.ca }, reconnect: false }));
      const exit = await proc.stop('SIGTERM', 20000);
      assert.equal(exit.code, 143, proc.output);
      await waitGone(pid);
    } finally {
      await proc.kill();
    }
  });
});
