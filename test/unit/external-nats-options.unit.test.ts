/**
 * The settings of the connection to an external NATS server (-ns): URL parsing, credentials
 * precedence, redaction for logs, and the checks of credentials/nkey/TLS files (real files,
 * real nkeys, real openssl certificates).
 */
import { test, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as nkeys from 'nkeys.js';
import { defaultServerOptions, type ServerOptions } from '../../src/config/options';
import { externalConnectOptions, loadCredentialsFile, parseNatsURLs, ExternalNatsConfigError } from '../../src/nats/external-options';
import { redactURL } from '../../src/nats/redact-url';
import { externalOnlyWarnings, checkSupported } from '../../src/stan/unsupported';
import { credsFile, operatorSetup, signJwt } from '../helpers/nats-auth';
import { generateTestCerts, type TlsFiles } from '../helpers/certs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-extnats-unit-'));
let certs: TlsFiles;
before(async () => {
  certs = await generateTestCerts(path.join(tmp, 'certs'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function options(ns: string, f: (o: ServerOptions) => void = () => undefined): ServerOptions {
  const o = defaultServerOptions();
  o.streaming.natsServerURL = ns;
  f(o);
  return o;
}

test('parseNatsURLs: servers without credentials, user:pass and token URLs, default port, tls:// scheme', () => {
  assert.deepEqual(parseNatsURLs('nats://127.0.0.1:4223, nats://h2'), { servers: ['127.0.0.1:4223', 'h2:4222'], credentials: undefined, tlsScheme: false });
  assert.deepEqual(parseNatsURLs('nats://u:p%40ss@h:1').credentials, { user: 'u', pass: 'p@ss' });
  assert.deepEqual(parseNatsURLs('nats://u:@h:1').credentials, { user: 'u', pass: '' });
  assert.deepEqual(parseNatsURLs('nats://t0k@h:1').credentials, { token: 't0k' });
  assert.deepEqual(parseNatsURLs('h:5').servers, ['h:5']);
  assert.equal(parseNatsURLs('tls://h:1,nats://h:2').tlsScheme, true);
  assert.deepEqual(parseNatsURLs('nats://[::1]:4222').servers, ['[::1]:4222']);
  // Same credentials in every URL of a cluster: fine.
  assert.deepEqual(parseNatsURLs('nats://u:p@a:1,nats://u:p@b:2').credentials, { user: 'u', pass: 'p' });
});

test('parseNatsURLs: refuses other schemes, different credentials per URL, empty lists — without echoing secrets', () => {
  assert.throws(() => parseNatsURLs('http://u:secret@h:1'), (e: Error) => e instanceof ExternalNatsConfigError && /unsupported URL scheme "http:\/\/"/.test(e.message) && !e.message.includes('secret'));
  assert.throws(() => parseNatsURLs('nats://u:a@h:1,nats://u:b@h:2'), /carry different credentials/);
  assert.throws(() => parseNatsURLs(' , '), /no NATS server URL/);
});

test('redactURL hides passwords and tokens, keeps the rest', () => {
  assert.equal(redactURL('nats://u:p@h:1'), 'nats://u:[REDACTED]@h:1');
  assert.equal(redactURL('nats://tok@h:1'), 'nats://[REDACTED]@h:1');
  assert.equal(redactURL('nats://h:1'), 'nats://h:1');
  assert.equal(redactURL('u:p@h:1'), 'u:[REDACTED]@h:1');
});

test('credentials precedence: streaming config over the embedded server\'s --user/--pass/--auth', () => {
  const fromNats = externalConnectOptions(options('nats://h:1', (o) => {
    o.nats.username = 'cli';
    o.nats.password = 'clipw';
    o.nats.authorization = 'clitok';
  }), 'n');
  assert.deepEqual([fromNats.user, fromNats.pass, fromNats.token], ['cli', 'clipw', 'clitok']);
  const fromStreaming = externalConnectOptions(options('nats://h:1', (o) => {
    o.nats.username = 'cli';
    o.nats.password = 'clipw';
    o.nats.authorization = 'clitok';
    o.streaming.natsUser = 'conf';
    o.streaming.natsPassword = 'confpw';
    o.streaming.natsToken = 'conftok';
  }), 'n');
  assert.deepEqual([fromStreaming.user, fromStreaming.pass, fromStreaming.token], ['conf', 'confpw', 'conftok']);
  assert.throws(() => externalConnectOptions(options('nats://h:1', (o) => (o.streaming.natsPassword = 'x')), 'n'), /"password" given without "username"/);
});

test('TLS: -secure alone does not verify; with a CA it does; tls:// and client files turn TLS on; key must match the cert', () => {
  assert.equal(externalConnectOptions(options('nats://h:1'), 'n').tls, undefined);
  assert.deepEqual(externalConnectOptions(options('nats://h:1', (o) => (o.streaming.secure = true)), 'n').tls, { rejectUnauthorized: false });
  const withCA = externalConnectOptions(options('nats://h:1', (o) => {
    o.streaming.secure = true;
    o.streaming.tls.clientCA = certs.caFile;
  }), 'n').tls;
  assert.equal(withCA?.rejectUnauthorized, true);
  assert.match(withCA?.ca ?? '', /BEGIN CERTIFICATE/);
  assert.deepEqual(externalConnectOptions(options('tls://h:1'), 'n').tls, { rejectUnauthorized: true });
  const insecure = externalConnectOptions(options('nats://h:1', (o) => {
    o.streaming.tls.clientCA = certs.caFile;
    o.streaming.tls.insecure = true;
    o.streaming.tls.serverName = 'localhost';
  }), 'n').tls;
  assert.equal(insecure?.rejectUnauthorized, false);
  assert.equal(insecure?.servername, 'localhost');
  assert.throws(
    () => externalConnectOptions(options('nats://h:1', (o) => {
      o.streaming.tls.clientCert = certs.clientCertFile;
      o.streaming.tls.clientKey = certs.wrongClientKeyFile;
    }), 'n'),
    /does not belong to the certificate/,
  );
});

test('credentials file: valid chain accepted; wrong type, expired, foreign seed, garbage refused naming the file', () => {
  const ok = path.join(tmp, 'ok.creds');
  fs.writeFileSync(ok, operatorSetup().userCreds);
  assert.ok(loadCredentialsFile(ok).length > 0);

  const account = nkeys.createAccount();
  const user = nkeys.createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  const write = (name: string, text: string): string => {
    const p = path.join(tmp, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const notUser = write('acct.creds', credsFile(signJwt(account, user.getPublicKey(), 'x', { type: 'account' }), seed));
  assert.throws(() => loadCredentialsFile(notUser), /acct\.creds.*not a user JWT/);
  const expiredJwt = signJwt(account, user.getPublicKey(), 'x', { type: 'user' });
  // Re-sign with an expiry in the past.
  const [h, c] = expiredJwt.split('.');
  const claims = { ...JSON.parse(Buffer.from(c, 'base64url').toString()), exp: 1000 };
  const body = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signed = `${body}.${Buffer.from(account.sign(new TextEncoder().encode(body))).toString('base64url')}`;
  assert.throws(() => loadCredentialsFile(write('expired.creds', credsFile(signed, seed))), /expired\.creds.*expired on 1970/);
  const other = new TextDecoder().decode(nkeys.createUser().getSeed());
  assert.throws(() => loadCredentialsFile(write('foreign.creds', credsFile(expiredJwt, other))), /does not belong to the JWT's user/);
  assert.throws(() => loadCredentialsFile(write('garbage.creds', 'garbage')), /garbage\.creds.*malformed/);
});

test('with the embedded NATS server, -ns-only options are accepted but warned about; they are no longer "not supported yet"', () => {
  const o = options('', (x) => {
    for (const n of ['secure', 'tls_client_cert', 'credentials', 'nkey_seed_file']) x.explicit.add(n);
  });
  assert.doesNotThrow(() => checkSupported(o));
  assert.match(externalOnlyWarnings(o).join('\n'), /secure, tls_client_cert, credentials, nkey_seed_file: only used for the connection to an external NATS server/);
  o.streaming.natsServerURL = 'nats://h:1';
  assert.deepEqual(externalOnlyWarnings(o), []);
});

test('redactURL: a password containing @ is hidden up to the last @ of the authority', () => {
  assert.equal(redactURL('nats://stan:my@Secret@nats.example:4222'), 'nats://stan:[REDACTED]@nats.example:4222');
  assert.equal(redactURL('nats://stan:pw@h:1/path@x'), 'nats://stan:[REDACTED]@h:1/path@x');
});
