/**
 * Start-up time per store, measured as a user sees it: the built server is spawned like a
 * user runs it, the client port is polled with TCP connects, and the first accepted
 * connection sends STAN connect requests (as the Go client: headers and no_responders on)
 * until one is answered with a ConnectResponse. Reports, per store, the medians of N runs of
 * spawn → port accepting and spawn → first answered connect, and how many runs met the
 * window in between (a no-responders reply or an unanswered request after the port opened).
 *
 *   npm run startup-time -- [--runs 10] [--stores memory,file,postgres,mysql] [--exec PATH]
 *
 * (`mariadb` is accepted for `mysql`.)
 *
 * Persistent stores are measured on an existing, empty store (a restart, the usual case):
 * a first, unmeasured start creates the schema, and its figures are shown as "first start".
 * PostgreSQL and MariaDB are private instances started with test/helpers/db.ts.
 * `--exec PATH` measures another executable taking the same flags (e.g. the reference Go
 * server) instead of bin/nats-streaming-server.js.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { startMariaDB, startPostgres, type DbInstance } from '../test/helpers/db';
import { BIN, freePort, Proc } from '../test/helpers/proc';
import { connectWhenOpen, RawDiscoverer, startupStoreArgs, type StartupStore } from '../test/helpers/startup-probe';

type StoreName = StartupStore;
const CLUSTER_ID = 'startup-time';

interface RunResult {
  portMs: number;
  connectMs: number;
  /** Connect requests answered with a status (503 no responders) before the first ConnectResponse. */
  statusReplies: number;
  /** CPU time the server process used until then (all threads; Linux only, else NaN). */
  cpuMs: number;
}

/**
 * CPU time used so far by process `pid`, summed over its threads (/proc/PID/task/*\/schedstat,
 * nanoseconds on CPU). Unlike wall-clock time it hardly depends on what else the machine runs.
 */
function cpuTimeMs(pid: number): number {
  try {
    let ns = 0;
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) ns += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    return ns / 1e6;
  } catch {
    return Number.NaN;
  }
}

function parseArgs(argv: string[]): { runs: number; stores: StoreName[]; exec: string | undefined } {
  let runs = 10;
  let stores: StoreName[] = ['memory', 'file', 'postgres', 'mariadb'];
  let exec: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--runs' && v !== undefined) {
      runs = Math.max(1, Number.parseInt(v, 10));
      i++;
    } else if (a === '--stores' && v !== undefined) {
      // `mysql` is what the rest of the project calls the MariaDB/MySQL store (STAN_TEST_STORE, --sql_driver).
      const names = v.split(',').map((s) => (s.trim() === 'mysql' ? 'mariadb' : s.trim()));
      for (const n of names) {
        if (n !== 'memory' && n !== 'file' && n !== 'postgres' && n !== 'mariadb') throw new Error(`unknown store "${n}": use memory, file, postgres or mysql (mariadb)`);
      }
      stores = names as StoreName[];
      i++;
    } else if (a === '--exec' && v !== undefined) {
      exec = v;
      i++;
    } else {
      throw new Error(`unknown argument "${a}"; usage: startup-time [--runs N] [--stores memory,file,postgres,mysql] [--exec PATH]`);
    }
  }
  return { runs, stores, exec };
}

function spawnProc(exec: string | undefined, args: string[]): Proc {
  const child = exec === undefined ? spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(exec, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Proc(child, `${exec ?? 'nats-streaming-server'} ${args.join(' ')}`);
}

/** One start: spawn, connect the instant the port accepts, request until answered, stop. */
async function measureOnce(exec: string | undefined, storeArgs: string[], run: number): Promise<RunResult> {
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawnProc(exec, ['-a', '127.0.0.1', '-p', String(port), '-cid', CLUSTER_ID, ...storeArgs]);
  try {
    const conn = await connectWhenOpen(port, () => proc.exit !== undefined);
    const portMs = performance.now() - t0;
    const d = await RawDiscoverer.start(conn);
    let statusReplies = 0;
    for (;;) {
      const answer = await d.request(CLUSTER_ID, `probe-${run}-${statusReplies}`, 10000);
      if (answer.kind === 'response') {
        if (answer.response.error !== '') throw new Error(`connect refused: ${answer.response.error}`);
        const connectMs = performance.now() - t0;
        const cpuMs = cpuTimeMs(proc.pid);
        d.close();
        return { portMs, connectMs, statusReplies, cpuMs };
      }
      statusReplies++;
    }
  } catch (err) {
    throw new Error(`${String(err)}\n${proc.output}`);
  } finally {
    await proc.stop('SIGINT').catch(() => proc.kill());
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(): Promise<void> {
  const { runs, stores, exec } = parseArgs(process.argv.slice(2));
  const cleanups: Array<() => Promise<void>> = [];
  const rows: string[] = [];
  try {
    for (const store of stores) {
      const { first: firstArgs, args, cleanup } = await startupStoreArgs(store, async (kind) => {
        const inst: DbInstance = kind === 'postgres' ? await startPostgres() : await startMariaDB();
        cleanups.push(() => inst.destroy());
        return inst;
      });
      cleanups.push(async () => cleanup());
      // Memory has no schema: its first start is like any other (and is measured too).
      const first = await measureOnce(exec, firstArgs, 0);
      const results: RunResult[] = store === 'memory' ? [first] : [];
      while (results.length < runs) results.push(await measureOnce(exec, args, results.length + 1));
      const windowRuns = results.filter((r) => r.statusReplies > 0).length;
      const row =
        `${store.padEnd(8)} port ${median(results.map((r) => r.portMs)).toFixed(0).padStart(4)} ms, ` +
        `first answered connect ${median(results.map((r) => r.connectMs)).toFixed(0).padStart(4)} ms ` +
        `(min ${Math.min(...results.map((r) => r.connectMs)).toFixed(0)}, max ${Math.max(...results.map((r) => r.connectMs)).toFixed(0)}); ` +
        `server CPU until then ${median(results.map((r) => r.cpuMs)).toFixed(0)} ms; ` +
        `no-responders window met in ${windowRuns}/${results.length} runs` +
        (store === 'memory' ? '' : `; first start (creates the schema): port ${first.portMs.toFixed(0)} ms, connect ${first.connectMs.toFixed(0)} ms`);
      rows.push(row);
      process.stdout.write(`${row}\n`);
    }
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  }
  process.stdout.write(`\nspawn → ... medians of ${runs} runs (${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(2)})\n`);
  for (const r of rows) process.stdout.write(`${r}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
