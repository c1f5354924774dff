/**
 * Which kind of run a command line asks for, as far as the code it runs goes: the launcher
 * keeps one V8 code cache per kind (src/launch/launcher.ts).
 *
 * Why: V8 deserializes a code cache whole, before the first line runs, and the cost grows with
 * its size. One cache shared by every kind of run grew to what all of them compiled (2.4 MB
 * on an install that ran MEMORY, FILE, PostgreSQL, MariaDB start-ups and the import command,
 * against 0.85 MB for MEMORY start-ups alone), and a MEMORY start-up paid for deserializing
 * the SQL drivers' code (docs/startup.md has the figures).
 *
 * This is a cheap look at the arguments, not the option parser (which is in the bundle this
 * decides how to load): a guess that is wrong — the store set in a configuration file, an
 * unusual spelling — only means a cache shared with other runs, never another behaviour. Only
 * known words become part of a file name.
 */

const STORES = new Set(['memory', 'file', 'sql']);
const DRIVERS = new Set(['postgres', 'mysql']);

/** The value of a Go-style flag (`-name v`, `--name v`, `-name=v`, `--name=v`), last one wins. */
function flagValue(argv: readonly string[], names: readonly string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') break;
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(a);
    if (m === null || !names.includes(m[1] as string)) continue;
    if (m[2] !== undefined) value = m[2];
    else if (i + 1 < argv.length) value = argv[++i];
  }
  return value;
}

/**
 * A short name for the kind of run (`''` for the default: a MEMORY server configured by
 * flags), made of known words only: `file`, `sql-postgres`, `sql-mysql`, `sql`, `config`
 * (a configuration file may choose the store), `import`, `migrate`; `-ft` added for a member
 * of a fault-tolerance group (`--ft_group`).
 *
 * Why FT runs get caches of their own: a standby compiles the lease code (Knex, the lease
 * queries) before it ever serves; sharing the cache of plain FILE runs made every later plain
 * FILE start deserialize that code too (+15 ms CPU measured in the sixth session).
 */
export function runShape(argv: readonly string[]): string {
  if (argv[0] === 'import' || argv[0] === 'migrate') return argv[0];
  if (argv.includes('migrate')) return 'migrate';
  const store = storeShape(argv);
  const ft = flagValue(argv, ['ft_group']) !== undefined;
  return ft ? `${store === '' ? 'memory' : store}-ft` : store;
}

function storeShape(argv: readonly string[]): string {
  const store = flagValue(argv, ['st', 'store'])?.toLowerCase();
  if (store !== undefined && STORES.has(store)) {
    if (store !== 'sql') return store === 'memory' ? '' : store;
    const driver = flagValue(argv, ['sql_driver'])?.toLowerCase();
    return driver !== undefined && DRIVERS.has(driver) ? `sql-${driver}` : 'sql';
  }
  if (flagValue(argv, ['sc', 'stan_config', 'c', 'config']) !== undefined) return 'config';
  return '';
}
