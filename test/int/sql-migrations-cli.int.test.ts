/**
 * Schema migrations, the command side (test/int/sql-migrations.int.test.ts has the per-dialect
 * migrations and the schema check):
 *  - the command printed in messages never shows the password of --sql_source;
 *  - ReferenceDataError on the reference Go server's file-store layout;
 *  - the `migrate` command end to end (node bin/nats-streaming-server.js, from dist/).
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BIN, REPO_ROOT } from '../helpers/proc';
import {
  checkSchema,
  migrateCommand,
  redactSource,
  detectReferenceFileStore,
  listTables,
  prepareSchema,
  ReferenceDataError,
} from '../../src/store/sql/schema-check';
import { cleanupMigrationTests, freshDb, knexFor, LATEST, passwordOf, tmpRoot } from '../helpers/sql-migrations';

after(cleanupMigrationTests);

test('the command in messages never shows the password of --sql_source', () => {
  const cases: Array<[string, string]> = [
    ['postgres://stan:s3cr@t@db.example.com:5432/stan?sslmode=require', 'postgres://stan:<password>@db.example.com:5432/stan?sslmode=require'],
    ['user=stan password=secret dbname=stan sslmode=disable', 'user=stan password=<password> dbname=stan sslmode=disable'],
    ["user=stan password='a b' dbname=x", 'user=stan password=<password> dbname=x'],
    ['stan:p@ss:w@tcp(127.0.0.1:3306)/stan?tls=true', 'stan:<password>@tcp(127.0.0.1:3306)/stan?tls=true'],
    ['mysql://u:pw@h/db?password=pw2', 'mysql://u:<password>@h/db?password=<password>'],
    ['root@tcp(h)/db', 'root@tcp(h)/db'],
    ['host=/tmp dbname=x', 'host=/tmp dbname=x'],
  ];
  for (const [src, want] of cases) assert.equal(redactSource(src), want);
  assert.equal(
    migrateCommand({ dialect: 'postgres', source: 'user=stan password=secret dbname=stan' }),
    'nats-streaming-server migrate --sql_driver postgres --sql_source "user=stan password=<password> dbname=stan"',
  );
  assert.equal(migrateCommand({ dialect: 'sqlite', dir: '/var/lib/stan' }), 'nats-streaming-server migrate -store file -dir "/var/lib/stan"');
});

test('detectReferenceFileStore finds the reference FILE store layout; prepareSchema refuses it', async () => {
  const empty = fs.mkdtempSync(path.join(tmpRoot, 'ref-'));
  assert.deepEqual(detectReferenceFileStore(empty), []);
  assert.deepEqual(detectReferenceFileStore(path.join(empty, 'missing')), []);
  const chanOnly = fs.mkdtempSync(path.join(tmpRoot, 'ref-'));
  fs.mkdirSync(path.join(chanOnly, 'foo'));
  fs.writeFileSync(path.join(chanOnly, 'foo', 'msgs.1.dat'), '');
  assert.deepEqual(detectReferenceFileStore(chanOnly), ['foo/msgs.1.dat']);
  const full = fs.mkdtempSync(path.join(tmpRoot, 'ref-'));
  fs.writeFileSync(path.join(full, 'server.dat'), '');
  fs.writeFileSync(path.join(full, 'clients.dat'), '');
  fs.mkdirSync(path.join(full, 'bar'));
  fs.writeFileSync(path.join(full, 'bar', 'subs.dat'), '');
  assert.deepEqual(detectReferenceFileStore(full).sort(), ['bar/subs.dat', 'clients.dat', 'server.dat']);
  const k = knexFor('sqlite', full);
  await assert.rejects(prepareSchema(k, { dialect: 'sqlite', dir: full, autoMigrate: true }), (e: unknown) => {
    assert.ok(e instanceof ReferenceDataError, String(e));
    assert.match(e.message, /holds the file store of the reference Go nats-streaming-server \(/);
    assert.match(e.message, /use an empty directory/);
    return true;
  });
});

// ---------------------------------------------------------------------------------------------
// the command, end to end (the compiled server: test/run-all.sh builds dist/ first)

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.once('error', reject);
    p.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('nats-streaming-server migrate', { concurrency: false }, () => {
  test('dist/ holds the compiled command', () => {
    assert.ok(fs.existsSync(path.join(REPO_ROOT, 'dist', 'src', 'cli', 'migrate.js')), 'run npx tsc -p tsconfig.json first');
  });

  for (const dialect of ['postgres', 'mysql'] as const) {
    test(`${dialect}: --dry-run prints SQL and changes nothing; migrate applies; flags before "migrate" work`, async () => {
      const db = await freshDb(dialect);
      const dry = await cli(['migrate', '--dry-run', '--sql_driver', dialect, '--sql_source', db.source]);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /create table [`"]stan_messages[`"]/);
      assert.match(dry.stdout, /dry run/);
      assert.deepEqual(await listTables(db.knex), []);

      const run = await cli(['-store', 'sql', '--sql_driver', dialect, '--sql_source', db.source, 'migrate']);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /applied migration 0001_initial/);
      assert.match(run.stdout, new RegExp(`now at version ${LATEST}`));
      assert.ok(!run.stdout.includes(passwordOf(db.source)), 'password not printed');
      assert.equal((await checkSchema(db.knex, { dialect, source: db.source })).version, LATEST);

      const again = await cli(['migrate', '--sql_driver', dialect, '--sql_source', db.source]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`up to date \\(version ${LATEST}\\)`));
    });
  }

  test('refusals are one line on stderr, exit 1, no stack trace', async () => {
    const ref = await freshDb('postgres');
    await ref.knex.schema.createTable('serverinfo', (t) => t.string('uniquerow'));
    const cases: Array<{ args: string[]; re: RegExp }> = [
      { args: ['migrate', '--sql_driver', 'postgres', '--sql_source', ref.source], re: /reference Go nats-streaming-server/ },
      { args: ['migrate'], re: /MEMORY store has no schema/ },
      { args: ['migrate', '--sql_driver', 'oracle', '--sql_source', 'x'], re: /unsupported --sql_driver "oracle"/ },
      { args: ['migrate', '--sql_driver', 'postgres', '--sql_source', 'postgres://u:pw@127.0.0.1:1/db?sslmode=disable'], re: /cannot reach the database/ },
      { args: ['migrate', '--bogus'], re: /flag provided but not defined: -bogus/ },
    ];
    const refDir = fs.mkdtempSync(path.join(tmpRoot, 'cliref-'));
    fs.writeFileSync(path.join(refDir, 'server.dat'), '');
    cases.push({ args: ['migrate', '-store', 'file', '-dir', refDir], re: /file store of the reference Go/ });
    for (const c of cases) {
      const r = await cli(c.args);
      assert.equal(r.code, 1, `${c.args.join(' ')}: ${r.stdout} ${r.stderr}`);
      assert.match(r.stderr, c.re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
      assert.equal(r.stdout, '', `nothing on stdout (driver or Knex noise): ${r.stdout}`);
    }
    assert.deepEqual(fs.readdirSync(refDir), ['server.dat'], 'no database file created in the reference dir');
  });

  test('FILE store: migrate creates the SQLite schema in -dir', async () => {
    const dir = fs.mkdtempSync(path.join(tmpRoot, 'cli-file-'));
    const r = await cli(['migrate', '-store', 'file', '-dir', dir]);
    assert.equal(r.code, 0, r.stderr);
    const k = knexFor('sqlite', dir);
    assert.equal((await checkSchema(k, { dialect: 'sqlite', dir })).version, LATEST);
  });
});
