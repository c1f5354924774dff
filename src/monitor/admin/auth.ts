/**
 * Who may call the admin API. Two ways in, either is enough:
 *  - `Authorization: Bearer <token>` with the token of `--admin_token` / `admin_token` or the
 *    contents of `--admin_token_file` / `admin_token_file`;
 *  - a TLS client certificate on the HTTPS monitor (`-ms`) that chains to the configured CA
 *    (`--tlscacert` with `--tlsverify`): Node sets `authorized` only after verifying it.
 * With neither configured the API is off (403 `admin_disabled`) rather than open.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { StreamingOptions } from '../../config/options';
import { AdminError } from './errors';

export interface AdminAuthConfig {
  /** '' when no token is configured. */
  token: string;
  /** The HTTPS monitor verifies client certificates against a CA. */
  clientCertificates: boolean;
}

/** How a request got in (logged; never the token itself). */
export type AdminPrincipal = { via: 'token' } | { via: 'certificate'; subject: string };

/**
 * The configured token: `admin_token`, else the trimmed contents of `admin_token_file`.
 * @throws Error naming the file and what to do when it cannot be read or is empty
 */
export function resolveAdminToken(o: Pick<StreamingOptions, 'adminToken' | 'adminTokenFile'>, read = fs.readFileSync): string {
  if (o.adminToken !== '') return o.adminToken;
  if (o.adminTokenFile === '') return '';
  let text: string;
  try {
    text = read(o.adminTokenFile, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(
      `cannot read the admin token file ${JSON.stringify(o.adminTokenFile)} (--admin_token_file / admin_token_file): ` +
        `${e.code ?? e.message}; give the path of a readable file holding the token`,
    );
  }
  const token = text.trim();
  if (token === '') {
    throw new Error(`the admin token file ${JSON.stringify(o.adminTokenFile)} is empty; write the token into it`);
  }
  return token;
}

/** Compares in constant time (hashes first, so lengths do not leak either). */
function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The subject of a verified client certificate, or undefined when there is none. */
function verifiedCertificate(req: IncomingMessage): string | undefined {
  const sock = req.socket as Partial<TLSSocket>;
  if (sock.encrypted !== true || sock.authorized !== true || typeof sock.getPeerCertificate !== 'function') return undefined;
  const cert = sock.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return undefined;
  const cn = cert.subject?.CN;
  return typeof cn === 'string' ? cn : '(no CN)';
}

const BEARER_CHALLENGE = { 'WWW-Authenticate': 'Bearer realm="nats-streaming-admin"' };

/**
 * The request's principal.
 * @throws AdminError 403 admin_disabled (nothing configured), 401 unauthorized (no
 *   credentials, with the Bearer challenge), 403 forbidden (wrong token)
 */
export function authenticate(cfg: AdminAuthConfig, req: IncomingMessage): AdminPrincipal {
  if (cfg.token === '' && !cfg.clientCertificates) {
    throw new AdminError(403, {
      code: 'admin_disabled',
      message: 'the admin API is disabled: start the server with --admin_token_file (or admin_token_file in the streaming block) to enable it',
    });
  }
  const header = req.headers.authorization;
  if (header !== undefined && header !== '') {
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!m) {
      throw new AdminError(401, { code: 'unauthorized', message: 'the Authorization header must be "Bearer <token>"' }, BEARER_CHALLENGE);
    }
    if (cfg.token !== '' && sameToken(m[1] ?? '', cfg.token)) return { via: 'token' };
    throw new AdminError(403, { code: 'forbidden', message: 'the bearer token is not the admin token' });
  }
  if (cfg.clientCertificates) {
    const subject = verifiedCertificate(req);
    if (subject !== undefined) return { via: 'certificate', subject };
  }
  throw new AdminError(
    401,
    { code: 'unauthorized', message: 'the admin API needs "Authorization: Bearer <token>" (or a client certificate on the HTTPS monitor)' },
    BEARER_CHALLENGE,
  );
}
