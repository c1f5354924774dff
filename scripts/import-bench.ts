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
 *     [--node-options "…"]   NODE_OPTIONS of the import (default: none: the import command
 *                            bounds its own heap, see src/import/heap.ts)
 *     [--runs N]             N runs per target; the table gives the medians (default 1)
 *     [--compare DIR]        also run the build in DIR (a copy of bin/ and dist/ of another
 *                            commit), alternating with this one run by run, same source store
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startMariaDB, startPostgres, uniqueName, type DbInstance } from '../test/helpers/db';
import { generateReferenceStore } from '../test/helpers/reference-generate';

const BIN = path.resolve(__dirname, '..', 'bin', 'nats-streaming-server.js');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? (process.argv[i + 1] as string) : def;
}

interface Run {
  target: string;
  build: string;
  seconds: number;
  rssMB: number;
  /** CPU seconds of the import process (user + system): its own cost, whatever the machine's load. */
  cpu: number;
}

/** Runs the import under GNU time; its last stderr line is "<maxrss KB> <elapsed s> <user s> <system s>". */
function timedImport(bin: string, args: string[], nodeOptions: string): Promise<{ seconds: number; rssMB: number; cpu: number; exit: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, NODE_OPTIONS: nodeOptions };
    const child = spawn('/usr/bin/time', ['-f', 'BENCH %M %e %U %S', process.execPath, bin, 'import', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const m = /BENCH (\d+) ([\d.]+) ([\d.]+) ([\d.]+)/.exec(err);
      if (m === null) return reject(new Error(`no timing from /usr/bin/time: ${err}`));
      resolve({ rssMB: Number(m[1]) / 1024, seconds: Number(m[2]), cpu: Number(m[3]) + Number(m[4]), exit: code ?? -1, stderr: err });
    });
  });
}

/** The target's store flags; a SQL target gets a private database instance of its own. */
async function targetFlags(target: string, work: string, tag: string): Promise<{ flags: string[]; db?: DbInstance }> {
  if (target === 'file') return { flags: ['-store', 'file', '-dir', path.join(work, 'target-file')] };
  const db = target === 'postgres' ? await startPostgres() : await startMariaDB();
  const url = await db.createDatabase(uniqueName(`imp${tag}`));
  return { db, flags: ['-store', 'sql', '--sql_driver', target === 'postgres' ? 'postgres' : 'mysql', '--sql_source', url, '--sql_auto_migrate'] };
}

async function main(): Promise<void> {
  const total = Number(arg('messages', '1000000'));
  const channels = Number(arg('channels', '10'));
  const payload = Number(arg('payload', '128'));
  const targets = arg('targets', 'postgres,mariadb,file').split(',');
  const nodeOptions = arg('node-options', '');
  const runsPer = Number(arg('runs', '1'));
  const compare = arg('compare', '');
  const builds: Array<[string, string]> = [['this build', BIN]];
  if (compare !== '') builds.unshift(['compared build', path.resolve(compare, 'bin', 'nats-streaming-server.js')]);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'import-bench-'));
  const runs: Run[] = [];
  const dbs: DbInstance[] = [];
  try {
    const t0 = performance.now();
    const src = generateReferenceStore(path.join(work, 'reference'), { channels, messagesPerChannel: Math.ceil(total / channels), payloadBytes: payload });
    process.stdout.write(`NODE_OPTIONS of the import: ${nodeOptions === '' ? '(none)' : nodeOptions}\n`);
    process.stdout.write(`generated ${src.totalMessages} messages (${channels} channels, ${payload}-byte payloads) in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    for (const target of targets) {
      for (let i = 0; i < runsPer; i++) {
        for (const [b, [build, bin]] of builds.entries()) {
          const { flags, db } = await targetFlags(target, work, `${i}x${b}`);
          if (db !== undefined) dbs.push(db);
          const r = await timedImport(bin, ['--from_dir', src.dir, ...flags], nodeOptions);
          if (r.exit !== 0) throw new Error(`import into ${target} (${build}) failed (exit ${r.exit}): ${r.stderr}`);
          runs.push({ target, build, seconds: r.seconds, rssMB: r.rssMB, cpu: r.cpu });
          process.stdout.write(`${target} (${build}): ${src.totalMessages} messages in ${r.seconds.toFixed(1)} s = ${Math.round(src.totalMessages / r.seconds)} msgs/s, peak RSS ${r.rssMB.toFixed(0)} MB, ${r.cpu.toFixed(1)} CPU s, load ${os.loadavg()[0].toFixed(1)}\n`);
          if (db !== undefined) await db.destroy().catch(() => undefined);
          fs.rmSync(path.join(work, 'target-file'), { recursive: true, force: true });
        }
      }
    }
    process.stdout.write(`\nmedians of ${runsPer} run(s)\n| target | build | messages | seconds | msgs/s | peak RSS | CPU s of the import |\n|---|---|---|---|---|---|---|\n`);
    for (const target of targets) {
      for (const [build] of builds) {
        const rs = runs.filter((r) => r.target === target && r.build === build);
        const secs = median(rs.map((r) => r.seconds));
        process.stdout.write(`| ${target} | ${build} | ${src.totalMessages} | ${secs.toFixed(1)} | ${Math.round(src.totalMessages / secs)} | ${median(rs.map((r) => r.rssMB)).toFixed(0)} MB | ${median(rs.map((r) => r.cpu)).toFixed(1)} |\n`);
      }
    }
  } finally {
    for (const d of dbs) await d.destroy().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
