/**
 * TLS end to end: the real STAN client (`node-nats-streaming`, whose `nats` 1.x client upgrades
 * to TLS when INFO says tls_required) against our server, in-process and as the real CLI
 * process; HTTPS monitoring (-ms); start-up errors of the CLI.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateTestCerts, type TlsFiles } from '../helpers/certs';
import { startTestServer } from '../helpers/server';
import * as stanLib from 'node-nats-streaming';
import { Collector, close, connect, publish, subscribe, type ConnectOpts } from '../helpers/stan';
import { freePort, runServer, startServerProc } from '../helpers/proc';
import { httpGet, httpsGet } from '../helpers/http';
import type { NatsServerOptions } from '../../src/config/options';

let certs: TlsFiles;
let dir: string;
let ca: Buffer;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-tls-e2e-'));
  certs = await generateTestCerts(path.join(dir, 'pki'));
  ca = fs.readFileSync(certs.caFile);
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function serverTls(verify: boolean): Partial<NatsServerOptions> {
  return {
    tls: true,
    tlsCert: certs.certFile,
    tlsKey: certs.keyFile,
    ...(verify ? { tlsVerify: true, tlsCaCert: certs.caFile } : {}),
  };
}

function clientCert(good: boolean): { ca: Buffer; cert: Buffer; key: Buffer } {
  return {
    ca,
    cert: fs.readFileSync(good ? certs.clientCertFile : certs.wrongClientCertFile),
    key: fs.readFileSync(good ? certs.clientKeyFile : certs.wrongClientKeyFile),
  };
}

/** Connect, publish 3, subscribe from the start and receive them: a full STAN round trip. */
async function roundTrip(url: string, clusterID: string, clientID: string, opts: ConnectOpts): Promise<void> {
  const sc = await connect(url, clusterID, clientID, opts);
  try {
    for (let i = 0; i < 3; i++) await publish(sc, 'tls.chan', `m${i}`);
    const sub = await subscribe(sc, 'tls.chan', sc.subscriptionOptions().setDeliverAllAvailable());
    const col = new Collector(sub);
    await col.waitFor(3, 15_000);
    assert.deepEqual(
      col.msgs.map((m) => String(m.getData())),
      ['m0', 'm1', 'm2'],
    );
  } finally {
    await close(sc);
  }
}

/**
 * A connect attempt that must fail. The client reports a refusal either as 'error' (it saw
 * the problem itself) or only as 'close' (the server hung up): both count, 'connect' fails.
 */
function refused(url: string, clusterID: string, clientID: string, tls: ConnectOpts['tls']): Promise<string> {
  return new Promise((resolve, reject) => {
    const sc = stanLib.connect(clusterID, clientID, { url, connectTimeout: 5000, reconnect: false, tls } as stanLib.StanOptions);
    const t = setTimeout(() => reject(new Error(`${clientID}: neither refused nor connected within 20 s`)), 20_000);
    const done = (how: string): void => {
      clearTimeout(t);
      sc.removeAllListeners();
      sc.on('error', () => undefined);
      resolve(how);
    };
    sc.once('error', (e: unknown) => done(`error: ${String(e)}`));
    sc.once('close', () => done('closed'));
    sc.once('connect', () => {
      clearTimeout(t);
      sc.close();
      reject(new Error(`${clientID}: connected although it should have been refused`));
    });
  });
}

test('STAN client over TLS (CA only): connect, publish, subscribe', async () => {
  const s = await startTestServer({ streaming: { natsServerURL: '' }, nats: serverTls(false) });
  try {
    await roundTrip(s.natsURL, s.clusterID, 'tls-client', { tls: { ca } });
    // Without trusting our CA the client refuses the server's certificate.
    assert.match(await refused(s.natsURL, s.clusterID, 'tls-untrusting', true), /error: .*certificate/i);
  } finally {
    await s.close();
  }
});

test('STAN client over TLS with --tlsverify: right client cert works; none or wrong-CA refused', async () => {
  const s = await startTestServer({ streaming: { natsServerURL: '' }, nats: serverTls(true) });
  try {
    await roundTrip(s.natsURL, s.clusterID, 'tls-verified', { tls: clientCert(true) });
    assert.match(await refused(s.natsURL, s.clusterID, 'tls-no-cert', { ca }), /requires a client certificate/);
    await refused(s.natsURL, s.clusterID, 'tls-wrong-ca', clientCert(false));
    // Only the verified client ever got in (the STAN core's own connection is in-process).
    const socketClients = s.server.natsServer?.connections().filter((c) => c.kind === 'client') ?? [];
    assert.equal(socketClients.length, 0);
  } finally {
    await s.close();
  }
});

test('CLI: --tlscert/--tlskey imply TLS; -m and -ms both serve, HTTPS with the server certificate', async () => {
  const [httpPort, httpsPort] = [await freePort(), await freePort()];
  const { proc, url } = await startServerProc([
    '--tlscert', certs.certFile,
    '--tlskey', certs.keyFile,
    '-m', String(httpPort),
    '-ms', String(httpsPort),
  ]);
  try {
    await proc.waitForLine(/TLS required for client connections/);
    await proc.waitForLine(new RegExp(`Starting https monitor on .*:${httpsPort}`));
    await roundTrip(url.replace('127.0.0.1', 'localhost'), 'test-cluster', 'cli-tls', { tls: { ca } });

    const serverz = await httpsGet(httpsPort, '/streaming/serverz', ca);
    assert.equal(serverz.status, 200, serverz.body);
    assert.equal(serverz.json().cluster_id, 'test-cluster');
    const varz = (await httpsGet(httpsPort, '/varz', ca)).json();
    assert.equal(varz.tls_required, true);
    assert.equal(varz.tls_verify, undefined);
    assert.equal(varz.tls_timeout, 2);
    assert.equal(varz.https_port, httpsPort);
    const sc = await connect(url.replace('127.0.0.1', 'localhost'), 'test-cluster', 'cli-connz', { tls: { ca } });
    try {
      const connz = (await httpsGet(httpsPort, '/connz', ca)).json();
      const tlsConns = connz.connections.filter((c: { tls_version?: string; tls_cipher_suite?: string }) =>
        /^1\.[23]$/.test(c.tls_version ?? '') && /^TLS_/.test(c.tls_cipher_suite ?? ''),
      );
      assert.equal(tlsConns.length, 1, JSON.stringify(connz));
    } finally {
      await close(sc);
    }
    // The plain HTTP port serves the same routes.
    assert.equal((await httpGet(httpPort, '/streaming/serverz')).json().cluster_id, 'test-cluster');
    // HTTPS really is TLS: a client that does not trust the CA refuses it.
    await assert.rejects(httpsGet(httpsPort, '/varz', fs.readFileSync(certs.wrongCaFile)));
  } finally {
    await proc.stop();
  }
});

test('CLI: /varz reports tls_verify and the configured tls timeout', async () => {
  const httpPort = await freePort();
  const conf = path.join(dir, 'tls-verify.conf');
  fs.writeFileSync(
    conf,
    `tls {\n  cert_file: ${JSON.stringify(certs.certFile)}\n  key_file: ${JSON.stringify(certs.keyFile)}\n` +
      `  ca_file: ${JSON.stringify(certs.caFile)}\n  verify: true\n  timeout: 0.75\n}\n`,
  );
  const { proc, url } = await startServerProc(['-c', conf, '-m', String(httpPort)]);
  try {
    const varz = (await httpGet(httpPort, '/varz')).json();
    assert.equal(varz.tls_required, true);
    assert.equal(varz.tls_verify, true);
    assert.equal(varz.tls_timeout, 0.75);
    await roundTrip(url, 'test-cluster', 'conf-verified', { tls: clientCert(true) });
  } finally {
    await proc.stop();
  }
});

test('CLI start-up errors: unreadable certificate, missing key, -ms without certificates', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--tls', '--tlscert', path.join(dir, 'nope.crt'), '--tlskey', certs.keyFile], /nope\.crt.*ENOENT/],
    [['--tlscert', dir, '--tlskey', certs.keyFile], /cannot read the TLS certificate file .*EISDIR/],
    [['--tlsverify', '--tlscert', certs.certFile], /requires the certificate's private key: give --tlskey/],
    [['--tls'], /requires a server certificate: give --tlscert/],
    [['--tlscert', certs.certFile, '--tlskey', certs.clientKeyFile], /does not match the certificate/],
    [['-ms', '8443'], /HTTPS monitoring \(-ms\/--https_port\) requires TLS: give --tlscert/],
  ];
  await Promise.all(
    cases.map(async ([args, re]) => {
      const { proc, exit } = await runServer([...args, '-a', '127.0.0.1', '-p', String(await freePort())], 30_000);
      assert.notEqual(exit.code, 0, `${args.join(' ')}\n${proc.output}`);
      assert.match(proc.stderr, re, `${args.join(' ')}\n${proc.output}`);
      assert.doesNotMatch(proc.output, /Streaming Server is ready/);
    }),
  );
});

test('CLI: --tls=false wins over the other TLS flags (nats-server rule): plaintext clients work', async () => {
  const { proc, url } = await startServerProc(['--tls=false', '--tlscert', path.join(dir, 'never-read.crt')]);
  try {
    assert.doesNotMatch(proc.output, /TLS required/);
    const sc = await connect(url, 'test-cluster', 'plain-client');
    await close(sc);
  } finally {
    await proc.stop();
  }
});
