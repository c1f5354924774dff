/**
 * Loads the reference SQL fixture dumps (shared/fixtures/reference-stores/postgres.sql,
 * mysql.sql) into a database with the databases' own command-line clients, as an operator
 * restoring a dump would (shared by the SQL reader int test and the import e2e tests).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DbInstance, DbKind } from './db';
import { FIXTURES } from './reference-fixtures';

function findPsql(): string {
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base) ? fs.readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const p = path.join(base, v, 'bin', 'psql');
    if (fs.existsSync(p)) return p;
  }
  return 'psql';
}

function runClient(cmd: string, args: string[], env: NodeJS.ProcessEnv, stdinFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err}`))));
    fs.createReadStream(stdinFile).pipe(child.stdin);
  });
}

/** Loads the dump of `kind` into database `db` of `inst` as the admin role. */
export async function loadReferenceDump(kind: DbKind, inst: DbInstance, db: string): Promise<void> {
  if (kind === 'postgres') {
    await runClient(findPsql(), ['-h', inst.host, '-p', String(inst.port), '-U', inst.user, '-d', db, '-v', 'ON_ERROR_STOP=1', '-q'], { PGPASSWORD: inst.password }, path.join(FIXTURES, 'postgres.sql'));
  } else {
    await runClient('mariadb', ['-h', inst.host, '-P', String(inst.port), '-u', inst.user, db], { MYSQL_PWD: inst.password }, path.join(FIXTURES, 'mysql.sql'));
  }
}
