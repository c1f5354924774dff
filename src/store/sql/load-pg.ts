/**
 * Loads node-postgres (pg) without the probe that cost a PostgreSQL start-up ~50 ms on Node 20.
 *
 * Why: when pg's lib/stream.js is loaded it asks whether it runs in a Cloudflare Worker. It
 * reads `navigator.userAgent`, and where there is no global `navigator` (Node 20; Node 21+ has
 * one) it touches the global `Response`, which makes Node load its whole fetch implementation
 * (undici): 49–59 ms of the module initialisation of a PostgreSQL start-up, the largest single
 * item, measured on this machine (docs/startup.md). While pg loads, a `navigator` with Node's
 * own user agent (what Node 21+ has) answers the probe; it is removed again at once, so the
 * process sees no global it would not have had. Its SCRAM login then runs on node:crypto
 * (pg-scram.ts).
 */
import type * as Pg from 'pg';
import { useNodeCryptoForScram, type PgScramUtils } from './pg-scram';

export function loadPg(): typeof Pg {
  const pg = requirePg();
  // Its SCRAM login on node:crypto (pg-scram.ts); a pg without that module keeps its own.
  try {
    useNodeCryptoForScram(require('pg/lib/crypto/utils.js') as PgScramUtils);
  } catch {
    // another pg layout: nothing to replace
  }
  return pg;
}

function requirePg(): typeof Pg {
  const g = globalThis as { navigator?: unknown };
  if (typeof g.navigator === 'object' && g.navigator !== null) return require('pg') as typeof Pg;
  Object.defineProperty(g, 'navigator', { value: { userAgent: `Node.js/${process.versions.node.split('.')[0]}` }, configurable: true, writable: true });
  try {
    return require('pg') as typeof Pg;
  } finally {
    delete g.navigator;
  }
}
