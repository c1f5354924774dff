/**
 * Opens the reference store named by the import flags: a FILE store directory, or the
 * reference's SQL tables through a connection of our own (SELECTs only). The reference's key
 * is `--from_encryption_key`, else NATS_STREAMING_ENCRYPTION_KEY (as the reference reads it).
 */
import * as fs from 'node:fs';
import { ENCRYPTION_KEY_ENV } from '../config/load';
import { openReferenceFileStore, openReferenceSqlStore, type ChannelLimits, type ReferenceStoreReader } from './reference';
import type { ImportFlags } from './args';
import { ImportError } from './errors';

export interface OpenedSource {
  reader: ReferenceStoreReader;
  /** For messages and the import marker: the directory, or driver and redacted DSN. */
  describe: string;
  close(): Promise<void>;
}

export interface SourceReadSettings {
  limits?: (channel: string) => ChannelLimits | undefined;
  skipDamaged: boolean;
  env: NodeJS.ProcessEnv;
}

export function sourceKey(flags: ImportFlags, env: NodeJS.ProcessEnv): string | undefined {
  if (flags.fromEncryptionKey !== undefined && flags.fromEncryptionKey !== '') return flags.fromEncryptionKey;
  const k = env[ENCRYPTION_KEY_ENV];
  return k !== undefined && k !== '' ? k : undefined;
}

/** Checks the source flags: exactly one source, complete. */
export function validateSourceFlags(flags: ImportFlags): void {
  const sql = flags.fromSqlDriver !== '' || flags.fromSqlSource !== '';
  if (flags.fromDir === '' && !sql) {
    throw new ImportError('no source given: add --from_dir <reference FILE store directory>, or --from_sql_driver postgres|mysql with --from_sql_source <dsn>');
  }
  if (flags.fromDir !== '' && sql) throw new ImportError('give one source: --from_dir, or --from_sql_driver with --from_sql_source, not both');
  if (sql) {
    if (flags.fromSqlDriver !== 'postgres' && flags.fromSqlDriver !== 'mysql') {
      throw new ImportError(`unsupported --from_sql_driver ${JSON.stringify(flags.fromSqlDriver)}: use postgres or mysql`);
    }
    if (flags.fromSqlSource === '') throw new ImportError('--from_sql_driver needs --from_sql_source <dsn> (Go DSN or URL, as --sql_source)');
  } else if (!fs.existsSync(flags.fromDir) || !fs.statSync(flags.fromDir).isDirectory()) {
    throw new ImportError(`--from_dir ${flags.fromDir}: no such directory (give the reference's FILE store directory, its -dir)`);
  }
}

export async function openSource(flags: ImportFlags, s: SourceReadSettings): Promise<OpenedSource> {
  const encryptionKey = sourceKey(flags, s.env);
  const common = { encryptionKey, limits: s.limits, skipDamagedMessages: s.skipDamaged };
  if (flags.fromDir !== '') {
    const reader = await openReferenceFileStore(flags.fromDir, common);
    return { reader, describe: `FILE store ${flags.fromDir}`, close: async () => undefined };
  }
  const [{ openSql }, { redactSource }] = await Promise.all([import('../store/sql/open'), import('../store/sql/schema-check')]);
  const driver = flags.fromSqlDriver as 'postgres' | 'mysql';
  const adapter = await openSql({ driver, source: flags.fromSqlSource, maxOpenConns: 1 });
  try {
    const reader = await openReferenceSqlStore(adapter.knex, { ...common, pageSize: 5000 });
    return { reader, describe: `${driver} ${redactSource(flags.fromSqlSource)}`, close: () => adapter.close() };
  } catch (err) {
    await adapter.close();
    throw err;
  }
}
