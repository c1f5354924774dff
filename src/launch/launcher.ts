/**
 * What bin/nats-streaming-server.js runs: the bundled server (dist/bundle/main.js, made by
 * `npm run build`, see scripts/bundle.ts) through the V8 code cache (./code-cache), or the
 * compiled modules (dist/src/cli/main.js) when there is no current bundle.
 *
 * Why a bundle: a start-up loaded ~180 modules (MEMORY) to ~600 (SQL stores: Knex, Kysely,
 * lodash), and resolving each (stat, realpath, package.json lookups) plus compiling each
 * cost ~25 ms on MEMORY alone; one file needs one lookup and one cache entry.
 *
 * "Current" means written after the compiled modules: a developer who runs only `tsc` after
 * `npm run build` gets the new modules, never a stale bundle.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadWithCodeCache, type CachedModule } from './code-cache';
import { runShape } from './run-shape';
import { CacheSaveTiming } from './cache-timing';
import { setRunHints } from './run-hints';

/** Environment variable: directory of the code cache, or `off`. */
export const CODE_CACHE_ENV = 'STAN_CODE_CACHE';
/*
 * When the cache is written (once the server serves, before its shutdown code runs; never by
 * a run that migrated the schema) is ./cache-timing's job, told by the server through
 * ./run-hints. Each kind of run (MEMORY, FILE, PostgreSQL, MariaDB, a configuration file,
 * import, migrate: ./run-shape) has a cache file of its own, so a MEMORY start-up does not
 * deserialize the SQL drivers' code.
 */

export interface LaunchOptions {
  /** The dist/ directory of the package. */
  distDir: string;
  env: NodeJS.ProcessEnv;
  /** Timer for writing the cache after the server serves (injectable); must not keep the process alive. */
  schedule?: (fn: () => void, ms: number) => void;
  /** Node's flags of this process (default process.execArgv); NODE_OPTIONS is read from env. */
  execArgv?: readonly string[];
  /** The server's arguments (default process.argv.slice(2)): each kind of run has its own cache (./run-shape). */
  argv?: readonly string[];
  /** Runs `fn` when the process exits (injectable; default process.once('exit')). */
  onExit?: (fn: () => void) => void;
}

export interface Launched {
  /** The file that was run. */
  file: string;
  /** The code cache (undefined when the compiled modules were run). */
  cache: CachedModule | undefined;
  main: (argv?: string[]) => Promise<void>;
}

/** The code cache directory: $STAN_CODE_CACHE, `off` to disable, default dist/bundle/.v8-cache. */
export function codeCacheDir(env: NodeJS.ProcessEnv, distDir: string): string | undefined {
  const v = env[CODE_CACHE_ENV];
  if (v === 'off' || v === '0') return undefined;
  return v !== undefined && v !== '' ? path.resolve(v) : path.join(distDir, 'bundle', '.v8-cache');
}

/** True when `bundle` exists and was written no earlier than `modulesMain`. */
export function isBundleCurrent(bundle: string, modulesMain: string): boolean {
  try {
    return fs.statSync(bundle).mtimeMs >= fs.statSync(modulesMain).mtimeMs;
  } catch {
    return false;
  }
}

/**
 * A short name for the Node flags this process runs with ('' for none): V8's cached data
 * is valid only under the flags it was made with (`--inspect`, `--enable-source-maps`,
 * NODE_OPTIONS of a benchmark…), so each set of flags gets its own cache file.
 */
export function flagsVariant(execArgv: readonly string[], env: NodeJS.ProcessEnv): string {
  const flags = `${execArgv.join(' ')}|${env.NODE_OPTIONS ?? ''}`;
  if (flags === '|') return '';
  // FNV-1a, 32 bits: a file name, not a security boundary (the header and V8 check the data).
  let h = 0x811c9dc5;
  for (let i = 0; i < flags.length; i++) h = Math.imul(h ^ flags.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/**
 * The cache file's variant: the kind of run (MEMORY, FILE, PostgreSQL… ./run-shape) and the
 * Node flags, e.g. `sql-postgres`, `file.1a2b3c4d`; '' for a MEMORY run without flags.
 */
export function cacheVariant(argv: readonly string[], execArgv: readonly string[], env: NodeJS.ProcessEnv): string {
  return [runShape(argv), flagsVariant(execArgv, env)].filter((s) => s !== '').join('.');
}

function unrefTimer(fn: () => void, ms: number): void {
  setTimeout(fn, ms).unref();
}

/** Loads the server's CLI (bundle or modules); the caller runs `main()`. */
export function loadServer(o: LaunchOptions): Launched {
  const bundle = path.join(o.distDir, 'bundle', 'main.js');
  const modulesMain = path.join(o.distDir, 'src', 'cli', 'main.js');
  if (!isBundleCurrent(bundle, modulesMain)) {
    const m = require(modulesMain) as { main: Launched['main'] };
    return { file: modulesMain, cache: undefined, main: m.main };
  }
  const variant = cacheVariant(o.argv ?? process.argv.slice(2), o.execArgv ?? process.execArgv, o.env);
  const cache = loadWithCodeCache(bundle, { dir: codeCacheDir(o.env, o.distDir), variant });
  // save() writes at most once: whichever comes first (serving + 3 s, a stop, the exit).
  const timing = new CacheSaveTiming(cache, o.schedule ?? unrefTimer);
  setRunHints(timing);
  (o.onExit ?? ((fn) => process.once('exit', fn)))(() => timing.exit());
  return { file: bundle, cache, main: (cache.exports as { main: Launched['main'] }).main };
}
