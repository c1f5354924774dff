/**
 * Options that are parsed and validated but whose feature is not built yet. They stop the
 * server with "not supported yet: <flag>" instead of being silently ignored: an operator who
 * asked for TLS must never get a plaintext server.
 */
import type { ServerOptions } from '../config/options';
import { StanServerError } from '../errors';

/** canonical option name → what it belongs to (shown in the error). */
const NOT_YET: Record<string, string> = {};

const FILE_FLAG_PREFIX = 'file_';
/**
 * The FILE store is a SQLite database in --dir: of the reference's file-store tuning flags
 * only file_sync keeps a meaning (synchronous=FULL vs NORMAL). The others tune a file layout
 * we don't have; they are refused so nobody believes they took effect.
 */
const FILE_FLAGS_MAPPED = new Set(['file_sync']);

export class NotSupportedError extends StanServerError {
  override readonly kind = 'configuration' as const;
  constructor(readonly flags: string[]) {
    super(`not supported yet: ${flags.map((f) => `--${f}`).join(', ')}`);
    this.name = 'NotSupportedError';
  }
}

/** An option that exists in the reference but has no meaning here. */
export class UnsupportedFlagError extends StanServerError {
  override readonly kind = 'configuration' as const;
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedFlagError';
  }
}

/** Throws NotSupportedError listing every explicitly given option we cannot honour yet. */
export function checkSupported(o: ServerOptions): void {
  const bad: string[] = [];
  const fileBad: string[] = [];
  for (const name of o.explicit) {
    if (name in NOT_YET) bad.push(name);
    else if (name.startsWith(FILE_FLAG_PREFIX) && !FILE_FLAGS_MAPPED.has(name)) fileBad.push(name);
  }
  if (fileBad.length > 0) {
    throw new UnsupportedFlagError(
      `--${fileBad.sort().join(', --')}: no meaning for this server's FILE store (a SQLite database in --dir); ` +
        'remove it (only --file_sync is honoured: synchronous=FULL when true, NORMAL when false)',
    );
  }
  if (bad.length > 0) throw new NotSupportedError([...new Set(bad)].sort());
}

/**
 * Options of the server's connection to an external NATS server (`-ns`). With the embedded
 * NATS server that connection is in-process, so they have no effect.
 */
const EXTERNAL_NATS_ONLY = [
  'secure', 'tls_client_cert', 'tls_client_key', 'tls_client_cacert', 'tls_client_server_name', 'tls_client_insecure',
  'credentials', 'nkey_seed_file', 'username', 'password', 'token',
];

/** Warnings for explicitly given options that only apply to an external NATS server. */
export function externalOnlyWarnings(o: ServerOptions): string[] {
  if (o.streaming.natsServerURL !== '') return [];
  const given = EXTERNAL_NATS_ONLY.filter((n) => o.explicit.has(n));
  if (given.length === 0) return [];
  return [`${given.join(', ')}: only used for the connection to an external NATS server (-ns); ignored with the embedded NATS server`];
}
