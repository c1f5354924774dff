/**
 * The web console at /console: three static files (HTML, one script, one stylesheet) shipped
 * in the package and read once at start-up. No framework and no build step: the page is a
 * few tables, a form and SVG sparklines, which plain DOM code does in a few hundred lines
 * and ~27 KB, with nothing to download or compile when the server runs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_ROOT } from '../../paths';
import type { MonitorHttpServer, RouteResult } from '../http';

export const CONSOLE_ASSETS_DIR = path.join(PACKAGE_ROOT, 'src', 'monitor', 'console', 'assets');

const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

/**
 * The page's own files only: no inline script or style (the page has none, so an injected one
 * cannot run), requests to this origin only, the data: favicon, no framing, no form posts
 * (the token form is handled in the script). Sent with every console file.
 */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const HEADERS = { 'Content-Security-Policy': CONSOLE_CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' };

export function registerConsoleRoutes(http: MonitorHttpServer, dir = CONSOLE_ASSETS_DIR): void {
  const files = new Map<string, RouteResult>();
  for (const [name, contentType] of Object.entries(TYPES)) {
    files.set(name, { status: 200, contentType, headers: HEADERS, body: fs.readFileSync(path.join(dir, name), 'utf8') });
  }
  const get = (name: string): RouteResult => files.get(name) ?? { status: 404, text: '404 page not found' };
  http.handle('/console', () => get('index.html'));
  http.handle('/console/', () => get('index.html'));
  for (const name of Object.keys(TYPES)) if (name !== 'index.html') http.handle(`/console/${name}`, () => get(name));
}
