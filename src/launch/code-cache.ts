/**
 * Runs one CommonJS file (the bundled server, dist/bundle/main.js) through a V8 code cache
 * kept on disk, so that a start-up does not parse and compile the JavaScript again.
 *
 * Why: Node 20 has no module compile cache (module.enableCompileCache is Node 22+), and
 * compiling the server's JavaScript was the largest single cost of a start-up: measured on
 * this 2-core machine, `wrapSafe` (Node's compile step) took 45–87 ms of a MEMORY start-up's
 * 180–330 ms of CPU, and the FILE store loads Knex and Kysely on top (~170 ms loaded). With
 * the bundle and this cache the server's CPU until the first answered connect went from
 * 441 to 240 ms (FILE) and 227 to 207 ms (MEMORY) in the same minutes (docs/startup.md).
 *
 * The cache file holds a header naming what it was made from (this format, the Node version
 * and architecture, the source's size and mtime); any difference and the cache is ignored
 * and written again. V8 checks the data itself too (its version, flags and the source
 * length) and rejects what does not fit: a rejected cache is only a slower start. Every
 * failure to read or write the cache (a read-only install, a full disk) is ignored: the cache
 * is an optimisation, never a reason not to start.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { createRequire } from 'node:module';
import { isAscii } from 'node:buffer';

/** Bump when the header or data layout changes. */
const FORMAT = 'stan-code-cache-2';
/**
 * A run that compiled this much more than the cache it loaded holds (another store's
 * modules, a command that was not run before) writes the cache again: so the cache grows to
 * what the start-ups on this install use, whichever came first.
 */
const REWRITE_GROWTH = 1.1;

/** How a cache was used: `hit` loaded, `miss` none there, `stale` made from another source or runtime, `rejected` by V8, `off` no cache dir. */
export type CacheUse = 'hit' | 'miss' | 'stale' | 'rejected' | 'off';
/** What save() did. */
export type CacheSave = 'written' | 'unchanged' | 'off' | 'failed';
/**
 * What a cache holds, written in its header: `complete`, the code of a start-up that went as
 * far as serving (./cache-timing.ts); `partial`, a run that ended before (a failed start, -v).
 * A complete cache is used as it is: a run that loaded it neither serializes nor rewrites it.
 */
export type CacheKind = 'complete' | 'partial';

export interface CodeCacheOptions {
  /** Directory of the cache file; undefined turns the cache off. */
  dir: string | undefined;
  /** The runtime the V8 data is valid for; default: this Node version and architecture. */
  runtime?: string;
  /**
   * Names the cache file apart (`<file>.<variant>.v8cache`): V8 rejects data made under other
   * flags, so runs with other Node flags keep their own cache instead of overwriting each
   * other's at every start (see launcher.ts).
   */
  variant?: string;
}

export interface CachedModule {
  /** module.exports of the file. */
  readonly exports: unknown;
  readonly use: CacheUse;
  /** The cache file (undefined when off). */
  readonly cacheFile: string | undefined;
  /**
   * Writes the cache, marked `kind`, when none was used, when the one used was partial and
   * this run is complete, or when this run compiled noticeably more than a partial cache held
   * (REWRITE_GROWTH); call it once the start-up is done, so the functions the start-up ran
   * are in it. Finding out costs one serialization (13–40 ms of CPU on this machine, busy),
   * so it runs at most once per process, and not at all after a complete cache was loaded.
   * Never throws.
   */
  save(kind?: CacheKind): CacheSave;
}

interface CommonJsModule {
  exports: unknown;
  id: string;
  filename: string;
  path: string;
  loaded: boolean;
  children: unknown[];
  paths: string[];
}

/** The header line of a cache file for `file` as it is now, up to its kind. */
function headerFor(file: string, runtime: string): string {
  const st = fs.statSync(file);
  return `${FORMAT} ${runtime} ${st.size} ${st.mtimeMs} `;
}

/** The V8 data in `cacheFile` and its kind if its header starts with `header`, else why not. */
function readCache(cacheFile: string, header: string): { data: Buffer; kind: CacheKind } | 'miss' | 'stale' {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(cacheFile);
  } catch {
    return 'miss';
  }
  const headerBytes = Buffer.byteLength(header);
  if (buf.length <= headerBytes || buf.toString('latin1', 0, headerBytes) !== header) return 'stale';
  const end = buf.indexOf(0x0a, headerBytes);
  const kind = end < 0 ? '' : buf.toString('latin1', headerBytes, end);
  if (kind !== 'complete' && kind !== 'partial') return 'stale';
  return { data: buf.subarray(end + 1), kind };
}

/** Writes atomically (temp file + rename): concurrent start-ups never read half a file. */
function writeCache(cacheFile: string, header: string, kind: CacheKind, data: Buffer): void {
  fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, Buffer.concat([Buffer.from(`${header}${kind}\n`, 'latin1'), data]));
    fs.renameSync(tmp, cacheFile);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Loads `file` as a CommonJS module (its own `require`, `module`, `exports`, `__filename`,
 * `__dirname`), compiled with the cached V8 data when there is valid data.
 */
export function loadWithCodeCache(file: string, options: CodeCacheOptions): CachedModule {
  const runtime = options.runtime ?? `${process.version}-${process.arch}`;
  const source = readSource(file);
  const suffix = options.variant ? `.${options.variant}` : '';
  const cacheFile = options.dir === undefined ? undefined : path.join(options.dir, `${path.basename(file)}${suffix}.v8cache`);
  const header = headerFor(file, runtime);
  const cached = cacheFile === undefined ? 'miss' : readCache(cacheFile, header);
  const script = new vm.Script(wrapCommonJs(source), {
    filename: file,
    cachedData: typeof cached === 'string' ? undefined : cached.data,
    // `import()` inside the file resolves as in any CommonJS module.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  let use: CacheUse;
  if (cacheFile === undefined) use = 'off';
  else if (typeof cached === 'string') use = cached;
  else use = script.cachedDataRejected === true ? 'rejected' : 'hit';

  const mod: CommonJsModule = { exports: {}, id: file, filename: file, path: path.dirname(file), loaded: false, children: [], paths: [] };
  const fn = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: CommonJsModule, filename: string, dirname: string) => void;
  fn.call(mod.exports, mod.exports, createRequire(file), mod, file, path.dirname(file));
  mod.loaded = true;

  const loaded = typeof cached === 'string' ? undefined : cached;
  let saved = false;
  return {
    exports: mod.exports,
    use,
    cacheFile,
    save(kind: CacheKind = 'partial'): CacheSave {
      if (cacheFile === undefined) return 'off';
      if (saved) return 'unchanged';
      saved = true;
      const held = use === 'hit' ? loaded : undefined;
      if (held?.kind === 'complete') return 'unchanged';
      try {
        const data = script.createCachedData();
        const completes = kind === 'complete' && held?.kind === 'partial';
        if (held !== undefined && !completes && data.length < held.data.length * REWRITE_GROWTH) return 'unchanged';
        // The header of the source as it was loaded: a file replaced meanwhile gets a stale entry.
        writeCache(cacheFile, header, kind, data);
        return 'written';
      } catch {
        return 'failed';
      }
    },
  };
}

/**
 * The file's text. An ASCII file (the bundle is made ASCII, scripts/bundle.ts) is decoded as
 * Latin-1: V8 then holds it as a one-byte string, and decoding 4.6 MB took ~2 ms instead of
 * 45–60 ms for UTF-8 with a few non-Latin-1 characters, which made all of it a two-byte
 * string (measured on this machine, busy, same minutes).
 */
function readSource(file: string): string {
  const buf = fs.readFileSync(file);
  return isAscii(buf) ? buf.toString('latin1') : buf.toString('utf8');
}

/** The CommonJS wrapper, on one line so that line numbers in stack traces stay right. */
function wrapCommonJs(source: string): string {
  // A leading #! line is valid only at the very start of a script.
  const body = source.startsWith('#!') ? `//${source}` : source;
  return `(function (exports, require, module, __filename, __dirname) { ${body}\n})`;
}
