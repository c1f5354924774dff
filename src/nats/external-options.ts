/**
 * Turns the operator's options for the connection to an external NATS server (`-ns`) into
 * what the nats.js client needs: server addresses without credentials, the credentials to
 * present, and the TLS material. Every file is read and checked here, at start-up, so a
 * wrong path or a malformed file stops the server with a message naming the file instead
 * of surfacing later as an obscure handshake or authentication failure.
 */
import * as fs from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { nkeys } from 'nats';
import type { ServerOptions } from '../config/options';
import { redactURL } from './redact-url';
import { StanServerError } from '../errors';

/** A start-up error in the external NATS connection settings (shown to the operator as is). */
export class ExternalNatsConfigError extends StanServerError {
  override readonly kind = 'configuration' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ExternalNatsConfigError';
  }
}

/** TLS of the client side; `rejectUnauthorized: false` means "encrypt, but do not verify". */
export interface ExternalTLS {
  cert?: string;
  key?: string;
  ca?: string;
  servername?: string;
  rejectUnauthorized: boolean;
}

export interface ExternalConnectOptions {
  /** Connection name shown by the NATS server (`_NSS-<cluster id>-general`). */
  name: string;
  user?: string;
  pass?: string;
  token?: string;
  /** Contents of a NATS credentials (.creds) file: a user JWT and its nkey seed. */
  creds?: Uint8Array;
  /** An nkey user seed (`SU…`). */
  nkeySeed?: Uint8Array;
  /** TLS is required when set. */
  tls?: ExternalTLS;
}

export interface URLCredentials {
  user?: string;
  pass?: string;
  token?: string;
}

export interface ParsedNatsURLs {
  /** `host:port` for nats.js (it does not understand credentials in its server list). */
  servers: string[];
  /** The credentials carried by the URLs, when any. */
  credentials: URLCredentials | undefined;
  /** A `tls://` URL asks for TLS, as in the Go client. */
  tlsScheme: boolean;
}

const DEFAULT_PORT = 4222;

/**
 * Splits a `-ns` value (`nats://u:p@h1:4222,nats://h2:4222`) into server addresses and the
 * credentials the URLs carry. A URL with only a user part (`nats://s3cr3t@host`) carries a
 * token, as in the Go client.
 */
export function parseNatsURLs(spec: string | string[]): ParsedNatsURLs {
  const raw = (Array.isArray(spec) ? spec : spec.split(',')).map((u) => u.trim()).filter((u) => u !== '');
  if (raw.length === 0) throw new ExternalNatsConfigError('-ns: no NATS server URL given');
  const servers: string[] = [];
  let credentials: URLCredentials | undefined;
  let credsKey: string | undefined;
  let tlsScheme = false;
  for (const r of raw) {
    const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(r) ? r : `nats://${r}`;
    let u: URL;
    try {
      u = new URL(withScheme);
    } catch {
      throw new ExternalNatsConfigError(`-ns: invalid NATS server URL ${JSON.stringify(redactURL(r))}`);
    }
    const scheme = u.protocol.slice(0, -1).toLowerCase();
    if (scheme !== 'nats' && scheme !== 'tls') {
      throw new ExternalNatsConfigError(
        `-ns: unsupported URL scheme "${scheme}://" in ${JSON.stringify(redactURL(r))}; use nats:// (or tls:// to require TLS)`,
      );
    }
    if (u.hostname === '') throw new ExternalNatsConfigError(`-ns: no host in NATS server URL ${JSON.stringify(redactURL(r))}`);
    if (scheme === 'tls') tlsScheme = true;
    const port = u.port === '' ? DEFAULT_PORT : Number(u.port);
    // Hostnames of non-special URL schemes keep IPv6 brackets, which nats.js expects too.
    servers.push(`${u.hostname}:${port}`);
    if (u.username !== '' || u.password !== '') {
      // `user:@host` is a user with an empty password, `token@host` a token: look at the raw text.
      const authority = withScheme.slice(scheme.length + 3).split(/[/?#]/)[0];
      const userinfo = authority.slice(0, authority.lastIndexOf('@'));
      const c: URLCredentials = userinfo.includes(':')
        ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) }
        : { token: decodeURIComponent(u.username) };
      const key = JSON.stringify(c);
      // nats.js presents one set of credentials to every server of its pool.
      if (credsKey !== undefined && key !== credsKey) {
        throw new ExternalNatsConfigError(
          '-ns: the NATS server URLs carry different credentials; give the same ones in every URL ' +
            'or use the streaming configuration keys username/password or token',
        );
      }
      credsKey = key;
      credentials = c;
    }
  }
  return { servers, credentials, tlsScheme };
}

function readFile(what: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new ExternalNatsConfigError(`${what} ${JSON.stringify(file)}: cannot read it: ${(err as Error).message}`);
  }
}

interface JwtClaims {
  sub?: unknown;
  exp?: unknown;
  type?: unknown;
  nats?: { type?: unknown };
}

function decodeJwtClaims(jwt: string): JwtClaims | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    return typeof claims === 'object' && claims !== null ? (claims as JwtClaims) : undefined;
  } catch {
    return undefined;
  }
}

/** The public key of a user nkey seed, or an error saying what is wrong with it. */
function userPublicKey(what: string, file: string, seed: string): string {
  let pub: string;
  try {
    pub = nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey();
  } catch (err) {
    throw new ExternalNatsConfigError(`${what} ${JSON.stringify(file)}: invalid nkey seed (${(err as Error).message})`);
  }
  if (!pub.startsWith('U')) {
    throw new ExternalNatsConfigError(`${what} ${JSON.stringify(file)}: the nkey seed is not a user seed (SU…); NATS clients authenticate with user nkeys`);
  }
  return pub;
}

// The blocks of a .creds file: "-----BEGIN NATS USER JWT-----\n<jwt>\n------END NATS USER JWT------".
const CREDS_BLOCK = /\s*(?:[-]{3,}[^\n]*[-]{3,}\r?\n)(.+?)\r?\n\s*[-]{3,}[^\n]*[-]{3,}\r?\n?/g;

/** Reads and checks a NATS credentials file (user JWT + its nkey seed). */
export function loadCredentialsFile(file: string, now = Date.now()): Uint8Array {
  const what = 'NATS credentials file';
  const data = readFile(what, file);
  const blocks = [...data.toString('utf8').matchAll(CREDS_BLOCK)].map((m) => m[1].trim());
  if (blocks.length < 2) {
    throw new ExternalNatsConfigError(
      `${what} ${JSON.stringify(file)}: malformed, expected a "BEGIN NATS USER JWT" block followed by a "BEGIN USER NKEY SEED" block`,
    );
  }
  const [jwt, seed] = blocks;
  const claims = decodeJwtClaims(jwt);
  if (claims === undefined) throw new ExternalNatsConfigError(`${what} ${JSON.stringify(file)}: the first block is not a JWT`);
  const type = claims.nats?.type ?? claims.type;
  if (type !== 'user') throw new ExternalNatsConfigError(`${what} ${JSON.stringify(file)}: the JWT is not a user JWT (type ${JSON.stringify(type)})`);
  if (typeof claims.exp === 'number' && claims.exp * 1000 < now) {
    throw new ExternalNatsConfigError(`${what} ${JSON.stringify(file)}: the user JWT expired on ${new Date(claims.exp * 1000).toISOString()}`);
  }
  const pub = userPublicKey(what, file, seed);
  if (claims.sub !== pub) {
    throw new ExternalNatsConfigError(`${what} ${JSON.stringify(file)}: the nkey seed does not belong to the JWT's user (${String(claims.sub)})`);
  }
  return new Uint8Array(data);
}

/** Reads an nkey seed file (the seed alone, or decorated like a .creds file); returns the seed. */
export function loadNkeySeedFile(file: string): Uint8Array {
  const what = 'nkey seed file';
  const text = readFile(what, file).toString('utf8');
  const m = /\bS[A-Z][A-Z2-7]{56}\b/.exec(text);
  if (m === null) throw new ExternalNatsConfigError(`${what} ${JSON.stringify(file)}: no nkey seed (a line starting with "SU") found`);
  userPublicKey(what, file, m[0]);
  return new TextEncoder().encode(m[0]);
}

function loadPem(what: string, file: string, check: (pem: Buffer) => void): string {
  const pem = readFile(what, file);
  try {
    check(pem);
  } catch (err) {
    throw new ExternalNatsConfigError(`${what} ${JSON.stringify(file)}: not a valid PEM file (${(err as Error).message})`);
  }
  return pem.toString('utf8');
}

/** The client TLS settings, or undefined when TLS was not asked for. */
export function clientTLS(o: ServerOptions, tlsScheme: boolean): ExternalTLS | undefined {
  const s = o.streaming;
  const t = s.tls;
  const asked = s.secure || tlsScheme || t.clientCert !== '' || t.clientKey !== '' || t.clientCA !== '' || t.serverName !== '' || t.insecure;
  if (!asked) return undefined;
  if ((t.clientCert === '') !== (t.clientKey === '')) {
    throw new ExternalNatsConfigError(
      t.clientCert === ''
        ? '-tls_client_key given without -tls_client_cert: give both (tls { client_cert, client_key })'
        : '-tls_client_cert given without -tls_client_key: give both (tls { client_cert, client_key })',
    );
  }
  const out: ExternalTLS = {
    // -secure alone means "TLS without verification"; with a CA, verification against it.
    rejectUnauthorized: !(t.insecure || (s.secure && t.clientCA === '')),
  };
  if (t.clientCert !== '') {
    let cert: X509Certificate | undefined;
    out.cert = loadPem('TLS client certificate', t.clientCert, (pem) => {
      cert = new X509Certificate(pem);
    });
    const key = loadPem('TLS client key', t.clientKey, (pem) => {
      createPrivateKey(pem);
    });
    if (cert !== undefined && !cert.checkPrivateKey(createPrivateKey(key))) {
      throw new ExternalNatsConfigError(
        `TLS client key ${JSON.stringify(t.clientKey)} does not belong to the certificate ${JSON.stringify(t.clientCert)}`,
      );
    }
    out.key = key;
  }
  if (t.clientCA !== '') {
    out.ca = loadPem('TLS CA certificate', t.clientCA, (pem) => {
      new X509Certificate(pem);
    });
  }
  if (t.serverName !== '') out.servername = t.serverName;
  return out;
}

/**
 * The connection settings from the server options. Credentials, highest precedence first:
 * those in the `-ns` URLs (applied by connectExternal), the streaming configuration's
 * username/password and token, then the embedded server's `--user/--pass/--auth`
 * (or its `authorization` block), which the reference also uses for this connection.
 */
export function externalConnectOptions(o: ServerOptions, name: string): ExternalConnectOptions {
  const s = o.streaming;
  const n = o.nats;
  const urls = parseNatsURLs(s.natsServerURL);
  const out: ExternalConnectOptions = { name };
  if (s.natsPassword !== '' && s.natsUser === '') {
    throw new ExternalNatsConfigError('streaming configuration: "password" given without "username"');
  }
  if (s.natsUser !== '') {
    out.user = s.natsUser;
    out.pass = s.natsPassword;
  } else if (n.username !== '') {
    out.user = n.username;
    out.pass = n.password;
  }
  if (s.natsToken !== '') out.token = s.natsToken;
  else if (n.authorization !== '') out.token = n.authorization;
  if (s.natsCredentials !== '' && s.natsNkeySeedFile !== '') {
    throw new ExternalNatsConfigError('"credentials" and "nkey_seed_file" cannot be used together: a credentials file already holds the nkey seed');
  }
  if (s.natsCredentials !== '') out.creds = loadCredentialsFile(s.natsCredentials);
  if (s.natsNkeySeedFile !== '') out.nkeySeed = loadNkeySeedFile(s.natsNkeySeedFile);
  out.tls = clientTLS(o, urls.tlsScheme);
  return out;
}
