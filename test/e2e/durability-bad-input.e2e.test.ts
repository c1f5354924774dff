/**
 * Bad input (issue 3, "How it is checked"): an unreachable database, a wrong password, a
 * database of another cluster ID, a schema newer than this release and a missing table each
 * stop the real executable with one clear line (exit code non-zero, no stack trace).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { sharedDb, uniqueName, type DbKind } from '../helpers/db';
import { freePort, runServer, spawnServer, startServerProc, type Proc } from '../helpers/proc';
import { assertOneClearLine } from '../helpers/durability';

const procs: Proc[] = [];
after(async () => {
  await Promise.all(procs.map((p) => p.kill()));
});

/** Runs the server with `args` and expects it to refuse to start. */
async function refused(args: string[], re: RegExp): Promise<string> {
  const proc = spawnServer(['-a', '127.0.0.1', '-p', String(await freePort()), ...args]);
  procs.push(proc);
  await proc.waitExit(40000);
  return assertOneClearLine(proc, re);
}

/** Starts the server until ready, then stops it cleanly (creates the store's data). */
async function runOnce(args: string[]): Promise<void> {
  const { proc } = await startServerProc(args);
  procs.push(proc);
  const exit = await proc.stop('SIGINT');
  assert.equal(exit.code, 0, proc.output);
}

const DB_KINDS: Array<{ kind: DbKind; driver: 'postgres' | 'mysql' }> = [
  { kind: 'postgres', driver: 'postgres' },
  { kind: 'mariadb', driver: 'mysql' },
];

function sqlArgs(driver: string, url: string, extra: string[] = []): string[] {
  return ['-store', 'sql', '--sql_driver', driver, '--sql_source', url, ...extra];
}

/** A migrated database on the shared instance; resolves its admin URL. */
async function migratedDb(kind: DbKind, driver: string): Promise<{ url: string; name: string }> {
  const inst = await sharedDb(kind);
  const name = uniqueName('bad');
  const url = await inst.createDatabase(name);
  const mig = await runServer(['migrate', '--sql_driver', driver, '--sql_source', url], 60000);
  assert.equal(mig.exit.code, 0, mig.proc.output);
  return { url, name };
}

for (const { kind, driver } of DB_KINDS) {
  describe(`bad input (${kind})`, () => {
    test('unreachable database (closed port)', async () => {
      const port = await freePort();
      const url = driver === 'postgres' ? `postgres://u:secretpw@127.0.0.1:${port}/db?sslmode=disable` : `mysql://u:secretpw@127.0.0.1:${port}/db`;
      const line = await refused(sqlArgs(driver, url), /ECONNREFUSED|connect|reach/i);
      assert.doesNotMatch(line, /secretpw/);
    });

    test('wrong password', async () => {
      const inst = await sharedDb(kind);
      const url = inst.url(inst.database, inst.user, 'not-the-password');
      const line = await refused(sqlArgs(driver, url), /password|authentication|access denied/i);
      assert.doesNotMatch(line, /not-the-password/);
    });

    test('a database that belongs to another cluster ID', async () => {
      const { url } = await migratedDb(kind, driver);
      await runOnce([...sqlArgs(driver, url), '-cid', 'one']);
      await refused([...sqlArgs(driver, url), '-cid', 'other'], /cluster "one".*-cid one/);
    });

    test('a schema newer than this release', async () => {
      const inst = await sharedDb(kind);
      const { name, url } = await migratedDb(kind, driver);
      await inst.adminQuery(`INSERT INTO stan_migrations (name, applied_at, min_server_schema) VALUES ('9999_future', ${Date.now()}, 9999)`, name);
      await refused(sqlArgs(driver, url), /newer than this server supports.*9999_future.*upgrade nats-streaming-server/);
    });

    test('a missing table', async () => {
      const inst = await sharedDb(kind);
      const { name, url } = await migratedDb(kind, driver);
      await inst.adminQuery('DROP TABLE stan_events', name);
      await refused(sqlArgs(driver, url), /stan_events/);
    });
  });
}

describe('bad input (file)', () => {
  const dir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'stan-bad-'));

  test('a directory that belongs to another cluster ID', async () => {
    const d = dir();
    await runOnce(['-store', 'file', '-dir', d, '-cid', 'one']);
    await refused(['-store', 'file', '-dir', d, '-cid', 'other'], /cluster "one".*-cid one/);
  });

  test('a schema newer than this release', async () => {
    const d = dir();
    await runOnce(['-store', 'file', '-dir', d]);
    const db = new Database(path.join(d, 'stan.db'));
    db.prepare('INSERT INTO stan_migrations (name, applied_at, min_server_schema) VALUES (?, ?, ?)').run('9999_future', Date.now(), 9999);
    db.close();
    await refused(['-store', 'file', '-dir', d], /newer than this server supports.*9999_future/);
  });

  test('a missing table', async () => {
    const d = dir();
    await runOnce(['-store', 'file', '-dir', d]);
    const db = new Database(path.join(d, 'stan.db'));
    db.exec('DROP TABLE stan_events');
    db.close();
    await refused(['-store', 'file', '-dir', d], /stan_events/);
  });
});
