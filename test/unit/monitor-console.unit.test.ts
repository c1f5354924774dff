/**
 * The console's static files: every route serves its file with the right content type, and
 * the page refers only to its own files (nothing fetched from the network at run time).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registerConsoleRoutes } from '../../src/monitor/console';
import type { MonitorHttpServer, Route, RouteResult } from '../../src/monitor/http';

function routes(): Map<string, Route> {
  const m = new Map<string, Route>();
  registerConsoleRoutes({ handle: (p: string, r: Route) => m.set(p, r) } as unknown as MonitorHttpServer);
  return m;
}

function body(r: RouteResult | Promise<RouteResult>): { contentType: string; body: string; headers?: Readonly<Record<string, string>> } {
  assert.ok(!(r instanceof Promise) && 'body' in r);
  return r;
}

test('each console route serves its file with its content type', () => {
  const m = routes();
  assert.deepEqual([...m.keys()].sort(), ['/console', '/console/', '/console/console.css', '/console/console.js']);
  const q = new URLSearchParams();
  assert.match(body(m.get('/console')!(q)).contentType, /^text\/html/);
  assert.equal(body(m.get('/console/')!(q)).body, body(m.get('/console')!(q)).body);
  assert.match(body(m.get('/console/console.js')!(q)).contentType, /^text\/javascript/);
  assert.match(body(m.get('/console/console.css')!(q)).contentType, /^text\/css/);
});

test('the page loads only its own files', () => {
  const m = routes();
  const q = new URLSearchParams();
  const html = body(m.get('/console')!(q)).body;
  const refs = [...html.matchAll(/(?:src|href)="([^"#]+)"/g)].map((x) => x[1]);
  assert.deepEqual(refs.sort(), ['/console/console.css', '/console/console.js', 'data:,']);
  for (const f of ['/console/console.js', '/console/console.css']) {
    assert.doesNotMatch(body(m.get(f)!(q)).body, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/, `${f} fetches nothing remote`);
  }
});

test('every console file carries the strict Content-Security-Policy', () => {
  const m = routes();
  for (const [p, r] of m) {
    const csp = body(r(new URLSearchParams())).headers?.['Content-Security-Policy'] ?? '';
    assert.match(csp, /default-src 'none'/, p);
    assert.match(csp, /script-src 'self';/, p);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, p);
  }
});
