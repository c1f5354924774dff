/**
 * better-sqlite3 as the FILE store loads it: its JavaScript is in the server's bundle (so it
 * comes from the V8 code cache, scripts/bundle.ts), its native addon is found here, from the
 * installed package, and handed to every connection as `nativeBinding`.
 *
 * Why: loaded from node_modules, its ~15 files were resolved (stat and realpath of each path)
 * and compiled at every FILE start-up, and its `bindings` helper located the addon from a
 * stack trace and by trying paths one after the other: ~10-30 ms of CPU before the first
 * answered connect (CPU profiles, docs/startup.md). Inside the bundle that helper would look
 * next to the bundle, not in the package, and find nothing: every connection the bundle opens
 * gets the addon from here (sqliteOptions).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The loaded addon (better-sqlite3's `nativeBinding` option takes the object). */
type Addon = object;

let addon: Addon | undefined;

/**
 * better-sqlite3's native addon, from the installed package: its usual place
 * (build/Release), else wherever `bindings` finds it, searching from the package's root.
 */
export function sqliteAddon(): Addon {
  if (addon !== undefined) return addon;
  const root = path.dirname(require.resolve('better-sqlite3/package.json'));
  const usual = path.join(root, 'build', 'Release', 'better_sqlite3.node');
  if (fs.existsSync(usual)) {
    // What require() does for a .node file, without resolving the path once more.
    const m = { exports: {} as Addon };
    process.dlopen(m, usual);
    addon = m.exports;
  } else {
    const bindings = require('bindings') as (o: { bindings: string; module_root: string }) => Addon;
    addon = bindings({ bindings: 'better_sqlite3.node', module_root: root });
  }
  return addon;
}

/**
 * Options of every better-sqlite3 connection the server opens. better-sqlite3 takes the
 * loaded addon as `nativeBinding` as well as a path (its type declarations name the path only).
 */
export function sqliteOptions(): { nativeBinding: string } {
  return { nativeBinding: sqliteAddon() as unknown as string };
}
