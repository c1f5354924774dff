/**
 * Start-up storm on PostgreSQL, or MariaDB with `--db mariadb` (issue 14 item 4): a busy server restarts and every client
 * comes back at once. Measures, against the built server spawned as a user runs it (with an
 * external nats-server, so NATS stays up across the restart as in production):
 *
 *   1. N sessions are registered (protocol 1, answering heartbeats), then the server is
 *      stopped and started again on the same database;
 *   2. as soon as the restarted server listens on the discover subject, N new connect
 *      requests AND N pings of the existing sessions are sent, spread evenly over 1 s;
 *   3. every answer is timed from its request; a connect must be answered within the
 *      client's connect timeout (2 s, the Go and Node clients' default), a ping within the
 *      ping interval (5 s default).
 *
 *   npm run connect-storm -- [--clients 2000] [--runs 3] [--db postgres|mariadb]
 *
 * Prints latency percentiles per run; exits 1 when a connect was not answered in time.
 * Timings include this process's own work (it shares the machine with the server): they are
 * an upper bound of what the server needs.
 */
import { performance } from 'node:perf_hooks';
import { connect as natsConnect, type NatsConnection } from 'nats';
import { ConnectRequestCodec, ConnectResponseCodec, PingCodec, PingResponseCodec } from '../src/protocol/codec';
import { startMariaDB, startPostgres, type DbInstance, type DbKind } from '../test/helpers/db';
import { RealNatsServer } from '../test/helpers/nats-server';
import { READY_RE, spawnServer, type Proc } from '../test/helpers/proc';
import { startupStoreArgs } from '../test/helpers/startup-probe';

const CLUSTER_ID = 'connect-storm';
const CONNECT_TIMEOUT_MS = 2000;
const PING_TIMEOUT_MS = 5000;
const enc = new TextEncoder();

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

function dbArg(): DbKind {
  const i = process.argv.indexOf('--db');
  const v = i > 0 ? process.argv[i + 1] : 'postgres';
  if (v === 'postgres' || v === 'mariadb') return v;
  throw new Error(`--db ${String(v)}: give postgres or mariadb`);
}

const DB_NAMES: Record<DbKind, string> = { postgres: 'PostgreSQL', mariadb: 'MariaDB' };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** One request/answer on our own inbox (no no_responders: a request nobody hears just times out, as with the STAN clients). */
class Requester {
  private next = 0;
  private readonly waiting = new Map<string, (data: Uint8Array) => void>();
  private readonly inbox: string;

  constructor(private readonly nc: NatsConnection) {
    this.inbox = `_INBOX.storm.${Math.random().toString(36).slice(2)}`;
    nc.subscribe(`${this.inbox}.*`, { callback: (_e, m) => this.waiting.get(m.subject)?.(m.data) });
  }

  /** Resolves to the answer's latency in ms, or undefined after `timeoutMs`. */
  request(subject: string, data: Uint8Array, timeoutMs: number, check: (d: Uint8Array) => void): Promise<number | undefined> {
    const reply = `${this.inbox}.${this.next++}`;
    const t0 = performance.now();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(reply);
        resolve(undefined);
      }, timeoutMs);
      this.waiting.set(reply, (d) => {
        clearTimeout(timer);
        this.waiting.delete(reply);
        check(d);
        resolve(performance.now() - t0);
      });
      this.nc.publish(subject, data, { reply });
    });
  }
}

interface Session {
  connID: Uint8Array;
}

function connectRequest(clientID: string, connID: Uint8Array): Uint8Array {
  return ConnectRequestCodec.encode({ clientID, heartbeatInbox: `_HB.storm.${clientID}`, protocol: 1, connID, pingInterval: 5, pingMaxOut: 3 });
}

async function startStan(natsURL: string, store: string[]): Promise<Proc> {
  const proc = spawnServer(['-ns', natsURL, '-cid', CLUSTER_ID, ...store]);
  await proc.waitForLine(READY_RE, { timeoutMs: 60000 });
  return proc;
}

/**
 * Waits until something subscribes the discover subject: the restarted server listens early
 * (it holds requests while it recovers), which is when reconnecting clients reach it. A
 * 503 (no responders) means not yet; an answer or a timeout means a subscriber holds it.
 */
async function untilListening(nc: NatsConnection): Promise<void> {
  const probe = ConnectRequestCodec.encode({ clientID: 'storm-probe', heartbeatInbox: '_HB.storm.probe', protocol: 1, connID: enc.encode('probe') });
  for (;;) {
    try {
      await nc.request(`_STAN.discover.${CLUSTER_ID}`, probe, { timeout: 20, noMux: true });
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== '503') return;
    }
  }
}

async function run(n: number, nats: RealNatsServer, db: DbInstance, runNo: number): Promise<boolean> {
  const store = await startupStoreArgs(db.kind, async () => db);
  const first = await startStan(nats.url, store.first);
  const nc = await natsConnect({ servers: nats.url });
  // Every session answers heartbeats through one wildcard subscription.
  nc.subscribe('_HB.storm.>', { callback: (_e, m) => m.respond(new Uint8Array(0)) });
  const req = new Requester(nc);
  const discover = `_STAN.discover.${CLUSTER_ID}`;
  const sessions: Session[] = [];
  for (let i = 0; i < n; i++) {
    const connID = enc.encode(`old-${runNo}-${i}`);
    const ok = await req.request(discover, connectRequest(`old-${i}`, connID), 10000, () => undefined);
    if (ok === undefined) throw new Error(`registering session ${i} timed out`);
    sessions.push({ connID });
  }
  await first.stop('SIGTERM', 30000);

  const spawnAt = performance.now();
  const restarted = spawnServer(['-ns', nats.url, '-cid', CLUSTER_ID, ...store.args]);
  const listenNc = await natsConnect({ servers: nats.url });
  await untilListening(listenNc);
  const listeningMs = performance.now() - spawnAt;
  const connects: Array<Promise<number | undefined>> = [];
  const pings: Array<Promise<number | undefined>> = [];
  const errors: string[] = [];
  const start = performance.now();
  // 2n requests evenly over 1 s, in 10 ms slices (timers cannot do finer on a busy machine).
  for (let slice = 0; slice < 100; slice++) {
    const lo = Math.floor((slice * n) / 100);
    const hi = Math.floor(((slice + 1) * n) / 100);
    for (let i = lo; i < hi; i++) {
      connects.push(
        req.request(discover, connectRequest(`new-${i}`, enc.encode(`new-${runNo}-${i}`)), CONNECT_TIMEOUT_MS, (d) => {
          const e = ConnectResponseCodec.decode(d).error;
          if (e) errors.push(`connect new-${i}: ${e}`);
        }),
      );
      const s = sessions[i];
      if (s !== undefined) {
        pings.push(
          req.request(`${discover}.pings`, PingCodec.encode({ connID: s.connID }), PING_TIMEOUT_MS, (d) => {
            const e = d.length > 0 ? PingResponseCodec.decode(d).error : '';
            if (e) errors.push(`ping old-${i}: ${e}`);
          }),
        );
      }
    }
    const due = start + (slice + 1) * 10;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const sentMs = performance.now() - start;
  const c = await Promise.all(connects);
  const p = await Promise.all(pings);
  await restarted.waitForLine(READY_RE, { timeoutMs: 60000 }).catch(() => undefined);
  const summary = (name: string, xs: Array<number | undefined>, timeout: number): boolean => {
    const ok = xs.filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    const fmt = (v: number): string => `${v.toFixed(0)} ms`;
    console.log(
      `  ${name.padEnd(8)} ${ok.length}/${xs.length} answered within ${timeout} ms; p50 ${fmt(percentile(ok, 50))}, p90 ${fmt(percentile(ok, 90))}, p99 ${fmt(percentile(ok, 99))}, max ${fmt(ok[ok.length - 1] ?? NaN)}`,
    );
    return ok.length === xs.length;
  };
  console.log(`run ${runNo}: ${n} sessions on ${DB_NAMES[db.kind]}; discover subject subscribed ${listeningMs.toFixed(0)} ms after the restart's spawn; ${2 * n} requests sent in ${sentMs.toFixed(0)} ms`);
  const connectsOk = summary('connects', c, CONNECT_TIMEOUT_MS);
  summary('pings', p, PING_TIMEOUT_MS);
  if (errors.length > 0) console.log(`  ${errors.length} error answers, first: ${errors[0]}`);
  await restarted.stop('SIGTERM', 30000);
  await nc.close();
  await listenNc.close();
  return connectsOk && errors.length === 0;
}

async function main(): Promise<void> {
  const n = arg('clients', 2000);
  const runs = arg('runs', 3);
  const kind = dbArg();
  const db = kind === 'postgres' ? await startPostgres() : await startMariaDB();
  const nats = await RealNatsServer.start();
  let ok = true;
  try {
    for (let r = 1; r <= runs; r++) ok = (await run(n, nats, db, r)) && ok;
  } finally {
    await nats.stop();
    await db.stop();
  }
  if (!ok) {
    console.log('FAILED: some connects were not answered within their timeout');
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
