/**
 * The launcher's V8 code cache (src/launch/code-cache.ts) and its choice between the bundle
 * and the compiled modules (src/launch/launcher.ts), on real files in a temp directory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadWithCodeCache } from '../../src/launch/code-cache';
import { cacheVariant, codeCacheDir, flagsVariant, isBundleCurrent, loadServer, CODE_CACHE_ENV } from '../../src/launch/launcher';
import { SAVE_CACHE_AFTER_MS } from '../../src/launch/cache-timing';
import { runHints, setRunHints } from '../../src/launch/run-hints';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-code-cache-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A CommonJS file that requires a sibling and reports its own module variables. */
function writeModule(dir: string, answer: number): string {
  fs.writeFileSync(path.join(dir, 'helper.js'), 'exports.twice = (n) => 2 * n;\n');
  const file = path.join(dir, 'mod.js');
  fs.writeFileSync(
    file,
    `'use strict';\nconst { twice } = require('./helper');\nmodule.exports = { answer: () => twice(${answer}), file: __filename, dir: __dirname, self: typeof module.exports };\n`,
  );
  return file;
}

/**
 * How a fresh process uses the cache for `file`: inside one process V8 reuses what it compiled
 * before (its in-memory compilation cache) and never looks at the data on disk.
 */
function useInFreshProcess(file: string, cacheDir: string): string {
  const code = `const { loadWithCodeCache } = require(${JSON.stringify(require.resolve('../../src/launch/code-cache'))});
    const m = loadWithCodeCache(${JSON.stringify(file)}, { dir: ${JSON.stringify(cacheDir)} });
    process.stdout.write(m.use + ' ' + m.exports.answer());`;
  return execFileSync(process.execPath, ['--import', 'tsx', '-e', code], { encoding: 'utf8' });
}

/** A module whose big() is compiled only when called: a cache written before holds only its outline. */
function writeBigModule(dir: string): string {
  const file = path.join(dir, 'big.js');
  const body = Array.from({ length: 400 }, (_, i) => `  s += (n * ${i}) % 7 === 3 ? ${i} : -${i};`).join('\n');
  fs.writeFileSync(file, `exports.big = function (n) {\n  let s = 0;\n${body}\n  return s;\n};\n`);
  return file;
}

interface ModExports {
  answer(): number;
  file: string;
  dir: string;
}

test('first load misses and writes the cache; the next load uses it and runs the same code', (t) => {
  const dir = tempDir(t);
  const file = writeModule(dir, 21);
  const cacheDir = path.join(dir, 'cache');
  const first = loadWithCodeCache(file, { dir: cacheDir });
  assert.equal(first.use, 'miss');
  assert.equal((first.exports as ModExports).answer(), 42);
  assert.equal((first.exports as ModExports).file, file);
  assert.equal((first.exports as ModExports).dir, dir);
  assert.equal(first.save(), 'written');
  assert.ok(first.cacheFile !== undefined && fs.existsSync(first.cacheFile));

  assert.equal(useInFreshProcess(file, cacheDir), 'hit 42');
  const second = loadWithCodeCache(file, { dir: cacheDir });
  assert.equal(second.use, 'hit');
  assert.equal((second.exports as ModExports).answer(), 42);
  // Nothing more was compiled: the cache stays as it is.
  assert.equal(second.save(), 'unchanged');
});

test('a changed source invalidates the cache (new size, or same size and new mtime)', (t) => {
  const dir = tempDir(t);
  const file = writeModule(dir, 21);
  const cacheDir = path.join(dir, 'cache');
  assert.equal(loadWithCodeCache(file, { dir: cacheDir }).save(), 'written');

  writeModule(dir, 210); // one character longer
  const changed = loadWithCodeCache(file, { dir: cacheDir });
  assert.equal(changed.use, 'stale');
  assert.equal((changed.exports as ModExports).answer(), 420);
  assert.equal(changed.save(), 'written');
  assert.equal(loadWithCodeCache(file, { dir: cacheDir }).use, 'hit');

  writeModule(dir, 333); // same length, other content
  const later = new Date(fs.statSync(file).mtimeMs + 5000);
  fs.utimesSync(file, later, later);
  const touched = loadWithCodeCache(file, { dir: cacheDir });
  assert.equal(touched.use, 'stale');
  assert.equal((touched.exports as ModExports).answer(), 666);
});

test('a cache made by another Node version is not used', (t) => {
  const dir = tempDir(t);
  const file = writeModule(dir, 1);
  const cacheDir = path.join(dir, 'cache');
  assert.equal(loadWithCodeCache(file, { dir: cacheDir, runtime: 'v99.0.0-x64' }).save(), 'written');
  assert.equal(loadWithCodeCache(file, { dir: cacheDir, runtime: 'v98.0.0-x64' }).use, 'stale');
  assert.equal(loadWithCodeCache(file, { dir: cacheDir, runtime: 'v99.0.0-x64' }).use, 'hit');
});

test('data V8 does not accept is rejected and the module still runs', (t) => {
  const dir = tempDir(t);
  const file = writeModule(dir, 4);
  const cacheDir = path.join(dir, 'cache');
  const first = loadWithCodeCache(file, { dir: cacheDir });
  first.save();
  const cacheFile = first.cacheFile ?? assert.fail('no cache file');
  const buf = fs.readFileSync(cacheFile);
  const headerEnd = buf.indexOf(0x0a) + 1;
  fs.writeFileSync(cacheFile, Buffer.concat([buf.subarray(0, headerEnd), Buffer.alloc(buf.length - headerEnd, 0x5a)]));
  assert.equal(useInFreshProcess(file, cacheDir), 'rejected 8');
});

test('a cache directory that cannot be written is ignored: the module runs, save() reports failed', (t) => {
  const dir = tempDir(t);
  const file = writeModule(dir, 5);
  // A directory below a regular file cannot be created, whoever runs the test (root too).
  const blocker = path.join(dir, 'not-a-dir');
  fs.writeFileSync(blocker, '');
  const loaded = loadWithCodeCache(file, { dir: path.join(blocker, 'cache') });
  assert.equal(loaded.use, 'miss');
  assert.equal((loaded.exports as ModExports).answer(), 10);
  assert.equal(loaded.save(), 'failed');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['helper.js', 'mod.js', 'not-a-dir']);
});

test('the cache can be turned off', (t) => {
  const dir = tempDir(t);
  const file = writeModule(dir, 3);
  const loaded = loadWithCodeCache(file, { dir: undefined });
  assert.equal(loaded.use, 'off');
  assert.equal(loaded.save(), 'off');
  assert.equal(codeCacheDir({ [CODE_CACHE_ENV]: 'off' }, dir), undefined);
  assert.equal(codeCacheDir({ [CODE_CACHE_ENV]: '/var/cache/stan' }, dir), '/var/cache/stan');
  assert.equal(codeCacheDir({}, dir), path.join(dir, 'bundle', '.v8-cache'));
});

/** A dist/ with a bundle and compiled modules that say which of them ran. */
function writeDist(dir: string): { bundle: string; modulesMain: string } {
  const bundle = path.join(dir, 'bundle', 'main.js');
  const modulesMain = path.join(dir, 'src', 'cli', 'main.js');
  fs.mkdirSync(path.dirname(bundle), { recursive: true });
  fs.mkdirSync(path.dirname(modulesMain), { recursive: true });
  fs.writeFileSync(modulesMain, 'exports.main = async () => "modules";\n');
  fs.writeFileSync(bundle, 'exports.main = async () => "bundle";\n');
  return { bundle, modulesMain };
}

function setMtime(file: string, ms: number): void {
  fs.utimesSync(file, new Date(ms), new Date(ms));
}

test('the launcher runs the bundle through the cache when it is current, and writes the cache once the server serves', async (t) => {
  const dir = tempDir(t);
  t.after(() => setRunHints(undefined));
  const { bundle, modulesMain } = writeDist(dir);
  setMtime(modulesMain, Date.now() - 10_000);
  assert.equal(isBundleCurrent(bundle, modulesMain), true);
  const scheduled: Array<{ fn: () => void; ms: number }> = [];
  const atExit: Array<() => void> = [];
  const launched = loadServer({ distDir: dir, env: {}, argv: [], execArgv: [], schedule: (fn, ms) => scheduled.push({ fn, ms }), onExit: (fn) => atExit.push(fn) });
  assert.equal(launched.file, bundle);
  assert.equal(await (launched.main() as Promise<unknown>), 'bundle');
  assert.equal(launched.cache?.use, 'miss');
  // Nothing is timed before the server says it serves.
  assert.equal(scheduled.length, 0);
  runHints()?.serving();
  assert.equal(scheduled.length, 1);
  assert.equal(scheduled[0]?.ms, SAVE_CACHE_AFTER_MS);
  assert.equal(atExit.length, 1);
  const cacheFile = path.join(dir, 'bundle', '.v8-cache', 'main.js.v8cache');
  scheduled[0]?.fn();
  assert.ok(fs.existsSync(cacheFile));
  assert.match(fs.readFileSync(cacheFile, 'latin1').split('\n')[0] ?? '', / complete$/);
  // The exit hook finds the cache written: it does not write it again.
  fs.rmSync(cacheFile);
  atExit[0]?.();
  assert.equal(fs.existsSync(cacheFile), false);

  // A stop writes the cache at once, before the shutdown's code runs.
  atExit.length = 0;
  loadServer({ distDir: dir, env: {}, argv: [], execArgv: [], schedule: () => undefined, onExit: (fn) => atExit.push(fn) });
  runHints()?.serving();
  runHints()?.stopping();
  assert.ok(fs.existsSync(cacheFile));
  fs.rmSync(cacheFile);

  // A process that exits without having served writes it at exit, marked partial.
  atExit.length = 0;
  const again = loadServer({ distDir: dir, env: {}, argv: [], execArgv: [], schedule: () => undefined, onExit: (fn) => atExit.push(fn) });
  assert.equal(again.cache?.use, 'miss');
  atExit[0]?.();
  assert.match(fs.readFileSync(cacheFile, 'latin1').split('\n')[0] ?? '', / partial$/);
});

test('a run that migrated the schema writes no cache', (t) => {
  const dir = tempDir(t);
  t.after(() => setRunHints(undefined));
  const { modulesMain } = writeDist(dir);
  setMtime(modulesMain, Date.now() - 10_000);
  const scheduled: Array<() => void> = [];
  const atExit: Array<() => void> = [];
  loadServer({ distDir: dir, env: {}, argv: ['-st', 'FILE'], execArgv: [], schedule: (fn) => scheduled.push(fn), onExit: (fn) => atExit.push(fn) });
  runHints()?.oneOff('migration');
  runHints()?.serving();
  for (const fn of scheduled) fn();
  runHints()?.stopping();
  for (const fn of atExit) fn();
  assert.equal(fs.existsSync(path.join(dir, 'bundle', '.v8-cache')), false);
});

test('a complete cache is kept as it is; a partial one is completed by a run that served', (t) => {
  const dir = tempDir(t);
  const file = writeBigModule(dir);
  const cacheDir = path.join(dir, 'cache');
  const cacheFile = path.join(cacheDir, 'big.js.v8cache');
  assert.equal(loadWithCodeCache(file, { dir: cacheDir }).save('partial'), 'written');
  // Served: the partial cache becomes complete even without growth.
  const served = loadWithCodeCache(file, { dir: cacheDir });
  assert.equal(served.use, 'hit');
  assert.equal(served.save('complete'), 'written');
  assert.match(fs.readFileSync(cacheFile, 'latin1').split('\n')[0] ?? '', / complete$/);
  const before = fs.readFileSync(cacheFile);
  // A run that loaded a complete cache does not rewrite it, however much more it compiled.
  const grown = loadWithCodeCache(file, { dir: cacheDir });
  assert.equal(grown.use, 'hit');
  (grown.exports as { big(n: number): number }).big(3);
  assert.equal(grown.save('complete'), 'unchanged');
  assert.deepEqual(fs.readFileSync(cacheFile), before);
});

test('a bundle older than the compiled modules (a later tsc-only build) or missing is not run', async (t) => {
  const dir = tempDir(t);
  const { bundle, modulesMain } = writeDist(dir);
  setMtime(bundle, Date.now() - 10_000);
  assert.equal(isBundleCurrent(bundle, modulesMain), false);
  const noCache = (): never => assert.fail('no cache for the modules');
  const stale = loadServer({ distDir: dir, env: {}, schedule: noCache, onExit: noCache });
  assert.equal(stale.file, modulesMain);
  assert.equal(await (stale.main() as Promise<unknown>), 'modules');
  fs.rmSync(bundle);
  assert.equal(isBundleCurrent(bundle, modulesMain), false);
});

test('a run that compiled much more than the cache held writes it again', (t) => {
  const dir = tempDir(t);
  const file = writeBigModule(dir);
  const cacheDir = path.join(dir, 'cache');
  assert.equal(loadWithCodeCache(file, { dir: cacheDir }).save(), 'written');
  const before = fs.statSync(path.join(cacheDir, 'big.js.v8cache')).size;

  const same = loadWithCodeCache(file, { dir: cacheDir });
  assert.equal(same.use, 'hit');
  assert.equal(same.save(), 'unchanged');
  const grown = loadWithCodeCache(file, { dir: cacheDir });
  (grown.exports as { big(n: number): number }).big(3);
  assert.equal(grown.save(), 'written');
  assert.ok(fs.statSync(path.join(cacheDir, 'big.js.v8cache')).size > before);
});

test('a file with non-ASCII text is read as UTF-8, an ASCII one keeps its escapes', (t) => {
  const dir = tempDir(t);
  const utf8 = path.join(dir, 'utf8.js');
  fs.writeFileSync(utf8, "exports.text = 'é€→µ';\n");
  assert.equal((loadWithCodeCache(utf8, { dir: undefined }).exports as { text: string }).text, 'é€→µ');
  const ascii = path.join(dir, 'ascii.js');
  fs.writeFileSync(ascii, "exports.text = '\\u00e9\\u20ac'; exports.re = /^\\u00b5s$/;\n");
  const m = loadWithCodeCache(ascii, { dir: undefined }).exports as { text: string; re: RegExp };
  assert.equal(m.text, 'é€');
  assert.ok(m.re.test('µs'));
});

test('runs with other Node flags keep their own cache file', (t) => {
  const dir = tempDir(t);
  const file = writeModule(dir, 2);
  const cacheDir = path.join(dir, 'cache');
  assert.equal(flagsVariant([], {}), '');
  const inspect = flagsVariant(['--inspect'], {});
  const heap = flagsVariant([], { NODE_OPTIONS: '--max-old-space-size=96' });
  assert.match(inspect, /^[0-9a-f]{8}$/);
  assert.notEqual(inspect, heap);
  assert.equal(flagsVariant(['--inspect'], {}), inspect);
  assert.equal(loadWithCodeCache(file, { dir: cacheDir }).save(), 'written');
  assert.equal(loadWithCodeCache(file, { dir: cacheDir, variant: inspect }).use, 'miss');
  assert.deepEqual(fs.readdirSync(cacheDir), ['mod.js.v8cache']);
  loadWithCodeCache(file, { dir: cacheDir, variant: inspect }).save();
  assert.deepEqual(fs.readdirSync(cacheDir).sort(), [`mod.js.${inspect}.v8cache`, 'mod.js.v8cache']);
});

test('each kind of run keeps its own cache file, named by known words only', () => {
  assert.equal(cacheVariant([], [], {}), '');
  assert.equal(cacheVariant(['-p', '4222', '-st', 'MEMORY'], [], {}), '');
  assert.equal(cacheVariant(['-st', 'FILE', '-dir', '/data'], [], {}), 'file');
  assert.equal(cacheVariant(['--store=sql', '--sql_driver', 'postgres', '--sql_source', 'x'], [], {}), 'sql-postgres');
  assert.equal(cacheVariant(['-store', 'SQL', '-sql_driver=mysql'], [], {}), 'sql-mysql');
  assert.equal(cacheVariant(['-st', 'SQL', '--sql_driver', '../../etc/x'], [], {}), 'sql');
  assert.equal(cacheVariant(['-st', '../x'], [], {}), '');
  assert.equal(cacheVariant(['-sc', '/etc/stan.conf'], [], {}), 'config');
  assert.equal(cacheVariant(['import', '--from_dir', 'd', '-st', 'FILE'], [], {}), 'import');
  assert.equal(cacheVariant(['-st', 'SQL', 'migrate'], [], {}), 'migrate');
  // An FT member compiles the lease code before it serves: never the plain store's cache.
  assert.equal(cacheVariant(['-st', 'FILE', '-dir', '/data', '--ft_group', 'g'], [], {}), 'file-ft');
  assert.equal(cacheVariant(['--ft_group=g'], [], {}), 'memory-ft');
  assert.equal(cacheVariant(['-st', 'SQL', '--sql_driver', 'postgres', '-ft_group', 'g'], [], {}), 'sql-postgres-ft');
  assert.equal(cacheVariant(['-sc', '/etc/stan.conf', '--ft_group', 'g'], [], {}), 'config-ft');
  assert.equal(cacheVariant(['-st', 'FILE', '--', '--ft_group', 'g'], [], {}), 'file');
  // The Node flags are told apart too.
  assert.match(cacheVariant(['-st', 'FILE'], ['--inspect'], {}), /^file\.[0-9a-f]{8}$/);
});

test('the launcher writes the cache of a FILE run beside, not over, the MEMORY one', (t) => {
  const dir = tempDir(t);
  const { modulesMain } = writeDist(dir);
  setMtime(modulesMain, Date.now() - 10_000);
  const atExit: Array<() => void> = [];
  const launch = (argv: string[]): void => {
    loadServer({ distDir: dir, env: {}, argv, execArgv: [], schedule: () => undefined, onExit: (fn) => atExit.push(fn) });
  };
  launch([]);
  launch(['-st', 'FILE', '-dir', dir]);
  for (const fn of atExit) fn();
  assert.deepEqual(fs.readdirSync(path.join(dir, 'bundle', '.v8-cache')).sort(), ['main.js.file.v8cache', 'main.js.v8cache']);
});
