/**
 * The last step of `npm run build`: bundles the compiled server (dist/src/cli/main.js and
 * everything it requires, dependencies included) into dist/bundle/main.js, which the
 * launcher runs through its V8 code cache (src/launch/launcher.ts, docs/startup.md). The
 * sealing worker thread is bundled too (dist/bundle/seal-worker.js), and so is the FILE
 * store's write thread (dist/bundle/sqlite-write-worker.js): the bundle starts them from its
 * own directory, as the compiled modules do.
 *
 * The input is tsc's output, not the .ts sources: the bundle behaves exactly like dist/src.
 *
 *   node --import tsx scripts/bundle.ts
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';

const ROOT = path.join(__dirname, '..');
const DIST = path.join(ROOT, 'dist');

/**
 * Left to Node's require at run time:
 * - better-sqlite3's native addon (its JavaScript is bundled): src/store/sql/sqlite-driver.ts
 *   loads it from the installed package and hands it to every connection;
 * - the drivers Knex knows but this server never uses (required by name inside Knex's
 *   dialects, not installed) and pg's optional ones: bundling would fail on them;
 * - what a start-up loads only when configured, always through a lazy require: umzug (a
 *   pending migration; it brings ~800 KB of @rushstack, z-schema, fs-extra), prom-client
 *   (-m), bcryptjs (a bcrypt password), nats (-ns), pino (--log_json; the text log writes
 *   through sonic-boom, src/logging/destination.ts). Inside the bundle they would only make
 *   every start-up read more (the bundle went from 4.9 to 3.0 MB).
 * pg (180 KB) and mysql2 (1.4 MB) are bundled although only their store uses them: their
 * compiled code then comes from the code cache too, which matters more for those stores than
 * reading 1.6 MB more costs the others (~1–2 ms).
 */
const EXTERNAL = [
  // Read at run time to find the addon next to it (sqlite-driver.ts).
  'better-sqlite3/package.json',
  ...['sqlite3', 'tedious', 'oracledb', 'mysql', 'pg-native', 'pg-query-stream', 'mariadb', 'pg-cloudflare', 'cloudflare:sockets'],
  ...['umzug', 'prom-client', 'bcryptjs', 'nats', 'pino'],
];

async function main(): Promise<void> {
  const result = await build({
    entryPoints: {
      main: path.join(DIST, 'src', 'cli', 'main.js'),
      'seal-worker': path.join(DIST, 'src', 'store', 'seal-worker.js'),
      'sqlite-write-worker': path.join(DIST, 'src', 'store', 'sql', 'sqlite-write-worker.js'),
    },
    outdir: path.join(DIST, 'bundle'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: EXTERNAL,
    // Whitespace and syntax only (identifiers keep their names: stack traces and class names
    // stay readable): 4.6 → 3.1 MB that every start-up reads, decodes and, for functions not
    // in the code cache, parses (docs/startup.md). The source map maps positions back. Lines
    // stay short: Node prints the source line of an uncaught error, which must not be a
    // megabyte of code.
    minifyWhitespace: true,
    minifySyntax: true,
    lineLimit: 160,
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  if (result.errors.length > 0) process.exit(1);
  for (const name of ['main.js', 'seal-worker.js', 'sqlite-write-worker.js']) asciiOnly(path.join(DIST, 'bundle', name));
}

/**
 * Makes the file plain ASCII, so the launcher can read it as a one-byte string (~2 ms instead
 * of 45–60 ms for 4.6 MB, src/launch/code-cache.ts). esbuild already escapes strings and
 * identifiers (its `charset: 'ascii'` default) but keeps comments and regular expression
 * literals as written; a \uXXXX escape (UTF-16 units) means the same character in a regular
 * expression and is just text in a comment.
 */
function asciiOnly(file: string): void {
  const text = fs.readFileSync(file, 'utf8');
  const escaped = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (escaped !== text) fs.writeFileSync(file, escaped);
}

main().catch((err: unknown) => {
  process.stderr.write(`bundle: ${String(err)}\n`);
  process.exit(1);
});
