/**
 * Translation of our NATS options into the nats-server child's configuration
 * (src/nats/child-config.ts), and the decisions taken before anything starts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultServerOptions } from '../../src/config/options';
import { loadOptions } from '../../src/config/load';
import { buildChildConfig, childClientAuth, childClientTLS, parseClusterURL, wantsChildNatsServer } from '../../src/nats/child-config';

function load(args: string[]): ReturnType<typeof defaultServerOptions> {
  const r = loadOptions(args, {});
  if (r.kind !== 'run') throw new Error(r.kind);
  return r.options;
}

test('no cluster option → no child; --cluster, --routes or a cluster block → a child', () => {
  assert.equal(wantsChildNatsServer(defaultServerOptions()), false);
  assert.equal(wantsChildNatsServer(load(['--cluster', 'nats://127.0.0.1:6222'])), true);
  assert.equal(wantsChildNatsServer(load(['--routes', 'nats://a:6222,nats://b:6222'])), true);
  const o = defaultServerOptions();
  o.nats.clusterBlock = { name: 'c1' };
  assert.equal(wantsChildNatsServer(o), true);
});

test('-ns with cluster options is refused with what to do', () => {
  assert.throws(() => wantsChildNatsServer(load(['-ns', 'nats://x:4222', '--routes', 'nats://a:6222'])), /have no effect with -ns\/--nats_server/);
});

test('--cluster and --routes: listen address, route list, credentials of the cluster URL', () => {
  const o = load(['-a', '127.0.0.1', '-p', '4333', '--cluster', 'nats://ru:rp@0.0.0.0:6222', '--routes', 'nats://a:6222, nats://b:6222']);
  const c = buildChildConfig(o.nats, { monitor: false });
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 4333);
  assert.deepEqual(c.cluster, { listen: '0.0.0.0:6222', authorization: { user: 'ru', password: 'rp' }, routes: ['nats://a:6222', 'nats://b:6222'] });
  assert.equal(c.http, undefined, 'no monitor asked');
  assert.equal(buildChildConfig(o.nats, { monitor: true }).http, '127.0.0.1:-1');
});

test('the raw cluster block passes through; --cluster replaces its listen address', () => {
  const o = defaultServerOptions();
  o.nats.clusterBlock = { name: 'east', host: '10.0.0.1', port: 7000, no_advertise: true, authorization: { user: 'r', password: 'p', timeout: 0.5 } };
  o.nats.cluster = 'nats://127.0.0.1:6333';
  o.nats.routes = ['nats-route://r:p@10.0.0.2:6222'];
  const c = buildChildConfig(o.nats, { monitor: false }).cluster as Record<string, unknown>;
  assert.deepEqual(c, {
    name: 'east',
    no_advertise: true,
    authorization: { user: 'r', password: 'p', timeout: 0.5 },
    listen: '127.0.0.1:6333',
    routes: ['nats-route://r:p@10.0.0.2:6222'],
  });
});

test('limits and logging flags', () => {
  const o = load(['--cluster', 'nats://127.0.0.1:6222', '-D', '-p', '0']);
  o.nats.maxPayload = 2048;
  o.nats.pingInterval = 1500;
  o.nats.maxSubscriptions = 10;
  const c = buildChildConfig(o.nats, { monitor: false });
  assert.equal(c.port, -1, 'port 0 (any) is -1 for nats-server');
  assert.equal(c.max_payload, 2048);
  assert.equal(c.ping_interval, '1500ms');
  assert.equal(c.write_deadline, '10s');
  assert.equal(c.max_subscriptions, 10);
  assert.equal(c.debug, true);
  assert.equal(c.trace, false);
  assert.equal(c.logtime, false, 'our logger stamps the lines');
});

test('authorization: single user, token, users with permissions; the streaming server\'s credentials', () => {
  const o = defaultServerOptions();
  o.nats.username = 'u';
  o.nats.password = 'p';
  assert.deepEqual(buildChildConfig(o.nats, { monitor: false }).authorization, { user: 'u', password: 'p', timeout: 2 });
  assert.deepEqual(childClientAuth(o.nats, o.streaming), { user: 'u', pass: 'p' });

  const t = defaultServerOptions();
  t.nats.authorization = 'tok';
  assert.deepEqual(buildChildConfig(t.nats, { monitor: false }).authorization, { token: 'tok', timeout: 2 });
  assert.deepEqual(childClientAuth(t.nats, t.streaming), { token: 'tok' });

  const l = defaultServerOptions();
  const perms = { publish: { allow: ['a.>'], deny: ['a.b'] } };
  l.nats.users = [{ user: 'x', password: '$2a$11$hash', permissions: perms }];
  assert.deepEqual(buildChildConfig(l.nats, { monitor: false }).authorization, {
    users: [{ user: 'x', password: '$2a$11$hash', permissions: perms }],
    timeout: 2,
  });
  assert.throws(() => childClientAuth(l.nats, l.streaming), /users list: name the user the streaming server connects as/);
  l.streaming.natsUser = 'x';
  l.streaming.natsPassword = 'plain';
  assert.deepEqual(childClientAuth(l.nats, l.streaming), { user: 'x', pass: 'plain' });
  assert.equal(buildChildConfig(defaultServerOptions().nats, { monitor: false }).authorization, undefined);
});

test('TLS: server files passed through; the streaming server verifies with the CA and must bring a certificate under tlsverify', () => {
  const o = defaultServerOptions();
  o.nats.tls = true;
  o.nats.tlsCert = '/c.pem';
  o.nats.tlsKey = '/k.pem';
  o.nats.tlsCaCert = '/ca.pem';
  assert.deepEqual(buildChildConfig(o.nats, { monitor: false }).tls, { cert_file: '/c.pem', key_file: '/k.pem', timeout: 2, ca_file: '/ca.pem' });
  assert.deepEqual(childClientTLS(o.nats, o.streaming), { caFile: '/ca.pem' });
  o.nats.tlsVerify = true;
  assert.equal((buildChildConfig(o.nats, { monitor: false }).tls as Record<string, unknown>).verify, true);
  assert.throws(() => childClientTLS(o.nats, o.streaming), /-tls_client_cert and -tls_client_key/);
  o.streaming.tls.clientCert = '/cc.pem';
  o.streaming.tls.clientKey = '/ck.pem';
  assert.deepEqual(childClientTLS(o.nats, o.streaming), { caFile: '/ca.pem', certFile: '/cc.pem', keyFile: '/ck.pem' });
  o.nats.tlsKey = '';
  assert.throws(() => buildChildConfig(o.nats, { monitor: false }), /needs both a certificate and a key/);
  assert.equal(childClientTLS(defaultServerOptions().nats, defaultServerOptions().streaming), undefined);
});

test('--cluster URL parsing', () => {
  assert.deepEqual(parseClusterURL('nats://0.0.0.0:6222'), { host: '0.0.0.0', port: 6222 });
  // Route credentials never reach an error message.
  assert.throws(() => parseClusterURL('nats://ruser:S3cretRoutePw@0.0.0.0'), (e: Error) => !e.message.includes('S3cretRoutePw') && /\[REDACTED\]/.test(e.message));
  assert.deepEqual(parseClusterURL('nats://[::1]:6222'), { host: '::1', port: 6222 });
  assert.throws(() => parseClusterURL('nats://host'), /explicit port/);
  assert.throws(() => parseClusterURL('host:6222x'), /expected nats:\/\/host:port/);
});

test('nats_server_bin: flag and config key', () => {
  assert.equal(load(['--nats_server_bin', '/opt/nats/nats-server']).nats.natsServerBin, '/opt/nats/nats-server');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-child-conf-'));
  try {
    const f = path.join(dir, 'nats.conf');
    fs.writeFileSync(f, 'nats_server_bin: "/usr/local/bin/nats-server"\ncluster { name: c1, listen: "127.0.0.1:6222" }\n');
    const o = load(['-c', f]);
    assert.equal(o.nats.natsServerBin, '/usr/local/bin/nats-server');
    assert.deepEqual(o.nats.clusterBlock, { name: 'c1', listen: '127.0.0.1:6222' });
    assert.equal(wantsChildNatsServer(o), true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
