/**
 * Database server for `npm run bench -- --store sql` (run by the bench as
 * `node --import tsx scripts/bench-db.ts postgres|mariadb`): starts a private PostgreSQL 15 or
 * MariaDB 10.11 on loopback in a temporary directory with test/helpers/db.ts (the tests' own
 * start-up code, so there is one copy of it), then speaks a line protocol on stdin/stdout:
 *
 *   -> (on start)     {"ready":true,"kind":"postgres","adminUrl":"postgres://..."}
 *   <- createdb       -> {"url":"postgres://.../b_..."}     (a fresh database per run)
 *   <- stop           -> stops the database and exits (also on stdin EOF, i.e. when the bench dies)
 *
 * Errors are reported as {"error":"..."} lines.
 */
import * as readline from 'node:readline';
import { startMariaDB, startPostgres, uniqueName, type DbInstance } from '../test/helpers/db';

function send(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

async function main(): Promise<void> {
  const kind = process.argv[2];
  if (kind !== 'postgres' && kind !== 'mariadb' && kind !== 'mysql') {
    send({ error: 'usage: bench-db.ts postgres|mariadb' });
    process.exit(2);
  }
  const inst: DbInstance = kind === 'postgres' ? await startPostgres() : await startMariaDB();
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await inst.destroy().catch(() => undefined);
    process.exit(0);
  };
  send({ ready: true, kind: inst.kind, adminUrl: inst.adminUrl, port: inst.port, dir: inst.dir });
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const cmd = line.trim();
    if (cmd === 'createdb') {
      inst.createDatabase(uniqueName('b')).then(
        (url) => send({ url }),
        (err: unknown) => send({ error: err instanceof Error ? err.message : String(err) }),
      );
    } else if (cmd === 'stop') {
      void stop();
    } else if (cmd !== '') {
      send({ error: `unknown command ${cmd}` });
    }
  });
  rl.on('close', () => void stop());
}

main().catch((err: unknown) => {
  send({ error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
