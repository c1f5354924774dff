/**
 * The admin API over HTTP: authentication, routing, request bodies, JSON answers and the
 * access log. Knows nothing of the STAN core: it calls an {@link AdminOperations}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../logging/logger';
import { authenticate, type AdminAuthConfig, type AdminPrincipal } from './auth';
import { availableEndpoints, matchRoute, type Endpoint } from './endpoints';
import { AdminError, badParameter, notActive, type AdminErrorBody } from './errors';
import { openApiDocument } from './openapi';
import type { AdminOperations, AdminRole } from './operations';
import { parseBody, type JsonObject } from './params';

export const ADMIN_PREFIX = '/admin/v1';
/** Admin bodies are a few fields: anything bigger is a mistake (or an attack). */
export const MAX_BODY_BYTES = 64 * 1024;

export interface AdminHandlerDeps {
  auth: AdminAuthConfig;
  ops: AdminOperations;
  role: () => AdminRole | Promise<AdminRole>;
  log: Logger;
  version: string;
}

/** A request to the admin API: `path` is the URL path, still percent-encoded. */
export type AdminHttpHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

function send(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers }).end(`${JSON.stringify(body, null, 2)}\n`);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_BODY_BYTES) {
        reject(badParameter('body', `larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function who(p: AdminPrincipal | undefined): string {
  if (p === undefined) return 'unauthenticated';
  return p.via === 'token' ? 'token' : `certificate CN=${p.subject}`;
}

export function createAdminHandler(deps: AdminHandlerDeps): AdminHttpHandler {
  const endpoints: Endpoint[] = availableEndpoints(deps.ops);
  const openapi = openApiDocument(endpoints, deps.version);

  return (req, res, url) => {
    const method = req.method ?? 'GET';
    const sub = url.pathname.slice(ADMIN_PREFIX.length);
    let principal: AdminPrincipal | undefined;
    const done = (status: number, body: unknown, headers?: Readonly<Record<string, string>>): void => {
      send(res, status, body, headers);
      const err = status >= 400 ? ` ${(body as AdminErrorBody).code}` : '';
      // Every call, with its outcome and who made it; never the token.
      deps.log.notice(`admin: ${method} ${url.pathname} -> ${status}${err} (${who(principal)})`);
    };
    const fail = (err: unknown): void => {
      if (err instanceof AdminError) return done(err.status, err.body, err.headers);
      deps.log.error(`admin: ${method} ${url.pathname}: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      done(500, { code: 'internal', message: 'internal error; the server log has the details' });
    };

    // The document is public: it only lists what this server can do, and the console
    // reads it before a token is entered.
    if (sub === '/openapi.json' && method === 'GET') return done(200, openapi);

    const run = async (): Promise<void> => {
      const m = matchRoute(endpoints, method, sub);
      principal = authenticate(deps.auth, req);
      if (m === undefined) {
        throw new AdminError(404, { code: 'not_found', message: `no admin endpoint ${url.pathname}; see ${ADMIN_PREFIX}/openapi.json` });
      }
      if ('allow' in m) {
        throw new AdminError(
          405,
          { code: 'method_not_allowed', message: `${method} is not allowed on ${url.pathname}; use ${m.allow.join(' or ')}` },
          { Allow: m.allow.join(', ') },
        );
      }
      if (m.endpoint.mutating) {
        const role = await deps.role();
        if (!role.active) throw notActive(role);
      }
      const body: JsonObject = method === 'GET' ? {} : parseBody(await readBody(req));
      const out = await m.endpoint.call(deps.ops, { params: m.params, query: url.searchParams, body });
      done(200, out);
    };
    run().catch(fail);
  };
}
