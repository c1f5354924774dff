/**
 * The import command's own flags, taken out of the command line; everything else is left for
 * the server's option loading (store flags, `-sc`/`-c` files, limits, `-cid`), so the target
 * is described exactly as the server that will run on it is.
 *
 * Same syntax as the server's Go flags: `-name`, `--name`, `-name=value`, `-name value`;
 * booleans never take the next argument.
 */
import { ConfigError } from '../config/errors';
import { parseGoBool } from '../config/goflags';

export interface ImportFlags {
  fromDir: string;
  fromSqlDriver: string;
  fromSqlSource: string;
  /** undefined when not given (NATS_STREAMING_ENCRYPTION_KEY then keys the source). */
  fromEncryptionKey: string | undefined;
  dryRun: boolean;
  resume: boolean;
  skipDamaged: boolean;
  help: boolean;
}

type Spec = { type: 'string' | 'bool'; set: (f: ImportFlags, v: string | boolean) => void };

const SPECS: Record<string, Spec> = {
  from_dir: { type: 'string', set: (f, v) => { f.fromDir = String(v); } },
  from_sql_driver: { type: 'string', set: (f, v) => { f.fromSqlDriver = String(v); } },
  from_sql_source: { type: 'string', set: (f, v) => { f.fromSqlSource = String(v); } },
  from_encryption_key: { type: 'string', set: (f, v) => { f.fromEncryptionKey = String(v); } },
  // Each encrypted record names its cipher (reference-stores.md §3): accepted, not needed.
  from_encryption_cipher: { type: 'string', set: () => undefined },
  'dry-run': { type: 'bool', set: (f, v) => { f.dryRun = v === true; } },
  dry_run: { type: 'bool', set: (f, v) => { f.dryRun = v === true; } },
  resume: { type: 'bool', set: (f, v) => { f.resume = v === true; } },
  skip_damaged: { type: 'bool', set: (f, v) => { f.skipDamaged = v === true; } },
  help: { type: 'bool', set: (f, v) => { f.help = v === true; } },
  h: { type: 'bool', set: (f, v) => { f.help = v === true; } },
};

export function splitImportArgs(argv: readonly string[]): { flags: ImportFlags; rest: string[] } {
  const flags: ImportFlags = { fromDir: '', fromSqlDriver: '', fromSqlSource: '', fromEncryptionKey: undefined, dryRun: false, resume: false, skipDamaged: false, help: false };
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const m = /^--?([A-Za-z_][\w-]*)(?:=(.*))?$/s.exec(arg);
    const spec = m ? SPECS[m[1] as string] : undefined;
    if (m === null || spec === undefined) {
      rest.push(arg);
      // A server flag's value is never taken for one of ours (`-dir --resume` is not a thing).
      continue;
    }
    const name = m[1] as string;
    let raw = m[2];
    if (spec.type === 'bool') {
      const b = parseGoBool(raw ?? 'true');
      if (b === undefined) throw new ConfigError(`invalid boolean value ${JSON.stringify(raw)} for -${name}: parse error`);
      spec.set(flags, b);
      continue;
    }
    if (raw === undefined) {
      if (i + 1 >= argv.length) throw new ConfigError(`flag needs an argument: -${name}`);
      raw = argv[++i] as string;
    }
    spec.set(flags, raw);
  }
  return { flags, rest };
}

export const IMPORT_USAGE = `Usage: nats-streaming-server import <source> [options] <target store options>

Copies the state of a stopped reference nats-streaming-server (Go) into this server's store:
channels with their sequence numbers, messages, clients, subscriptions with their positions
and unacknowledged messages, and the server info (cluster ID, request subjects).

Source (one of):
    --from_dir <dir>                 The reference's FILE store directory
    --from_sql_driver <driver>       postgres or mysql: the reference's SQL store
    --from_sql_source <dsn>          Its data source (Go DSN or URL, as --sql_source)
    --from_encryption_key <key>      The reference's encryption key (default: NATS_STREAMING_ENCRYPTION_KEY)
    --from_encryption_cipher <name>  Accepted and ignored: each record names its cipher

Target: the server's own store flags and configuration files, e.g.
    -store file -dir <dir> | -store sql --sql_driver <driver> --sql_source <dsn> [--sql_auto_migrate]
    -sc <file> | -c <file>           Configuration file (store, limits, encryption)
    -cid <id>                        Cluster ID (default: the source's; another one is refused)
    --encrypt                        Encrypt the imported messages (key: NATS_STREAMING_ENCRYPTION_KEY)

Options:
    --dry-run                        Read and validate everything, print the summary, write nothing
    --resume                         Continue an interrupted import of the same source
    --skip_damaged                   Leave damaged message records out (listed) instead of failing

Exit status: 0 complete, 2 complete but damaged records were skipped, 1 failed.
See docs/migrate-from-reference.md.
`;
