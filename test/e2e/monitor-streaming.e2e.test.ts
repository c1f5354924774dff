/**
 * HTTP monitoring, streaming endpoints (spec §8): /streaming/serverz, storez, clientsz,
 * channelsz, isFTActive; field names and order against the spec, paging, subs=1, single
 * client/channel and their 404s, JSONP, counts after a known load with the real client.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type ServerHandle } from '../../src/index';
import { defaultStoreLimits } from '../../src/config/options';
import { freePort } from '../helpers/proc';
import { close, connect, endSub, publish, subscribe, type Stan } from '../helpers/stan';
import { httpGet } from '../helpers/http';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

const SERVERZ = ['cluster_id', 'server_id', 'version', 'go', 'state', 'now', 'start_time', 'uptime', 'clients', 'subscriptions', 'channels', 'total_msgs', 'total_bytes', 'in_msgs', 'in_bytes', 'out_msgs', 'out_bytes'];
// The reference fills open_fds/max_fds on Linux only (omitempty elsewhere).
const ON_LINUX = fs.existsSync('/proc/self/fd');
const SERVERZ_FDS = ON_LINUX ? [...SERVERZ, 'open_fds', 'max_fds'] : SERVERZ;
const STOREZ = ['cluster_id', 'server_id', 'now', 'type', 'limits', 'total_msgs', 'total_bytes'];
const LIMITS = ['max_channels', 'max_msgs', 'max_bytes', 'max_age', 'max_subscriptions', 'max_inactivity'];
const LIST = ['cluster_id', 'server_id', 'now', 'offset', 'limit', 'count', 'total'];
const SUBZ = ['client_id', 'inbox', 'ack_inbox', 'is_durable', 'is_offline', 'max_inflight', 'ack_wait', 'last_sent', 'pending_count', 'is_stalled'];
const RFC3339NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

function keys(o: object): string[] {
  return Object.keys(o);
}

describe('monitoring: /streaming endpoints', () => {
  let s: ServerHandle;
  let port: number;
  const clients: Stan[] = [];
  const N = 10;
  const PAYLOAD = 'x'.repeat(100);

  before(async () => {
    port = await freePort();
    const storeLimits = { ...defaultStoreLimits(), maxAge: 60_000, perChannel: { 'lim.*': { maxMsgs: 5 } } };
    s = await startServer({ streaming: { clusterID: 'mon-cluster', storeLimits }, nats: { port: 0, httpPort: port } });
    // Clients created out of order: lists must come sorted by ID.
    for (const id of ['cli-c', 'cli-a', 'cli-b']) clients.push(await connect(s.natsURL, 'mon-cluster', id));
    const [c, a, b] = clients;
    for (let i = 0; i < N; i++) await publish(a, 'foo', PAYLOAD);
    await publish(a, 'bar', 'y');
    await publish(a, 'baz', 'z');
    await subscribe(a, 'foo', a.subscriptionOptions().setDeliverAllAvailable().setManualAckMode(true).setMaxInFlight(3));
    // An offline durable (closed by its client) and a durable queue group's shadow.
    const d = await subscribe(b, 'foo', b.subscriptionOptions().setDurableName('dur1'));
    await endSub(d, 'close');
    const q = await subscribe(c, 'bar', c.subscriptionOptions().setDurableName('dq'), 'grp');
    await endSub(q, 'close');
    await subscribe(c, 'baz', c.subscriptionOptions(), 'qg');
    // Let the first subscription receive its messages (max_inflight 3, manual acks: stalled).
    await new Promise((r) => setTimeout(r, 300));
  });
  after(async () => {
    for (const sc of clients) await close(sc).catch(() => undefined);
    await s?.close();
  });

  test('serverz: fields in the reference order and counts after the load', async () => {
    const r = await httpGet(port, '/streaming/serverz');
    assert.equal(r.status, 200);
    assert.equal(r.contentType, 'application/json');
    const z = r.json();
    assert.deepEqual(keys(z), SERVERZ_FDS);
    assert.equal(z.cluster_id, 'mon-cluster');
    assert.equal(z.server_id, s.server.serverID);
    assert.equal(z.state, 'STANDALONE');
    assert.equal(z.version, '0.25.6');
    assert.match(z.now, RFC3339NANO);
    assert.match(z.start_time, RFC3339NANO);
    assert.match(z.uptime, /^\d+s$/);
    assert.equal(z.clients, 3);
    assert.equal(z.channels, 3);
    // foo: 1 online + 1 offline durable; bar: 1 shadow; baz: 1 queue member.
    assert.equal(z.subscriptions, 4);
    assert.equal(z.in_msgs, N + 2);
    // in_bytes counts the PubMsg as received from NATS (payload plus its envelope), as the reference.
    assert.ok(z.in_bytes > N * PAYLOAD.length + 2, `in_bytes ${z.in_bytes}`);
    assert.ok(z.in_bytes < N * (PAYLOAD.length + 200), `in_bytes ${z.in_bytes}`);
    assert.equal(z.total_msgs, N + 2);
    assert.ok(z.total_bytes > N * PAYLOAD.length, `total_bytes ${z.total_bytes}`);
    assert.equal(z.out_msgs, 3, 'max_inflight 3 without acks');
    if (ON_LINUX) {
      // The server runs in this process: at least stdio, the HTTP listener and the NATS sockets are open.
      assert.ok(z.open_fds > 5 && z.open_fds <= z.max_fds, `open_fds ${z.open_fds}, max_fds ${z.max_fds}`);
      // A child shell inherits the process's soft limit.
      assert.equal(z.max_fds, Number(execFileSync('sh', ['-c', 'ulimit -Sn'], { encoding: 'utf8' }).trim()));
    }
    // Indented like Go's MarshalIndent(v, "", "  ").
    assert.ok(r.body.startsWith('{\n  "cluster_id": "mon-cluster",\n'), r.body.slice(0, 60));
  });

  test('storez: type, limits in ns with the per-channel map, totals', async () => {
    const z = (await httpGet(port, '/streaming/storez')).json();
    assert.deepEqual(keys(z), STOREZ);
    assert.equal(z.type, 'MEMORY');
    assert.deepEqual(keys(z.limits), [...LIMITS, 'channels']);
    const d = defaultStoreLimits();
    assert.equal(z.limits.max_channels, d.maxChannels);
    assert.equal(z.limits.max_msgs, d.maxMsgs);
    assert.equal(z.limits.max_age, 60_000 * 1_000_000);
    assert.deepEqual(keys(z.limits.channels), ['lim.*']);
    assert.deepEqual(keys(z.limits.channels['lim.*']), LIMITS.slice(1));
    assert.equal(z.limits.channels['lim.*'].max_msgs, 5);
    assert.equal(z.limits.channels['lim.*'].max_age, 60_000 * 1_000_000, 'inherited');
    assert.equal(z.total_msgs, N + 2);
  });

  test('clientsz: sorted, paged with offset/limit, count and total', async () => {
    const all = (await httpGet(port, '/streaming/clientsz')).json();
    assert.deepEqual(keys(all), [...LIST, 'clients']);
    assert.equal(all.offset, 0);
    assert.equal(all.limit, 1024);
    assert.equal(all.count, 3);
    assert.equal(all.total, 3);
    assert.deepEqual(all.clients.map((c: { id: string }) => c.id), ['cli-a', 'cli-b', 'cli-c']);
    assert.deepEqual(keys(all.clients[0]), ['id', 'hb_inbox', 'subs_count']);
    assert.match(all.clients[0].hb_inbox, /^_INBOX\./);
    assert.equal(all.clients[0].subs_count, 1);

    const p = (await httpGet(port, '/streaming/clientsz?offset=1&limit=1')).json();
    assert.equal(p.offset, 1);
    assert.equal(p.limit, 1);
    assert.equal(p.count, 1);
    assert.equal(p.total, 3);
    assert.deepEqual(p.clients.map((c: { id: string }) => c.id), ['cli-b']);

    const beyond = (await httpGet(port, '/streaming/clientsz?offset=10')).json();
    assert.equal(beyond.count, 0);
    assert.deepEqual(beyond.clients, []);

    // Bad values are ignored as the reference does (Atoi errors → 0 → defaults).
    const bad = (await httpGet(port, '/streaming/clientsz?offset=-4&limit=abc')).json();
    assert.equal(bad.offset, 0);
    assert.equal(bad.limit, 1024);
    assert.equal(bad.count, 3);
  });

  test('clientsz: subs=1 and a single client; unknown client is a 404', async () => {
    const z = (await httpGet(port, '/streaming/clientsz?subs=1')).json();
    const a = z.clients[0];
    assert.deepEqual(keys(a), ['id', 'hb_inbox', 'subs_count', 'subscriptions']);
    assert.deepEqual(keys(a.subscriptions), ['foo']);
    const sub = a.subscriptions.foo[0];
    assert.deepEqual(keys(sub), SUBZ);
    assert.equal(sub.client_id, 'cli-a');
    assert.equal(sub.max_inflight, 3);
    assert.equal(sub.ack_wait, 30);
    assert.equal(sub.last_sent, 3);
    assert.equal(sub.pending_count, 3);
    assert.equal(sub.is_stalled, true);
    // cli-b has no online subscription left: no `subscriptions` key (omitempty).
    assert.deepEqual(keys(z.clients[1]), ['id', 'hb_inbox', 'subs_count']);

    const one = await httpGet(port, '/streaming/clientsz?client=cli-c&subs=1');
    assert.equal(one.status, 200);
    const c = one.json();
    assert.equal(c.id, 'cli-c');
    assert.deepEqual(keys(c.subscriptions), ['baz']);
    assert.equal(c.subscriptions.baz[0].queue_name, 'qg');

    const missing = await httpGet(port, '/streaming/clientsz?client=nobody');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.trim(), 'Client nobody not found');
  });

  test('channelsz: names by default, channels with subs=1, paging', async () => {
    const z = (await httpGet(port, '/streaming/channelsz')).json();
    assert.deepEqual(keys(z), [...LIST, 'names']);
    assert.deepEqual(z.names, ['bar', 'baz', 'foo']);
    assert.equal(z.total, 3);

    const p = (await httpGet(port, '/streaming/channelsz?offset=1&limit=2&subs=1')).json();
    assert.deepEqual(keys(p), [...LIST, 'channels']);
    assert.equal(p.count, 2);
    assert.equal(p.total, 3);
    assert.deepEqual(p.channels.map((c: { name: string }) => c.name), ['baz', 'foo']);
    const foo = p.channels[1];
    assert.deepEqual(keys(foo), ['name', 'msgs', 'bytes', 'first_seq', 'last_seq', 'subs_count', 'subscriptions']);
    assert.equal(foo.msgs, N);
    assert.equal(foo.first_seq, 1);
    assert.equal(foo.last_seq, N);
    assert.equal(foo.subs_count, 2);
    const offline = foo.subscriptions.find((x: { is_offline: boolean }) => x.is_offline);
    assert.ok(offline, JSON.stringify(foo.subscriptions));
    assert.equal(offline.durable_name, 'dur1');
    assert.equal(offline.is_durable, true);
    assert.equal(offline.client_id, 'cli-b', 'an offline durable reports its last owner');
  });

  test('channelsz: single channel with the durable queue shadow; unknown channel is a 404', async () => {
    const r = await httpGet(port, '/streaming/channelsz?channel=bar&subs=1');
    assert.equal(r.status, 200);
    const bar = r.json();
    assert.equal(bar.name, 'bar');
    assert.equal(bar.msgs, 1);
    assert.equal(bar.subs_count, 1);
    const shadow = bar.subscriptions[0];
    assert.equal(shadow.queue_name, 'dq:grp');
    assert.equal(shadow.is_durable, true);
    assert.equal(shadow.is_offline, true);

    const noSubs = (await httpGet(port, '/streaming/channelsz?channel=foo')).json();
    assert.deepEqual(keys(noSubs), ['name', 'msgs', 'bytes', 'first_seq', 'last_seq', 'subs_count']);

    const missing = await httpGet(port, '/streaming/channelsz?channel=nope');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.trim(), 'Channel nope not found');
  });

  test('JSONP: callback= wraps the JSON and answers application/javascript', async () => {
    const r = await httpGet(port, '/streaming/serverz?callback=cb');
    assert.equal(r.status, 200);
    assert.equal(r.contentType, 'application/javascript');
    assert.match(r.body, /^cb\(\{\n[\s\S]*\}\)$/);
    const inner = JSON.parse(r.body.slice(3, -1));
    assert.equal(inner.cluster_id, 'mon-cluster');
  });

  test('isFTActive: 204 on a STANDALONE server (only the FT active server answers 200)', async () => {
    const r = await httpGet(port, '/streaming/isFTActive');
    assert.equal(r.status, 204);
    assert.equal(r.body, '');
  });

  test('healthz and readyz: 200 {"status":"ok"} while serving; unknown path 404', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const r = await httpGet(port, path);
      assert.equal(r.status, 200, path);
      assert.deepEqual(r.json(), { status: 'ok' });
    }
    const idx = await httpGet(port, '/streaming');
    assert.equal(idx.status, 200);
    assert.match(idx.body, /serverz/);
    assert.equal((await httpGet(port, '/nope')).status, 404);
  });

  test('counts follow the state: a closed client and a new channel', async () => {
    const extra = await connect(s.natsURL, 'mon-cluster', 'cli-z');
    await publish(extra, 'new.chan', 'q');
    let z = (await httpGet(port, '/streaming/serverz')).json();
    assert.equal(z.clients, 4);
    assert.equal(z.channels, 4);
    await close(extra);
    z = (await httpGet(port, '/streaming/serverz')).json();
    assert.equal(z.clients, 3);
    const ch = (await httpGet(port, '/streaming/channelsz?channel=new.chan')).json();
    assert.equal(ch.msgs, 1);
  });
});
