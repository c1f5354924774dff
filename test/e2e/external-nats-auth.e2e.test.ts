/**
 * Our executable against a real nats-server that requires authentication or TLS (-ns):
 * credentials in the URL or the streaming configuration, token, nkey seed file, NATS
 * credentials file (operator mode, JWTs made with nkeys.js), client TLS with verification
 * (-tls_client_*), -secure. Each works end to end with a real STAN client; each wrong or
 * unreadable setting stops the start-up with a message naming it and a non-zero exit.
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as nkeys from 'nkeys.js';
import { RealNatsServer } from '../helpers/nats-server';
import { Proc, READY_RE, spawnServer } from '../helpers/proc';
import { close, Collector, connect, publish, subscribe, type ConnectOpts } from '../helpers/stan';
import { generateTestCerts, type TlsFiles } from '../helpers/certs';
import { operatorSetup } from '../helpers/nats-auth';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-extnats-auth-'));
const natsServers: RealNatsServer[] = [];
const procs: Proc[] = [];
let certs: TlsFiles;

before(async () => {
  certs = await generateTestCerts(path.join(tmp, 'certs'));
});
after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
  await Promise.all(natsServers.map((n) => n.stop()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function natsServer(config: string): Promise<RealNatsServer> {
  const n = await RealNatsServer.start({ config });
  natsServers.push(n);
  return n;
}

function file(name: string, contents: string): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, contents);
  return p;
}

/** Our server with `args`; resolves once it is ready. */
async function startOurs(args: string[]): Promise<Proc> {
  const proc = spawnServer([...args, '-SDV']);
  procs.push(proc);
  await proc.waitForLine(READY_RE, { timeoutMs: 20000 });
  return proc;
}

/** Our server must refuse to start: non-zero exit, a fatal line matching `why`, never ready. */
async function expectStartFailure(args: string[], why: RegExp): Promise<Proc> {
  const proc = spawnServer(args);
  procs.push(proc);
  const exit = await proc.waitExit(30000);
  assert.notEqual(exit.code, 0, proc.output);
  assert.match(proc.stderr, why, proc.output);
  assert.doesNotMatch(proc.stderr, READY_RE);
  return proc;
}

/**
 * A STAN client (node-nats-streaming, with its own NATS options `natsOpts`) publishes and
 * receives through the nats-server, served by our server with cluster ID `cid`.
 */
async function roundTrip(url: string, cid: string, natsOpts: Record<string, unknown> = {}): Promise<void> {
  const sc = await connect(url, cid, `${cid}-client`, { connectTimeout: 10000, ...natsOpts } as ConnectOpts).catch((err: Error) => {
    const ours = procs.map((p) => p.output).join('\n');
    throw new Error(`STAN client could not connect to cluster ${cid}: ${err.message}\n${ours}`);
  });
  try {
    const col = new Collector(await subscribe(sc, 'auth.ch', sc.subscriptionOptions().setDeliverAllAvailable()));
    for (let i = 1; i <= 5; i++) await publish(sc, 'auth.ch', `m${i}`);
    await col.waitFor(5, 10000);
    assert.deepEqual(col.datas(), ['m1', 'm2', 'm3', 'm4', 'm5']);
  } finally {
    await close(sc);
  }
}

async function stopOk(proc: Proc): Promise<void> {
  assert.equal((await proc.stop('SIGINT')).code, 0, proc.output);
}

test('user/password: in the -ns URL (redacted in the log), in the streaming config, URL wins; a wrong password stops the start-up', async () => {
  // A password with characters that need percent-encoding in a URL.
  const pw = 'p@ss:w0rd/x';
  const nats = await natsServer(`authorization { users: [ {user: stan, password: "${pw}"}, {user: app, password: apppw} ] }\n`);
  const port = nats.port;
  const appURL = `nats://app:apppw@127.0.0.1:${port}`;

  const inURL = await startOurs(['-cid', 'up-url', '-ns', `nats://stan:${encodeURIComponent(pw)}@127.0.0.1:${port}`]);
  assert.match(inURL.stderr, new RegExp(`Connecting to NATS Server at nats://stan:\\[REDACTED\\]@127\\.0\\.0\\.1:${port}`));
  assert.doesNotMatch(inURL.output, /w0rd/);
  await roundTrip(appURL, 'up-url');
  await stopOk(inURL);

  const conf = file('up.conf', `streaming { cluster_id: up-conf, ns: "nats://127.0.0.1:${port}", username: stan, password: "${pw}" }\n`);
  const inConf = await startOurs(['-sc', conf]);
  await roundTrip(appURL, 'up-conf');
  await stopOk(inConf);

  // URL credentials win over the configuration's (documented precedence).
  const badConf = file('up-bad.conf', `streaming { username: stan, password: wrong }\n`);
  const urlWins = await startOurs(['-sc', badConf, '-cid', 'up-wins', '-ns', `nats://stan:${encodeURIComponent(pw)}@127.0.0.1:${port}`]);
  await roundTrip(appURL, 'up-wins');
  await stopOk(urlWins);

  const wrong = await expectStartFailure(
    ['-cid', 'up-wrong', '-ns', `nats://stan:nope@127.0.0.1:${port}`],
    /\[FTL\] STREAM: cannot connect to NATS Server at nats:\/\/stan:\[REDACTED\]@127\.0\.0\.1:\d+: .*Authorization Violation.*refused our credentials/,
  );
  assert.doesNotMatch(wrong.output, /nope/);
  await expectStartFailure(['-sc', badConf, '-cid', 'up-wrong2', '-ns', `nats://127.0.0.1:${port}`], /refused our credentials/);
  // No credentials at all.
  await expectStartFailure(['-cid', 'up-none', '-ns', `nats://127.0.0.1:${port}`], /Authorization Violation/);
});

test('token: in the -ns URL (nats://token@host) and the streaming config key; a wrong token stops the start-up', async () => {
  const nats = await natsServer('authorization { token: "s3cr3t-t0ken" }\n');
  const port = nats.port;
  const clientURL = `nats://s3cr3t-t0ken@127.0.0.1:${port}`;

  const inURL = await startOurs(['-cid', 'tok-url', '-ns', clientURL]);
  assert.match(inURL.stderr, /Connecting to NATS Server at nats:\/\/\[REDACTED\]@127\.0\.0\.1/);
  assert.doesNotMatch(inURL.output, /s3cr3t/);
  await roundTrip(clientURL, 'tok-url');
  await stopOk(inURL);

  const conf = file('tok.conf', `streaming { cluster_id: tok-conf, ns: "nats://127.0.0.1:${port}", token: "s3cr3t-t0ken" }\n`);
  const inConf = await startOurs(['-sc', conf]);
  await roundTrip(clientURL, 'tok-conf');
  await stopOk(inConf);

  await expectStartFailure(['-cid', 'tok-wrong', '-ns', `nats://wrong@127.0.0.1:${port}`], /Authorization Violation/);
});

test('nkey_seed_file: our server authenticates with an nkey; missing, malformed and non-user seeds are refused naming the file', async () => {
  const kp = nkeys.createUser();
  const seed = new TextDecoder().decode(kp.getSeed());
  // The STAN client has its own nkey (its NATS client insists on signing once the server
  // sends a nonce, which it does as soon as nkey users are configured).
  const clientKp = nkeys.createUser();
  const nats = await natsServer(`authorization { users: [ {nkey: ${kp.getPublicKey()}}, {nkey: ${clientKp.getPublicKey()}} ] }\n`);
  const port = nats.port;
  const seedFile = file('user.nk', `${seed}\n`);
  const conf = file('nk.conf', `streaming { cluster_id: nk, ns: "nats://127.0.0.1:${port}", nkey_seed_file: "${seedFile}" }\n`);
  const ours = await startOurs(['-sc', conf]);
  await roundTrip(`nats://127.0.0.1:${port}`, 'nk', {
    nkey: clientKp.getPublicKey(),
    nonceSigner: (nonce: Buffer) => Buffer.from(clientKp.sign(nonce)),
  });
  await stopOk(ours);

  // Another (valid) user nkey is not known to the server.
  const other = file('other.nk', new TextDecoder().decode(nkeys.createUser().getSeed()));
  await expectStartFailure(['-sc', file('nk-other.conf', `streaming { ns: "nats://127.0.0.1:${port}", nkey_seed_file: "${other}" }\n`)], /Authorization Violation/);

  const missing = path.join(tmp, 'does-not-exist.nk');
  await expectStartFailure(
    ['-sc', file('nk-missing.conf', `streaming { ns: "nats://127.0.0.1:${port}", nkey_seed_file: "${missing}" }\n`)],
    new RegExp(`\\[FTL\\] STREAM: nkey seed file "${missing.replace(/[.]/g, '\\.')}": cannot read it: ENOENT`),
  );
  const garbage = file('garbage.nk', 'this is not a seed\n');
  await expectStartFailure(
    ['-sc', file('nk-garbage.conf', `streaming { ns: "nats://127.0.0.1:${port}", nkey_seed_file: "${garbage}" }\n`)],
    /nkey seed file ".*garbage\.nk": no nkey seed/,
  );
  const account = file('account.nk', new TextDecoder().decode(nkeys.createAccount().getSeed()));
  await expectStartFailure(
    ['-sc', file('nk-account.conf', `streaming { ns: "nats://127.0.0.1:${port}", nkey_seed_file: "${account}" }\n`)],
    /nkey seed file ".*account\.nk": the nkey seed is not a user seed/,
  );
});

test('credentials file (operator mode, user JWT + seed): works end to end; malformed or foreign files are refused naming the file', async () => {
  const op = operatorSetup();
  const nats = await natsServer(op.serverConfig);
  const port = nats.port;
  const creds = file('user.creds', op.userCreds);
  const conf = file('creds.conf', `streaming { cluster_id: creds, ns: "nats://127.0.0.1:${port}", credentials: "${creds}" }\n`);
  const ours = await startOurs(['-sc', conf]);
  // The STAN client uses the same user's credentials file.
  await roundTrip(`nats://127.0.0.1:${port}`, 'creds', { userCreds: creds });
  await stopOk(ours);

  const credsConf = (name: string, f: string): string =>
    file(`${name}.conf`, `streaming { ns: "nats://127.0.0.1:${port}", credentials: "${f}" }\n`);
  await expectStartFailure(['-sc', credsConf('c-missing', path.join(tmp, 'nope.creds'))], /NATS credentials file ".*nope\.creds": cannot read it/);
  await expectStartFailure(['-sc', credsConf('c-garbage', file('garbage.creds', 'hello\n'))], /NATS credentials file ".*garbage\.creds": malformed/);
  // A valid-looking file whose seed is not the JWT's user.
  const foreignSeed = new TextDecoder().decode(nkeys.createUser().getSeed());
  const swapped = op.userCreds.replace(/(BEGIN USER NKEY SEED-----\n)(\S+)/, `$1${foreignSeed}`);
  await expectStartFailure(['-sc', credsConf('c-foreign', file('foreign.creds', swapped))], /the nkey seed does not belong to the JWT's user/);
  // A user of another operator: the server refuses it.
  const stranger = file('stranger.creds', operatorSetup().userCreds);
  await expectStartFailure(['-sc', credsConf('c-stranger', stranger)], /cannot connect to NATS Server.*(Authorization Violation|authentication)/i);
  // credentials and nkey_seed_file together are ambiguous.
  const both = file('both.conf', `streaming { ns: "nats://127.0.0.1:${port}", credentials: "${creds}", nkey_seed_file: "${creds}" }\n`);
  await expectStartFailure(['-sc', both], /"credentials" and "nkey_seed_file" cannot be used together/);
});

function tlsServerConfig(verify: boolean): string {
  return [
    'tls {',
    `  cert_file: "${certs.certFile}"`,
    `  key_file: "${certs.keyFile}"`,
    `  ca_file: "${certs.caFile}"`,
    `  verify: ${verify}`,
    '  timeout: 5',
    '}',
    '',
  ].join('\n');
}

test('TLS with client certificates (-tls_client_cert/-tls_client_key/-tls_client_cacert) against a verifying nats-server', async () => {
  const nats = await natsServer(tlsServerConfig(true));
  const port = nats.port;
  const url = `nats://127.0.0.1:${port}`;
  const clientTLS = { tls: { ca: fs.readFileSync(certs.caFile), cert: fs.readFileSync(certs.clientCertFile), key: fs.readFileSync(certs.clientKeyFile) } };
  const flags = ['-tls_client_cert', certs.clientCertFile, '-tls_client_key', certs.clientKeyFile, '-tls_client_cacert', certs.caFile];

  const ours = await startOurs(['-cid', 'tls-cli', '-ns', url, ...flags]);
  await roundTrip(url, 'tls-cli', clientTLS);
  await stopOk(ours);

  // The same through the streaming config's tls block, with server_name.
  const conf = file(
    'tls.conf',
    `streaming { cluster_id: tls-conf, ns: "${url}", tls { client_cert: "${certs.clientCertFile}", client_key: "${certs.clientKeyFile}", client_ca: "${certs.caFile}", server_name: localhost } }\n`,
  );
  const inConf = await startOurs(['-sc', conf]);
  await roundTrip(url, 'tls-conf', clientTLS);
  await stopOk(inConf);

  // The server certificate is not signed by the CA we trust.
  await expectStartFailure(
    ['-cid', 'tls-wrong-ca', '-ns', url, '-tls_client_cert', certs.clientCertFile, '-tls_client_key', certs.clientKeyFile, '-tls_client_cacert', certs.wrongCaFile],
    /\[FTL\] STREAM: cannot connect to NATS Server at .*: .*certificate.*could not be verified: give its CA/,
  );
  // Our client certificate is signed by a CA the server does not trust.
  await expectStartFailure(
    ['-cid', 'tls-wrong-client', '-ns', url, '-tls_client_cert', certs.wrongClientCertFile, '-tls_client_key', certs.wrongClientKeyFile, '-tls_client_cacert', certs.caFile],
    /\[FTL\] STREAM: cannot connect to NATS Server.*refused our client certificate/,
  );
  // Without TLS settings the client still upgrades (the server requires TLS) but cannot
  // verify the server against the system's CAs.
  await expectStartFailure(['-cid', 'tls-none', '-ns', url], /\[FTL\] STREAM: cannot connect to NATS Server.*could not be verified/);
  // server_name that the certificate does not cover.
  await expectStartFailure(
    ['-sc', file('tls-sn.conf', `streaming { ns: "${url}", tls { client_cert: "${certs.clientCertFile}", client_key: "${certs.clientKeyFile}", client_ca: "${certs.caFile}", server_name: wrong.example } }\n`)],
    /cannot connect to NATS Server.*wrong\.example/,
  );
});

test('TLS files: unreadable, not PEM, or a key that does not match the certificate stop the start-up naming the file', async () => {
  const url = 'nats://127.0.0.1:1'; // never reached: files are checked first
  const missing = path.join(tmp, 'missing.pem');
  await expectStartFailure(['-ns', url, '-tls_client_cert', missing, '-tls_client_key', certs.clientKeyFile], /TLS client certificate ".*missing\.pem": cannot read it: ENOENT/);
  await expectStartFailure(['-ns', url, '-tls_client_cacert', missing], /TLS CA certificate ".*missing\.pem": cannot read it/);
  const notPem = file('not.pem', 'not a certificate\n');
  await expectStartFailure(['-ns', url, '-tls_client_cacert', notPem], /TLS CA certificate ".*not\.pem": not a valid PEM file/);
  await expectStartFailure(['-ns', url, '-tls_client_cert', certs.clientCertFile, '-tls_client_key', notPem], /TLS client key ".*not\.pem": not a valid PEM file/);
  await expectStartFailure(
    ['-ns', url, '-tls_client_cert', certs.clientCertFile, '-tls_client_key', certs.wrongClientKeyFile],
    /TLS client key ".*wrong-client\.key" does not belong to the certificate/,
  );
  await expectStartFailure(['-ns', url, '-tls_client_cert', certs.clientCertFile], /-tls_client_cert given without -tls_client_key/);
});

test('-secure: TLS without verification against a TLS nats-server; refused by a server without TLS', async () => {
  const nats = await natsServer(tlsServerConfig(false));
  const url = `nats://127.0.0.1:${nats.port}`;
  // No CA given: the server certificate (from our test CA) cannot be verified, -secure does not try.
  const ours = await startOurs(['-cid', 'secure', '-ns', url, '-secure']);
  await roundTrip(url, 'secure', { tls: { ca: fs.readFileSync(certs.caFile) } });
  await stopOk(ours);

  // Without -secure and without a CA, verification against the system roots fails.
  await expectStartFailure(['-cid', 'secure-no', '-ns', url, '-tls_client_cert', certs.clientCertFile, '-tls_client_key', certs.clientKeyFile], /cannot connect to NATS Server/);

  const plain = await natsServer('');
  await expectStartFailure(['-cid', 'secure-plain', '-ns', plain.url, '-secure'], /cannot connect to NATS Server.*TLS/);
});
