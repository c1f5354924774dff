/**
 * HTTP monitoring, NATS and health endpoints: the embedded NATS's /varz, /connz, /subsz
 * (nats-core spec §6), /healthz and /readyz, the external-NATS mode (NATS endpoints answer
 * 404, health endpoints work), the CLI's `-m` (log line, port), and an FT pair where the
 * standby answers isFTActive 204 and readyz 503 and the active one 200.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as natsConnect } from 'nats';
import { startServer, type ServerHandle } from '../../src/index';
import { freePort, spawnServer, waitForPort, READY_RE, type Proc } from '../helpers/proc';
import { RealNatsServer } from '../helpers/nats-server';
import { ftStore, spawnFt, ACTIVE_RE, type FtStore } from '../helpers/ft';
import { close, connect, publish } from '../helpers/stan';
import { httpGet } from '../helpers/http';
import { EXTERNAL_NATS_TEXT } from '../../src/monitor/nats';

const VARZ_SOME = ['server_id', 'server_name', 'version', 'proto', 'go', 'host', 'port', 'max_connections', 'ping_interval', 'ping_max',
  'http_host', 'http_port', 'https_port', 'auth_timeout', 'max_control_line', 'max_payload', 'max_pending', 'tls_timeout',
  'write_deadline', 'start', 'now', 'uptime', 'mem', 'cores', 'cpu', 'connections', 'total_connections', 'routes', 'remotes',
  'leafnodes', 'in_msgs', 'out_msgs', 'in_bytes', 'out_bytes', 'slow_consumers', 'subscriptions', 'http_req_stats'];
const CONN = ['cid', 'kind', 'type', 'ip', 'port', 'start', 'last_activity', 'rtt', 'uptime', 'idle', 'pending_bytes', 'in_msgs',
  'out_msgs', 'in_bytes', 'out_bytes', 'subscriptions'];
const SUBSZ = ['num_subscriptions', 'num_cache', 'num_inserts', 'num_removes', 'num_matches', 'cache_hit_rate', 'max_fanout', 'avg_fanout'];

describe('monitoring: embedded NATS endpoints', () => {
  let s: ServerHandle;
  let port: number;

  before(async () => {
    port = await freePort();
    s = await startServer({ streaming: { clusterID: 'mon-nats' }, nats: { port: 0, httpPort: port } });
  });
  after(async () => {
    await s?.close();
  });

  test('varz: the fields NATS tooling reads, ns integers, request stats', async () => {
    const z = (await httpGet(port, '/varz')).json();
    for (const k of VARZ_SOME) assert.ok(k in z, `missing ${k}`);
    assert.equal(z.port, s.server.natsServer?.port);
    assert.equal(z.http_port, port);
    assert.equal(z.ping_interval, 120_000_000_000);
    assert.equal(z.write_deadline, 10_000_000_000);
    assert.equal(z.auth_timeout, 2);
    assert.equal(z.max_payload, 1024 * 1024);
    assert.equal(z.proto, 1);
    assert.ok(z.http_req_stats['/varz'] >= 1, JSON.stringify(z.http_req_stats));
    assert.equal(z.server_id, s.server.natsServer?.serverId);
  });

  test('varz http_req_stats counts the console files and the admin API (under /admin/v1/)', async () => {
    const before = (await httpGet(port, '/varz')).json().http_req_stats as Record<string, number>;
    for (const p of ['/console', '/console/console.js', '/console/console.css', '/admin/v1/openapi.json', '/admin/v1/clients', '/admin/v1/channels/x/messages']) {
      await httpGet(port, p);
    }
    await httpGet(port, '/no-such-page');
    const after = (await httpGet(port, '/varz')).json().http_req_stats as Record<string, number>;
    const delta = (k: string): number => (after[k] ?? 0) - (before[k] ?? 0);
    assert.deepEqual(
      ['/console', '/console/console.js', '/console/console.css', '/admin/v1/', '/varz'].map(delta),
      [1, 1, 1, 3, 1],
      JSON.stringify(after),
    );
    // Paths are not keys of their own below the admin prefix, and unknown pages are not counted.
    assert.deepEqual(Object.keys(after).filter((k) => k.startsWith('/admin/v1/') && k !== '/admin/v1/' || k === '/no-such-page'), []);
  });

  test('connz and subsz: a raw NATS client with two subscriptions shows up, paged', async () => {
    const nc = await natsConnect({ servers: s.natsURL, name: 'mon-probe' });
    try {
      nc.subscribe('probe.a');
      nc.subscribe('probe.*', { queue: 'qq' });
      nc.publish('probe.a', 'hi');
      await nc.flush();
      const all = (await httpGet(port, '/connz?subs=1')).json();
      assert.deepEqual(Object.keys(all), ['server_id', 'now', 'num_connections', 'total', 'offset', 'limit', 'connections']);
      const mine = all.connections.find((c: { name?: string }) => c.name === 'mon-probe');
      assert.ok(mine, JSON.stringify(all));
      for (const k of CONN) assert.ok(k in mine, `missing ${k}`);
      assert.equal(mine.kind, 'Client');
      assert.equal(mine.subscriptions, 2);
      assert.deepEqual([...mine.subscriptions_list].sort(), ['probe.*', 'probe.a']);
      assert.equal(mine.in_msgs, 1);

      const paged = (await httpGet(port, `/connz?limit=1&offset=${all.total}`)).json();
      assert.equal(paged.num_connections, 0);
      assert.equal(paged.total, all.total);
      assert.equal(paged.limit, 1);

      const detail = (await httpGet(port, `/connz?subs=detail&cid=${mine.cid}`)).json();
      assert.equal(detail.total, 1);
      const q = detail.connections[0].subscriptions_list_detail.find((d: { subject: string }) => d.subject === 'probe.*');
      assert.equal(q.qgroup, 'qq');
      assert.equal(q.cid, mine.cid);

      const bad = await httpGet(port, '/connz?sort=bogus');
      assert.equal(bad.status, 400);
      assert.equal(bad.body.trim(), 'invalid sorting option: bogus');

      const sz = (await httpGet(port, '/subsz?subs=1&test=probe.a')).json();
      for (const k of SUBSZ) assert.ok(k in sz, `missing ${k}`);
      assert.ok(sz.num_subscriptions >= 2);
      assert.equal(sz.total, 2, JSON.stringify(sz.subscriptions_list));
      assert.deepEqual(sz.subscriptions_list.map((x: { subject: string }) => x.subject).sort(), ['probe.*', 'probe.a']);
    } finally {
      await nc.close();
    }
  });

  test('JSONP on a NATS endpoint', async () => {
    const r = await httpGet(port, '/varz?callback=f1');
    assert.equal(r.contentType, 'application/javascript');
    assert.ok(r.body.startsWith('f1({') && r.body.endsWith('})'), r.body.slice(0, 20));
  });
});

describe('monitoring: external NATS, CLI and FT', () => {
  let nats: RealNatsServer;
  before(async () => {
    nats = await RealNatsServer.start();
  });
  after(async () => {
    await nats.stop();
  });

  test('external NATS: NATS endpoints are 404 with a reason, streaming and health endpoints work', async () => {
    const port = await freePort();
    const s = await startServer({ streaming: { clusterID: 'mon-ext', natsServerURL: nats.url }, nats: { httpPort: port } });
    try {
      for (const path of ['/varz', '/connz', '/subsz']) {
        const r = await httpGet(port, path);
        assert.equal(r.status, 404, path);
        assert.equal(r.body.trim(), EXTERNAL_NATS_TEXT);
      }
      assert.equal((await httpGet(port, '/readyz')).status, 200);
      const sc = await connect(s.natsURL, 'mon-ext', 'ext-1');
      await publish(sc, 'ext', 'x');
      const z = (await httpGet(port, '/streaming/serverz')).json();
      assert.equal(z.clients, 1);
      assert.equal(z.in_msgs, 1);
      await close(sc);
    } finally {
      await s.close();
    }
    // Closed with the server.
    await assert.rejects(httpGet(port, '/healthz'));
  });

  test('CLI -m: logs the monitor address and serves', async () => {
    const port = await freePort();
    const proc = spawnServer(['-a', '127.0.0.1', '-p', String(await freePort()), '-m', String(port), '-cid', 'mon-cli']);
    try {
      await proc.waitForLine(READY_RE, { timeoutMs: 15000 });
      assert.match(proc.output, new RegExp(`Starting http monitor on 0\\.0\\.0\\.0:${port}`));
      const z = (await httpGet(port, '/streaming/serverz')).json();
      assert.equal(z.cluster_id, 'mon-cli');
      assert.deepEqual((await httpGet(port, '/healthz')).json(), { status: 'ok' });
    } finally {
      await proc.kill();
    }
  });

  test('FT pair: standby answers isFTActive 204 and readyz 503, the active one 200', async () => {
    const store: FtStore = await ftStore('file');
    const [pa, pb] = [await freePort(), await freePort()];
    const procs: Proc[] = [];
    try {
      const a = await spawnFt({ natsURL: nats.url, clusterID: 'mon-ft', group: 'g', store, extra: ['-m', String(pa)] });
      procs.push(a);
      await a.waitForLine(ACTIVE_RE, { timeoutMs: 15000 });
      const b = await spawnFt({ natsURL: nats.url, clusterID: 'mon-ft', group: 'g', store, extra: ['-m', String(pb)] });
      procs.push(b);
      await waitForPort(pb);
      assert.equal((await httpGet(pa, '/streaming/isFTActive')).status, 200);
      assert.equal((await httpGet(pa, '/readyz')).status, 200);
      assert.equal((await httpGet(pa, '/streaming/serverz')).json().state, 'FT_ACTIVE');

      assert.equal((await httpGet(pb, '/streaming/isFTActive')).status, 204);
      const r = await httpGet(pb, '/readyz');
      assert.equal(r.status, 503);
      const body = r.json();
      assert.equal(body.status, 'unavailable');
      assert.equal(body.status_code, 503);
      assert.match(body.error, /standby/);
      assert.equal((await httpGet(pb, '/healthz')).status, 200);
      assert.equal((await httpGet(pb, '/streaming/serverz')).json().state, 'FT_STANDBY');
    } finally {
      for (const p of procs) await p.kill();
      await store.cleanup();
    }
  });
});
