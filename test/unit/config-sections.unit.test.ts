/**
 * The config blocks after the split into src/config/sections: one document touching every
 * block is applied without warnings, each block lands in its own options, and the key
 * tables (indexed on first use, refusing duplicate aliases) are all exercised.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyConfigDocument } from '../../src/config/configfile';
import { parseConf } from '../../src/config/natsconf';
import { defaultServerOptions } from '../../src/config/options';

const DOC = `
port: 4333
http: "127.0.0.1:8333"
max_payload: 2MB
ping_interval: 5
debug: true
routes: ["nats://a:6222"]
tls { cert_file: "c.pem", key_file: "k.pem", client_cert: "top.pem" }
authorization { users: [ { user: alice, password: pw, permissions: { publish: "foo.>" } } ] }
streaming {
  cid: MyCluster
  store: file
  dir: "/tmp/x"
  hb_interval: "2s"
  ft_group: grp
  encryption_key: "k"
  Tls { client_cert: "cc.pem", skip_verify: true }
  store_limits { max_channels: 3, max_age: "1h", channels { "foo.*": { max_msgs: 0 }, "bar": { max_bytes: 1KB } } }
  file_options { slice_max_bytes: 1MB, auto_sync: "5s" }
  sql_options { driver: postgres, max_open_conns: 4 }
  cluster { node_id: a, peers: "b,c", raft_lease_timeout: "1s" }
}
`;

test('every block applies its keys, and only its keys', () => {
  const o = defaultServerOptions();
  const warnings: string[] = [];
  applyConfigDocument(parseConf(DOC, { file: 's.conf' }), o, { streaming: true, nats: true }, warnings);
  assert.deepEqual(warnings, []);
  // NATS
  assert.equal(o.nats.port, 4333);
  assert.equal(o.nats.httpHost, '127.0.0.1');
  assert.equal(o.nats.httpPort, 8333);
  assert.equal(o.nats.maxPayload, 2 * 1024 * 1024);
  assert.equal(o.nats.pingInterval, 5000);
  assert.deepEqual(o.nats.routes, ['nats://a:6222']);
  assert.equal(o.nats.tls, true);
  assert.equal(o.nats.tlsCert, 'c.pem');
  assert.equal(o.nats.users?.[0]?.user, 'alice');
  assert.deepEqual(o.nats.users?.[0]?.permissions?.publish, { allow: ['foo.>'], deny: [] });
  // Streaming: only the block counts; the top-level tls client_cert is not read.
  const s = o.streaming;
  assert.equal(s.clusterID, 'MyCluster');
  assert.equal(s.storeType, 'FILE');
  assert.equal(s.clientHBInterval, 2000);
  assert.equal(s.ftGroupName, 'grp');
  assert.equal(s.encrypt, true, 'an encryption key turns encryption on');
  assert.equal(s.tls.clientCert, 'cc.pem');
  assert.equal(s.tls.insecure, true);
  assert.equal(s.storeLimits.maxChannels, 3);
  assert.equal(s.storeLimits.maxAge, 3_600_000);
  assert.deepEqual(s.storeLimits.perChannel, { 'foo.*': { maxMsgs: -1 }, bar: { maxBytes: 1024 } });
  assert.equal(s.file.sliceMaxBytes, 1024 * 1024);
  assert.equal(s.file.autoSync, 5000);
  assert.equal(s.sql.driver, 'postgres');
  assert.equal(s.sql.maxOpenConns, 4);
  assert.equal(s.clustering.clustered, true);
  assert.deepEqual(s.clustering.peers, ['b', 'c']);
  assert.equal(s.clustering.raftLeaseTimeout, 1000);
  for (const k of ['port', 'http_port', 'tls', 'auth', 'cluster_id', 'store', 'encrypt', 'max_channels', 'max_age', 'per_channel', 'file_slice_max_bytes', 'sql_driver', 'clustered', 'cluster_peers']) {
    assert.ok(o.explicit.has(k), k);
  }
});

test('type errors name the key, the expected kind and the position', () => {
  const cases: [string, string][] = [
    ['streaming { file { slice_max_bytes: "x" } }', 's.conf:1:20: parameter "slice_max_bytes" value is expected to be a size (e.g. 1024, 10KB, 1MB), got string "x"'],
    ['streaming { cluster { sync: 1 } }', 's.conf:1:23: parameter "sync" value is expected to be a boolean, got integer 1'],
    ['streaming { sql { driver: 1 } }', 's.conf:1:19: parameter "driver" value is expected to be a string, got integer 1'],
    ['port: "x"', 's.conf:1:1: parameter "port" value is expected to be an integer, got string "x"'],
  ];
  for (const [text, message] of cases) {
    const doc = parseConf(text, { file: 's.conf' });
    assert.throws(() => applyConfigDocument(doc, defaultServerOptions(), { streaming: true, nats: true }, []), { message }, text);
  }
});
