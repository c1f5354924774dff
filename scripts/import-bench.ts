/**
 * `npm run bench:import`: import speed and peak RSS of `nats-streaming-server import`.
 *
 * Generates a reference FILE store (default 1,000,000 messages: 10 channels x 100,000, 128-byte
 * payloads, a durable with pending messages per channel) in a temp directory with the
 * reference-format writer, then imports it with the built CLI (bin/, run `npm run build`
 * first) into each target: PostgreSQL and MariaDB (private instances started with
 * test/helpers/db.ts, as scripts/bench-db.ts does) and FILE. Prints messages/s and the peak
 * RSS of the import process (GNU time's maximum resident set size). Nothing is committed; the
 * temp directories and databases are removed at the end.
 *
 *   node --import tsx scripts/import-bench.ts [--messages N] [--channels N] [--payload BYTES] [--targets file,postgres,mariadb]
 *     [--node-options "…"]   NODE_OPTIONS of the import (default: the runbook's recommended
 *                            "--max-semi-space-size=2 --max-old-space-size=96"; "" = Node's defaults)
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startMariaDB, startPostgres, uniqueName, type DbInstance } from '../test/helpers/db';
import { generateReferenceStore } from '../test/helpers/reference-generate';

const BIN = path.resolve(__dirname, '..', 'bin', 'nats-streaming-server.js');

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? (process.argv[i + 1] as string) : def;
}

interface Run {
  target: string;
  seconds: number;
  rssMB: number;
  exit: number;
}

/** Runs the import under GNU time; its last stderr line is "<maxrss KB> <elapsed s>". */
function timedImport(args: string[], nodeOptions: string): Promise<{ seconds: number; rssMB: number; exit: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, NODE_OPTIONS: nodeOptions };
    const child = spawn('/usr/bin/time', ['-f', 'BENCH %M %e', process.execPath, BIN, 'import', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /BENCH (\d+) ([\d.]+)/.exec(err);
      if (m === null) return reject(new Error(`no timing from /usr/bin/time: ${err}`));
      resolve({ rssMB: Number(m[1]) / 1024, seconds: Number(m[2]), exit: code ?? -1, stderr: err });
    });
  });
}

async function main(): Promise<void> {
  const total = Number(arg('messages', '1000000'));
  const channels = Number(arg('channels', '10'));
  const payload = Number(arg('payload', '128'));
  const targets = arg('targets', 'postgres,mariadb,file').split(',');
  const nodeOptions = arg('node-options', '--max-semi-space-size=2 --max-old-space-size=96');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'import-bench-'));
  const runs: Run[] = [];
  const dbs: DbInstance[] = [];
  try {
    const t0 = performance.now();
    const src = generateReferenceStore(path.join(work, 'reference'), { channels, messagesPerChannel: Math.ceil(total / channels), payloadBytes: payload });
    process.stdout.write(`NODE_OPTIONS of the import: ${nodeOptions === '' ? '(none)' : nodeOptions}\n`);
    process.stdout.write(`generated ${src.totalMessages} messages (${channels} channels, ${payload}-byte payloads) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    for (const target of targets) {
      let flags: string[];
      if (target === 'file') {
        flags = ['-store', 'file', '-dir', path.join(work, 'target-file')];
      } else {
        const inst = target === 'postgres' ? await startPostgres() : await startMariaDB();
        dbs.push(inst);
        const url = await inst.createDatabase(uniqueName('imp'));
        flags = ['-store', 'sql', '--sql_driver', target === 'postgres' ? 'postgres' : 'mysql', '--sql_source', url, '--sql_auto_migrate'];
      }
      const r = await timedImport(['--from_dir', src.dir, ...flags], nodeOptions);
      if (r.exit !== 0) throw new Error(`import into ${target} failed (exit ${r.exit}): ${r.stderr}`);
      runs.push({ target, seconds: r.seconds, rssMB: r.rssMB, exit: r.exit });
      process.stdout.write(`${target}: ${src.totalMessages} messages in ${r.seconds.toFixed(1)} s = ${Math.round(src.totalMessages / r.seconds)} msgs/s, peak RSS ${r.rssMB.toFixed(0)} MB\n`);
    }
    process.stdout.write('\n| target | messages | seconds | msgs/s | peak RSS |\n|---|---|---|---|---|\n');
    for (const r of runs) process.stdout.write(`| ${r.target} | ${src.totalMessages} | ${r.seconds.toFixed(1)} | ${Math.round(src.totalMessages / r.seconds)} | ${r.rssMB.toFixed(0)} MB |\n`);
  } finally {
    for (const d of dbs) await d.destroy().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
