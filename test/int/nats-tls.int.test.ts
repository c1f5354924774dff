/**
 * TLS on the embedded NATS server's client port (nats-core spec §1.1, §5.3): plaintext INFO
 * with tls_required/tls_verify, then the handshake on the same socket, then the protocol
 * inside TLS. Real openssl certificates, real Node TLS clients and nats.js v2.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { connect as natsConnect, StringCodec } from 'nats';
import { generateTestCerts, type TlsFiles } from '../helpers/certs';
import { captureLogger, startServer } from '../helpers/nats-helpers';
import type { NatsServerOptions } from '../../src/config/options';
import type { EmbeddedNatsServer } from '../../src/nats/embedded';
import { TlsConfigError } from '../../src/nats/embedded/tls';

let certs: TlsFiles;
let dir: string;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-nats-tls-'));
  certs = await generateTestCerts(path.join(dir, 'pki'));
});

after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function tlsOpts(extra: Partial<NatsServerOptions> = {}): Partial<NatsServerOptions> {
  return { tls: true, tlsCert: certs.certFile, tlsKey: certs.keyFile, ...extra };
}

function verifyOpts(): Partial<NatsServerOptions> {
  return tlsOpts({ tlsVerify: true, tlsCaCert: certs.caFile });
}

/** A plain TCP connection that collects bytes until the first line (INFO) arrived. */
function connectPlain(port: number): Promise<{ socket: Socket; info: Record<string, unknown>; rawLine: string }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port });
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('latin1');
      const i = buf.indexOf('\r\n');
      if (i < 0) return;
      socket.off('data', onData);
      const line = buf.slice(0, i);
      assert.match(line, /^INFO \{.*\} $/);
      resolve({ socket, info: JSON.parse(line.slice(5)) as Record<string, unknown>, rawLine: line });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/** Upgrades a socket that read INFO to TLS as a client would; resolves once secure. */
function upgrade(socket: Socket, opts: { cert?: string; key?: string; ca?: string } = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const t = tlsConnect({
      socket,
      servername: 'localhost',
      ca: fs.readFileSync(opts.ca ?? certs.caFile),
      ...(opts.cert !== undefined ? { cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key ?? '') } : {}),
    });
    t.once('secureConnect', () => resolve(t));
    t.once('error', reject);
  });
}

/** Collects what arrives on `s`; resolves `closed` when the peer closes. */
function collect(s: Socket): { text: () => string; closed: Promise<void>; waitFor: (x: string, ms?: number) => Promise<void> } {
  let data = '';
  const waiters: Array<() => void> = [];
  s.on('data', (d: Buffer) => {
    data += d.toString('latin1');
    for (const w of waiters.splice(0)) w();
  });
  s.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
  return {
    text: () => data,
    closed,
    waitFor: async (x, ms = 10_000) => {
      const deadline = Date.now() + ms;
      while (!data.includes(x)) {
        if (Date.now() > deadline) throw new Error(`no ${JSON.stringify(x)} within ${ms} ms; got ${JSON.stringify(data)}`);
        await Promise.race([new Promise<void>((r) => waiters.push(r)), closed, new Promise((r) => setTimeout(r, 200))]);
      }
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]);
}

async function withServer(opts: Partial<NatsServerOptions>, fn: (s: EmbeddedNatsServer, log: string[]) => Promise<void>): Promise<void> {
  const logger = captureLogger(true);
  const s = await startServer(opts, logger);
  try {
    await fn(s, logger.lines);
  } finally {
    await s.close();
  }
}

test('TLS: INFO is plaintext with tls_required, then the protocol runs inside TLS on the same socket', async () => {
  await withServer(tlsOpts(), async (s) => {
    const { socket, info, rawLine } = await connectPlain(s.port);
    assert.equal(info.tls_required, true, rawLine);
    assert.equal(info.tls_verify, undefined, 'no tls_verify without --tlsverify');
    const t = await upgrade(socket);
    const c = collect(t);
    t.write('CONNECT {"verbose":false,"pedantic":false,"name":"tls-raw"}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nPING\r\n');
    await c.waitFor('PONG\r\n');
    assert.match(c.text(), /^MSG foo 1 2\r\nhi\r\nPONG\r\n$/);
    // No second INFO inside TLS: INFO was sent once, in plaintext.
    assert.doesNotMatch(c.text(), /INFO/);
    const conn = s.connections().find((x) => x.name === 'tls-raw');
    assert.ok(conn, 'connection listed');
    assert.match(conn.tlsVersion ?? '', /^1\.[23]$/);
    assert.match(conn.tlsCipher ?? '', /^TLS_/);
    t.destroy();
  });
});

test('TLS verify: INFO has tls_verify; a client certificate signed by the CA is accepted', async () => {
  await withServer(verifyOpts(), async (s) => {
    const { socket, info } = await connectPlain(s.port);
    assert.equal(info.tls_required, true);
    assert.equal(info.tls_verify, true);
    const t = await upgrade(socket, { cert: certs.clientCertFile, key: certs.clientKeyFile });
    const c = collect(t);
    t.write('CONNECT {"verbose":false}\r\nPING\r\n');
    await c.waitFor('PONG\r\n');
    t.destroy();
  });
});

test('TLS verify: a client without a certificate, or with one from another CA, is closed before any protocol', async () => {
  await withServer(verifyOpts(), async (s, log) => {
    for (const [what, cert, key] of [
      ['no certificate', undefined, undefined],
      ['wrong CA', certs.wrongClientCertFile, certs.wrongClientKeyFile],
    ] as const) {
      const { socket } = await connectPlain(s.port);
      // With TLS 1.3 the client's side of the handshake may complete before the server
      // checked the certificate: the refusal then shows as a close instead of a PONG.
      const t = await upgrade(socket, cert === undefined ? {} : { cert, key }).catch(() => undefined);
      if (t !== undefined) {
        const c = collect(t);
        t.write('CONNECT {"verbose":false}\r\nPING\r\n');
        await withTimeout(c.closed, 10_000, `${what}: server did not close`);
        assert.doesNotMatch(c.text(), /PONG/, what);
      }
      assert.equal(s.connections().length, 0, `${what}: never admitted`);
    }
    assert.ok(log.some((l) => /ERR .*TLS handshake error: .*(certificate|CERT)/i.test(l)), log.join('\n'));
  });
});

test('TLS: a plaintext client on a TLS port is closed and never gets PONG', async () => {
  await withServer(tlsOpts(), async (s, log) => {
    const { socket } = await connectPlain(s.port);
    const c = collect(socket);
    socket.write('CONNECT {"verbose":false}\r\nPING\r\n');
    await withTimeout(c.closed, 10_000, 'server did not close the plaintext client');
    assert.doesNotMatch(c.text(), /PONG/);
    assert.equal(s.connections().length, 0);
    assert.ok(log.some((l) => /ERR .*TLS handshake error/.test(l)), log.join('\n'));
  });
});

test('TLS: a client that never starts the handshake is closed after tls timeout', async () => {
  await withServer(tlsOpts({ tlsTimeout: 300 }), async (s, log) => {
    const { socket } = await connectPlain(s.port);
    const c = collect(socket);
    await withTimeout(c.closed, 15_000, 'server did not close an idle pre-handshake client');
    assert.equal(c.text(), '', 'nothing after INFO');
    assert.ok(log.some((l) => /DBG .*TLS handshake timeout/.test(l)), log.join('\n'));
  });
});

test('TLS: server close drops connections still in the handshake', async () => {
  const s = await startServer(tlsOpts({ tlsTimeout: 60_000 }));
  const { socket } = await connectPlain(s.port);
  const c = collect(socket);
  await s.close();
  await withTimeout(c.closed, 10_000, 'pending handshake not dropped on close');
});

test('TLS: nats.js v2 connects, publishes and subscribes (CA only, and with a client cert under verify)', async () => {
  const sc = StringCodec();
  for (const [opts, tls] of [
    [tlsOpts(), { caFile: certs.caFile }],
    [verifyOpts(), { caFile: certs.caFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile }],
  ] as const) {
    await withServer(opts, async (s) => {
      const nc = await natsConnect({ servers: `localhost:${s.port}`, tls, name: 'natsjs-tls' });
      try {
        assert.equal(nc.info?.tls_required, true);
        const got = new Promise<string>((resolve) => {
          nc.subscribe('greet', { max: 1, callback: (_e, m) => resolve(sc.decode(m.data)) });
        });
        await nc.flush();
        nc.publish('greet', sc.encode('over tls'));
        assert.equal(await withTimeout(got, 10_000, 'message'), 'over tls');
        const r = await nc.request('nobody', sc.encode('x'), { timeout: 5000 }).catch((e: Error) => e);
        assert.ok(r instanceof Error, 'no responders still works inside TLS');
      } finally {
        await nc.close();
      }
    });
  }
});

test('TLS verify: nats.js v2 without a client certificate, or with a wrong-CA one, cannot connect', async () => {
  await withServer(verifyOpts(), async (s) => {
    for (const tls of [
      { caFile: certs.caFile },
      { caFile: certs.caFile, certFile: certs.wrongClientCertFile, keyFile: certs.wrongClientKeyFile },
    ]) {
      const r = await natsConnect({ servers: `localhost:${s.port}`, tls, reconnect: false, timeout: 5000 }).then(
        async (nc) => {
          await nc.close();
          return 'connected';
        },
        (e: Error) => e,
      );
      assert.ok(r instanceof Error, `refused (${JSON.stringify(tls)})`);
      assert.equal(s.connections().length, 0);
    }
  });
});

test('TLS start-up errors: missing flags, unreadable files, non-PEM content, mismatched key', async () => {
  const notPem = path.join(dir, 'not-a-cert.pem');
  fs.writeFileSync(notPem, 'hello\n');
  const cases: Array<[Partial<NatsServerOptions>, RegExp]> = [
    [{ tls: true }, /--tlscert/],
    [{ tls: true, tlsCert: certs.certFile }, /--tlskey/],
    [{ tlsVerify: true, tlsCert: certs.certFile }, /--tlskey/],
    [tlsOpts({ tlsCert: path.join(dir, 'missing.pem') }), /missing\.pem.*ENOENT/],
    [tlsOpts({ tlsCert: notPem }), /not-a-cert\.pem.*not a PEM certificate/],
    [tlsOpts({ tlsKey: notPem }), /not-a-cert\.pem.*not an unencrypted PEM private key/],
    [tlsOpts({ tlsKey: certs.clientKeyFile }), /client\.key.*does not match the certificate.*server\.crt/],
    [tlsOpts({ tlsCaCert: path.join(dir, 'no-ca.pem') }), /no-ca\.pem.*--tlscacert/],
  ];
  for (const [opts, re] of cases) {
    await assert.rejects(startServer(opts), (err: Error) => {
      assert.ok(err instanceof TlsConfigError, `${JSON.stringify(opts)}: ${err.stack}`);
      assert.match(err.message, re);
      return true;
    });
  }
});
