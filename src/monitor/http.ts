/**
 * The monitoring server: plain HTTP (`-m/--http_port`) and/or HTTPS (`-ms/--https_port`, the
 * embedded NATS server's certificate, no client certificates), same routes on both. Routes:
 *  - the reference's streaming endpoints (`/streaming/...`, see ./streaming.ts),
 *  - the embedded NATS's `/varz`, `/connz`, `/subsz` (see ./nats.ts),
 *  - `/healthz` and `/readyz` for orchestrators (beyond the reference).
 *
 * Responses are JSON indented like Go's `json.MarshalIndent(v, "", "  ")` (with Go's HTML
 * escaping of `<`, `>`, `&`), `Content-Type: application/json`; with `?callback=fn` the body
 * is `fn(<json>)` with `Content-Type: application/javascript` (JSONP, as nats-server does).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logging/logger';
import { silentLogger } from '../logging/logger';
import { errorText } from '../errors';

/** What a route returns: a JSON value (200), or an explicit status with a plain or JSON body. */
export type RouteResult =
  | { status?: number; json: unknown }
  | { status: number; text: string }
  | { status: number; html: string }
  | { status: number; empty: true }
  | { status: number; body: string; contentType: string; headers?: Readonly<Record<string, string>> };

export type Route = (query: URLSearchParams) => RouteResult | Promise<RouteResult>;

/** A route that needs the whole request (method, headers, body, TLS peer): the admin API. */
export type RawRoute = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void;

/** Go's json.MarshalIndent(v, "", "  ") with its default HTML escaping. */
export function marshalIndent(v: unknown): string {
  return JSON.stringify(v, null, 2)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export class MonitorHttpServer {
  private readonly routes = new Map<string, Route>();
  private readonly prefixRoutes: Array<{ prefix: string; route: RawRoute }> = [];
  private server: http.Server | undefined;
  private secureServer: https.Server | undefined;
  /** Requests per registered route (exact path, or prefix for /admin/v1/), reported in /varz `http_req_stats`. */
  readonly reqStats: Record<string, number> = {};

  constructor(private readonly log: Logger = silentLogger) {}

  handle(path: string, route: Route): void {
    this.routes.set(path, route);
  }

  /** Serves every path below `prefix` (which ends with '/') that has no exact route. */
  handlePrefix(prefix: string, route: RawRoute): void {
    this.prefixRoutes.push({ prefix, route });
  }

  /** Listens with plain HTTP, or with HTTPS when `tls` (certificate and key) is given. */
  async listen(host: string, port: number, tls?: https.ServerOptions): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.serve(req, res);
    const srv = tls === undefined ? http.createServer(handler) : https.createServer(tls, handler);
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, host === '' ? '0.0.0.0' : host, () => {
        srv.removeListener('error', reject);
        resolve();
      });
    });
    if (srv instanceof https.Server) {
      // A browser or probe that fails the handshake must not take anything down.
      srv.on('tlsClientError', (err) => this.log.debug(`monitor: TLS handshake error: ${err.message}`));
      this.secureServer = srv;
    } else this.server = srv;
    const p = (srv.address() as AddressInfo | null)?.port ?? 0;
    this.log.notice(`Starting ${tls === undefined ? 'http' : 'https'} monitor on ${host === '' ? '0.0.0.0' : host}:${p}`);
  }

  /** The HTTP port (0 when only HTTPS listens). */
  get port(): number {
    return (this.server?.address() as AddressInfo | null)?.port ?? 0;
  }

  /** The HTTPS port (0 when HTTPS is off). */
  get httpsPort(): number {
    return (this.secureServer?.address() as AddressInfo | null)?.port ?? 0;
  }

  async close(): Promise<void> {
    const servers = [this.server, this.secureServer];
    this.server = undefined;
    this.secureServer = undefined;
    await Promise.all(
      servers.map(
        (srv) =>
          new Promise<void>((resolve) => {
            if (!srv) return resolve();
            srv.close(() => resolve());
            srv.closeAllConnections();
          }),
      ),
    );
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('bad request\n');
      return;
    }
    const route = this.routes.get(url.pathname);
    const raw = route ? undefined : this.prefixRoutes.find((r) => url.pathname.startsWith(r.prefix));
    if (raw) {
      // Counted under the prefix it was registered with, as nats-server counts a handler under
      // its registered path: one key for the whole admin API, not one per channel or client.
      this.countRequest(raw.prefix);
      try {
        raw.route(req, res, url);
      } catch (err) {
        this.fail(res, url.pathname, err);
      }
      return;
    }
    if (!route) {
      // Go's http.ServeMux text for an unknown path.
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
      return;
    }
    this.countRequest(url.pathname);
    let out: RouteResult | Promise<RouteResult>;
    try {
      out = route(url.searchParams);
    } catch (err) {
      this.fail(res, url.pathname, err);
      return;
    }
    if (out instanceof Promise) {
      out.then(
        (r) => this.write(res, url, r),
        (err: unknown) => this.fail(res, url.pathname, err),
      );
      return;
    }
    this.write(res, url, out);
  }

  private countRequest(key: string): void {
    this.reqStats[key] = (this.reqStats[key] ?? 0) + 1;
  }

  private fail(res: http.ServerResponse, path: string, err: unknown): void {
    this.log.error(`monitor: ${path}: ${errorText(err)}`);
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('internal error\n');
  }

  private write(res: http.ServerResponse, url: URL, out: RouteResult): void {
    if ('body' in out) {
      res.writeHead(out.status, { ...out.headers, 'Content-Type': out.contentType }).end(out.body);
      return;
    }
    if ('empty' in out) {
      res.writeHead(out.status).end();
      return;
    }
    if ('html' in out) {
      res.writeHead(out.status, { 'Content-Type': 'text/html; charset=utf-8' }).end(out.html);
      return;
    }
    if ('text' in out) {
      // Go's http.Error: text/plain, the message and a newline.
      res.writeHead(out.status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${out.text}\n`);
      return;
    }
    const body = marshalIndent(out.json);
    const callback = url.searchParams.get('callback');
    if (callback) {
      res.writeHead(out.status ?? 200, { 'Content-Type': 'application/javascript' }).end(`${callback}(${body})`);
    } else {
      res.writeHead(out.status ?? 200, { 'Content-Type': 'application/json' }).end(body);
    }
  }
}

/** Go's `time.Time` JSON form (RFC 3339 with up to 9 fractional digits, trailing zeros cut), UTC. */
export function rfc3339Nano(d: Date, extraNs = 0): string {
  const iso = d.toISOString(); // 2024-01-01T00:00:00.123Z
  const ms = iso.slice(20, 23);
  let frac = (ms + String(Math.max(0, Math.min(999_999, Math.floor(extraNs)))).padStart(6, '0')).replace(/0+$/, '');
  if (frac !== '') frac = `.${frac}`;
  return `${iso.slice(0, 19)}${frac}Z`;
}

/** "Now" with sub-millisecond digits from the monotonic clock. */
export function nowString(): string {
  const t = performance.timeOrigin + performance.now();
  const ms = Math.floor(t);
  return rfc3339Nano(new Date(ms), (t - ms) * 1e6);
}

/** nats-server's `myUptime`: `1y2d3h4m5s`, leading zero units left out, seconds always. */
export function uptime(ms: number): string {
  const tsecs = Math.floor(Math.max(0, ms) / 1000);
  const tmins = Math.floor(tsecs / 60);
  const thrs = Math.floor(tmins / 60);
  const tdays = Math.floor(thrs / 24);
  const tyrs = Math.floor(tdays / 365);
  if (tyrs > 0) return `${tyrs}y${tdays % 365}d${thrs % 24}h${tmins % 60}m${tsecs % 60}s`;
  if (tdays > 0) return `${tdays}d${thrs % 24}h${tmins % 60}m${tsecs % 60}s`;
  if (thrs > 0) return `${thrs}h${tmins % 60}m${tsecs % 60}s`;
  if (tmins > 0) return `${tmins}m${tsecs % 60}s`;
  return `${tsecs}s`;
}

/** Go's `strconv.Atoi` with the error ignored, as the reference reads `offset`/`limit`. */
export function atoi(v: string | null): number {
  if (v === null || !/^[+-]?\d+$/.test(v)) return 0;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : 0;
}

export const DEFAULT_LIST_LIMIT = 1024;

/** The reference's getOffsetAndLimit: bad or negative offset → 0, limit ≤ 0 → 1024. */
export function offsetAndLimit(q: URLSearchParams): { offset: number; limit: number } {
  let offset = atoi(q.get('offset'));
  if (offset < 0) offset = 0;
  let limit = atoi(q.get('limit'));
  if (limit <= 0) limit = DEFAULT_LIST_LIMIT;
  return { offset, limit };
}

/** Slices `[offset, offset+limit)` clamped to the list. */
export function page<T>(all: T[], offset: number, limit: number): T[] {
  const lo = Math.min(offset, all.length);
  const hi = Math.min(offset + limit, all.length);
  return all.slice(lo, hi);
}
