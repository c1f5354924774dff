/**
 * TLS for the embedded NATS server's client port (spec §1.1, §5.3) and the certificate
 * material for HTTPS monitoring (`-ms/--https_port`).
 *
 * Client port order, as nats-server does it: TCP accept → plaintext INFO carrying
 * `tls_required` (and `tls_verify`) → server-side TLS handshake on the same socket within
 * `tls.timeout` → everything from CONNECT on travels inside TLS. A client that does not
 * start a handshake (plaintext, or nothing) is closed.
 *
 * The handshake runs through a `tls.Server` that never listens: accepted sockets are handed
 * to it with `emit('connection')`, so Node's own code verifies the client certificate chain
 * against the CA and sets `authorized` (a bare server-side `TLSSocket` never does). The server
 * does not reject by itself (`rejectUnauthorized: false`): it would drop the socket silently,
 * and we want the refusal logged with its reason; we close unverified clients before reading
 * a single byte from them.
 */
import * as fs from 'node:fs';
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import type { Socket } from 'node:net';
import type * as Tls from 'node:tls';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { NatsServerOptions } from '../../config/options';
import type { Logger } from '../../logging/logger';
import { StanServerError } from '../../errors';

/** nats-server's TLS_TIMEOUT: the handshake deadline when `tls.timeout` is not set. */
export const DEFAULT_TLS_TIMEOUT_MS = 2000;

/** A TLS set-up problem found at start-up (missing flag, unreadable or mismatched files). */
export class TlsConfigError extends StanServerError {
  override readonly kind = 'configuration' as const;
  constructor(message: string) {
    super(message);
    this.name = 'TlsConfigError';
  }
}

/** Whether the client port requires TLS. `tlsVerify` alone implies TLS: never plaintext then. */
export function tlsRequired(o: Readonly<NatsServerOptions>): boolean {
  return o.tls || o.tlsVerify;
}

/** The handshake deadline in ms; 0 or less means the default, as in nats-server. */
export function tlsTimeoutMs(o: Readonly<NatsServerOptions>): number {
  return o.tlsTimeout > 0 ? o.tlsTimeout : DEFAULT_TLS_TIMEOUT_MS;
}

/** PEM contents of the server's certificate, key and (optional) client CA, checked. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer | undefined;
}

function readPem(path: string, what: string, flag: string): Buffer {
  try {
    return fs.readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new TlsConfigError(
      `cannot read the TLS ${what} file ${JSON.stringify(path)} (${flag}): ${e.code ?? e.message}; ` +
        `give the path of a readable PEM file`,
    );
  }
}

/**
 * Reads and checks the certificate, key and CA named by the options. `purpose` goes into the
 * message when a file is missing ("TLS", "HTTPS monitoring").
 * @throws TlsConfigError naming the flag/file and what to do
 */
export function loadTlsMaterial(o: Readonly<NatsServerOptions>, purpose: string): TlsMaterial {
  if (o.tlsCert === '') {
    throw new TlsConfigError(
      `${purpose} requires a server certificate: give --tlscert <file> (or cert_file in the tls { } block of the config file)`,
    );
  }
  if (o.tlsKey === '') {
    throw new TlsConfigError(
      `${purpose} requires the certificate's private key: give --tlskey <file> (or key_file in the tls { } block of the config file)`,
    );
  }
  const cert = readPem(o.tlsCert, 'certificate', '--tlscert / cert_file');
  const key = readPem(o.tlsKey, 'private key', '--tlskey / key_file');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new TlsConfigError(
      `the TLS certificate file ${JSON.stringify(o.tlsCert)} (--tlscert / cert_file) is not a PEM certificate: ${(err as Error).message}`,
    );
  }
  let keyObj: KeyObject;
  try {
    keyObj = createPrivateKey(key);
  } catch (err) {
    throw new TlsConfigError(
      `the TLS private key file ${JSON.stringify(o.tlsKey)} (--tlskey / key_file) is not an unencrypted PEM private key: ${(err as Error).message}`,
    );
  }
  if (!x509.checkPrivateKey(keyObj)) {
    throw new TlsConfigError(
      `the TLS private key ${JSON.stringify(o.tlsKey)} (--tlskey) does not match the certificate ${JSON.stringify(o.tlsCert)} (--tlscert); ` +
        'give the key the certificate was issued for',
    );
  }
  let ca: Buffer | undefined;
  if (o.tlsCaCert !== '') {
    ca = readPem(o.tlsCaCert, 'CA certificate', '--tlscacert / ca_file');
    try {
      new X509Certificate(ca);
    } catch (err) {
      throw new TlsConfigError(
        `the TLS CA file ${JSON.stringify(o.tlsCaCert)} (--tlscacert / ca_file) is not a PEM certificate: ${(err as Error).message}`,
      );
    }
  }
  return { cert, key, ca };
}

/**
 * Checks every TLS setting before anything listens, so a bad set-up fails start-up with one
 * clear message instead of a half-started server.
 */
export function validateServerTls(o: Readonly<NatsServerOptions>): void {
  if (o.httpsPort !== 0 && !tlsRequired(o)) {
    // nats-server: "TLS cert and key required for HTTPS".
    throw new TlsConfigError(
      'HTTPS monitoring (-ms/--https_port) requires TLS: give --tlscert <file> and --tlskey <file> ' +
        '(or a tls { cert_file, key_file } block in the config file)',
    );
  }
  if (tlsRequired(o)) loadTlsMaterial(o, 'TLS (--tls/--tlsverify or the tls { } block)');
}

/** Options for `https.createServer` of the monitor: the same certificate; no client certs. */
export function httpsMonitorOptions(o: Readonly<NatsServerOptions>): {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
} {
  const m = loadTlsMaterial(o, 'HTTPS monitoring (-ms/--https_port)');
  if (!o.tlsVerify || m.ca === undefined) return { cert: m.cert, key: m.key };
  // With --tlsverify a client certificate signed by the CA is an admin API credential
  // (/admin/v1/). It is asked for, not required: browsers and probes without one still
  // read the monitoring pages.
  return { cert: m.cert, key: m.key, ca: m.ca, requestCert: true, rejectUnauthorized: false };
}

/** `tls_version`/`tls_cipher_suite` of /connz in nats-server's spelling ("1.3", IANA names). */
export function tlsConnInfo(socket: Socket): { tlsVersion: string; tlsCipher: string } | undefined {
  const s = socket as Partial<TLSSocket>;
  if (s.encrypted !== true || typeof s.getCipher !== 'function' || socket.destroyed) return undefined;
  const c = s.getCipher();
  return { tlsVersion: c.version.replace(/^TLSv/, ''), tlsCipher: c.standardName ?? c.name };
}

interface PendingHandshake {
  raw: Socket;
  prefix: string;
  timer: NodeJS.Timeout;
  onSecure: (s: TLSSocket) => void;
}

/** Runs the server side of the handshake for accepted client sockets. */
export class ClientTls {
  readonly verify: boolean;
  readonly timeoutMs: number;
  private readonly engine: TlsServer;
  /** By the client's `address|port`: unique per live connection on our listener. */
  private readonly pending = new Map<string, PendingHandshake>();

  /** @throws TlsConfigError */
  constructor(
    o: Readonly<NatsServerOptions>,
    private readonly log: Logger,
  ) {
    const m = loadTlsMaterial(o, 'TLS (--tls/--tlsverify or the tls { } block)');
    this.verify = o.tlsVerify;
    this.timeoutMs = tlsTimeoutMs(o);
    // node:tls is loaded here, by a server that uses TLS: loading it at start-up cost every
    // server 3–5 ms (docs/startup.md).
    const { createServer: createTlsServer } = require('node:tls') as typeof Tls;
    this.engine = createTlsServer({
      cert: m.cert,
      key: m.key,
      ...(m.ca !== undefined ? { ca: m.ca } : {}),
      requestCert: this.verify,
      rejectUnauthorized: false,
      // Our own timer below does the deadline (and the log line); Node's stays off.
      handshakeTimeout: 0,
    });
    this.engine.on('secureConnection', (s: TLSSocket) => this.settle(s, undefined));
    this.engine.on('tlsClientError', (err: Error, s: TLSSocket) => this.settle(s, err));
  }

  /** Handshakes in progress (they count against max_connections). */
  get inProgress(): number {
    return this.pending.size;
  }

  /**
   * Writes the plaintext INFO, then starts the handshake on `raw`. `onSecure` gets the
   * TLS socket once the client is through (and verified, with --tlsverify); on failure or
   * timeout the socket is closed and the reason logged.
   */
  upgrade(raw: Socket, info: Buffer, prefix: string, onSecure: (s: TLSSocket) => void): void {
    if (raw.remoteAddress === undefined || raw.remotePort === undefined) {
      // Already gone (reset right after accept): nothing to handshake with.
      raw.destroy();
      return;
    }
    const id = keyOf(raw);
    const timer = setTimeout(() => this.timedOut(id), this.timeoutMs);
    this.pending.set(id, { raw, prefix, timer, onSecure });
    // An error before the handshake starts (reset right after accept) must not go unhandled.
    raw.once('error', () => undefined);
    // A client that hangs up mid-handshake may not be reported by the TLS server.
    raw.once('close', () => this.fail(id, 'client closed the connection during the TLS handshake'));
    raw.write(info);
    // The TLSSocket takes over the same handle; Node keeps the INFO write ordered before
    // the handshake bytes and replays whatever the client already sent.
    this.engine.emit('connection', raw);
  }

  private settle(s: TLSSocket, err: Error | undefined): void {
    const id = keyOf(s);
    const p = this.pending.get(id);
    if (p === undefined) {
      s.destroy();
      return;
    }
    if (err !== undefined) {
      s.destroy();
      // OpenSSL errors carry a short `reason` ("wrong version number"); the message is long.
      const reason = (err as Error & { reason?: unknown }).reason;
      this.fail(id, typeof reason === 'string' && reason !== '' ? reason : err.message);
      return;
    }
    if (this.verify && !s.authorized) {
      s.destroy();
      this.fail(id, `client certificate refused: ${String(s.authorizationError ?? 'no certificate')}`);
      return;
    }
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (this.log.isDebug) {
      const c = s.getCipher();
      this.log.debug(`${p.prefix}TLS handshake complete`);
      this.log.debug(`${p.prefix}TLS version ${c.version}, cipher suite ${c.standardName ?? c.name}`);
    }
    p.onSecure(s);
  }

  /** Closes a connection whose handshake failed, with nats-server's log line. */
  private fail(id: string, why: string): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    this.log.error(`${p.prefix}TLS handshake error: ${why.trim()}`);
    p.raw.destroy();
  }

  private timedOut(id: string): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    this.log.debug(`${p.prefix}TLS handshake timeout`);
    p.raw.destroy();
  }

  /** Server shutdown: drops every handshake in progress. */
  close(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.raw.destroy();
    }
    this.pending.clear();
  }
}

function keyOf(s: Socket): string {
  return `${s.remoteAddress ?? ''}|${s.remotePort ?? 0}`;
}
