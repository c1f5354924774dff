/**
 * With the NATS cluster options the NATS role is served by a nats-server child (see
 * src/nats/child-server.ts). Its monitor listens on a random loopback port; ours keeps one
 * address for everything: /streaming/*, /healthz, /readyz and /metrics are ours, the NATS
 * endpoints (/varz, /connz, /subsz, /subscriptionsz, /routez) are answered by the child —
 * the real numbers of the NATS server clients use, routes included. Status, content type
 * and body are passed through unchanged; query parameters are forwarded.
 */
import * as http from 'node:http';
import type { MonitorHttpServer, RouteResult } from './http';

export const PROXIED_NATS_PATHS = ['/varz', '/connz', '/subsz', '/subscriptionsz', '/routez'] as const;
const PROXY_TIMEOUT_MS = 5000;

export function registerNatsProxyRoutes(server: MonitorHttpServer, childMonitorURL: string): void {
  for (const p of PROXIED_NATS_PATHS) {
    server.handle(p, (q) => forward(`${childMonitorURL}${p}${q.size > 0 ? `?${q.toString()}` : ''}`));
  }
}

function forward(url: string): Promise<RouteResult> {
  return new Promise((resolve) => {
    const unavailable = (why: string): void =>
      resolve({ status: 502, text: `NATS monitoring: the nats-server child's monitor did not answer: ${why}` });
    const req = http.get(url, { timeout: PROXY_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => unavailable(e.message));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 502,
          body: Buffer.concat(chunks).toString('utf8'),
          contentType: res.headers['content-type'] ?? 'application/json',
        }),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${PROXY_TIMEOUT_MS} ms`)));
    req.on('error', (e) => unavailable(e.message));
  });
}
