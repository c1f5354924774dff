/**
 * A PostgreSQL primary with a synchronous streaming-replication standby, for the clustering
 * tests: two local clusters (test/helpers/db.ts `PgInstance`s) on free loopback ports, the
 * standby made with pg_basebackup, then `synchronous_standby_names` naming it and
 * `synchronous_commit = on` on the primary: a commit returns once the standby has it on disk.
 *
 *   - `startPgReplication()` resolves once the standby streams synchronously;
 *   - `primary.stop()` / `kill()` then `standby.promote()` is a failover;
 *   - `multiHostSource()` is the `--sql_source` that follows the primary
 *     (`host=127.0.0.1,127.0.0.1 port=P1,P2 ... target_session_attrs=read-write`);
 *   - `destroy()` removes both.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client as PgClient } from 'pg';
import { PgInstance, run, startPostgres } from './db';

export const STANDBY_NAME = 'standby1';

export class PgStandby extends PgInstance {
  /** Copies `primary` with pg_basebackup and starts streaming from it as `STANDBY_NAME`. */
  static async fromPrimary(primary: PgInstance): Promise<PgStandby> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stan-pg-standby-'));
    const s = new PgStandby(dir, primary.password);
    try {
      fs.chmodSync(dir, 0o755);
      s.chown(dir);
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C', HOME: dir, PGPASSWORD: primary.password };
      await run(
        path.join(s.bin, 'pg_basebackup'),
        ['-h', primary.host, '-p', String(primary.port), '-U', primary.user, '-D', s.dataDir, '-X', 'stream', '-R', '--no-sync', '-c', 'fast'],
        { user: s.osUser, cwd: dir, env },
      );
      // -R wrote standby.signal and a primary_conninfo; this later line names the standby
      // (application_name) for synchronous_standby_names.
      const conninfo = `host=${primary.host} port=${primary.port} user=${primary.user} password=${primary.password} application_name=${STANDBY_NAME}`;
      fs.appendFileSync(path.join(s.dataDir, 'postgresql.auto.conf'), `primary_conninfo = '${conninfo}'\n`);
      await s.launch(false);
      return s;
    } catch (err) {
      await s.destroy().catch(() => undefined);
      throw err;
    }
  }

  /** Failover: ends recovery; the standby becomes a read-write primary. */
  async promote(): Promise<void> {
    await this.adminQuery('SELECT pg_promote(true, 60)', 'postgres');
  }
}

export interface PgReplication {
  primary: PgInstance;
  standby: PgStandby;
  /** A libpq multi-host source listing the primary then the standby. */
  multiHostSource(opts?: { url?: boolean; target?: string }): string;
  destroy(): Promise<void>;
}

async function one<T>(inst: PgInstance, sql: string): Promise<T | undefined> {
  const c = new PgClient({ host: inst.host, port: inst.port, user: inst.user, password: inst.password, database: 'postgres', ssl: false });
  c.on('error', () => undefined);
  await c.connect();
  try {
    const r = await c.query(sql);
    return r.rows[0] as T | undefined;
  } finally {
    await c.end().catch(() => undefined);
  }
}

export async function startPgReplication(): Promise<PgReplication> {
  const primary = await startPostgres();
  let standby: PgStandby | undefined;
  try {
    standby = await PgStandby.fromPrimary(primary);
    await primary.adminQuery(`ALTER SYSTEM SET synchronous_standby_names = '${STANDBY_NAME}'`, 'postgres');
    await primary.adminQuery("ALTER SYSTEM SET synchronous_commit = 'on'", 'postgres');
    await primary.adminQuery('SELECT pg_reload_conf()', 'postgres');
    for (let i = 0; ; i++) {
      const r = await one<{ sync_state: string }>(primary, `SELECT sync_state FROM pg_stat_replication WHERE application_name = '${STANDBY_NAME}'`);
      if (r?.sync_state === 'sync') break;
      if (i > 600) throw new Error(`the standby does not stream synchronously (state ${r?.sync_state ?? 'absent'}):\n${standby.logTail()}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  } catch (err) {
    await standby?.destroy().catch(() => undefined);
    await primary.destroy().catch(() => undefined);
    throw err;
  }
  const s = standby;
  return {
    primary,
    standby: s,
    multiHostSource(opts = {}): string {
      const target = opts.target ?? 'read-write';
      if (opts.url === true) {
        return `postgres://${encodeURIComponent(primary.user)}:${encodeURIComponent(primary.password)}@${primary.host}:${primary.port},${s.host}:${s.port}/${primary.database}?sslmode=disable&target_session_attrs=${target}`;
      }
      return `host=${primary.host},${s.host} port=${primary.port},${s.port} user=${primary.user} password=${primary.password} dbname=${primary.database} sslmode=disable target_session_attrs=${target}`;
    },
    async destroy(): Promise<void> {
      await Promise.all([s.destroy().catch(() => undefined), primary.destroy().catch(() => undefined)]);
    },
  };
}
