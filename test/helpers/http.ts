/** Tiny HTTP(S) GET helpers for the monitoring tests. */
import * as http from 'node:http';
import * as https from 'node:https';

export interface HttpResult {
  status: number;
  contentType: string;
  body: string;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** fetch's error with its cause (the socket error): "fetch failed" alone says nothing. */
export function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${(err.cause as Error & { code?: string }).code ?? ''} ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

/**
 * GET on a connection of its own (no keep-alive pool). fetch's pool reused a connection that a
 * server stopped right before had closed, when the test restarts a server on the same port:
 * "other side closed" (stan-admin-write e2e, once in CI and 1 run in 6 under load). A real
 * scraper loses one scrape that way; a test must not depend on when the pool notices.
 */
export function httpGet(port: number, path: string, headers: Record<string, string> = {}): Promise<HttpResult & { header: (name: string) => string | null }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({
          header: (name) => {
            const v = res.headers[name.toLowerCase()];
            return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
          },
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'] ?? '',
          body,
          json: () => JSON.parse(body),
        });
      });
    });
    req.on('error', (err) => reject(new Error(`GET http://127.0.0.1:${port}${path}: ${err.message}`, { cause: err })));
  });
}

/** GET over HTTPS, trusting only `ca` (the test CA): proves the server's certificate chain. */
export function httpsGet(
  port: number,
  path: string,
  ca: Buffer,
  host = 'localhost',
  client: { cert?: Buffer; key?: Buffer } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', servername: host, port, path, ca, ...client, headers: { host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          contentType: String(res.headers['content-type'] ?? ''),
          body,
          json: () => JSON.parse(body),
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`GET https://${host}:${port}${path}: no answer within 10 s`)));
  });
}

/** /readyz: its status and, when not ready, the reason it gives. */
export async function readyz(port: number): Promise<{ status: number; error?: string }> {
  const r = await httpGet(port, '/readyz');
  return { status: r.status, error: (JSON.parse(r.body) as { error?: string }).error };
}

/** Polls /readyz until it answers `want`; throws with the last answer after `timeoutMs`. */
export async function readyzUntil(port: number, want: number, timeoutMs = 20000): Promise<{ status: number; error?: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await readyz(port);
    if (r.status === want) return r;
    if (Date.now() > deadline) throw new Error(`/readyz stayed ${r.status} (${r.error ?? ''}), wanted ${want}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}
