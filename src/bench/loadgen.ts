/**
 * A lean STAN load generator over nats.js v2, command-line compatible with the Go `stan-bench`
 * (nats-io/stan.go examples/stan-bench) so `npm run bench` works without the Go tool:
 *
 *   node dist/src/bench/loadgen.js -s nats://127.0.0.1:4222 [-c CLUSTER_ID] [-id CLIENT_ID]
 *        -np PUBS -ns SUBS -n MSGS -ms SIZE [-sync] [-mpa MAX_PUBACKS_INFLIGHT] [--json] SUBJECT
 *
 * It prints the same report lines as stan-bench (`Pub stats: 272419 msgs/sec ~ 33.25 MB/sec ...`),
 * plus one `JSON: {...}` line with `--json`.
 *
 * Semantics follow stan-bench: the N messages are split between the publishers, every subscriber
 * (DeliverAllAvailable, MaxInflight 1024, AckWait 30s, auto-ack) expects all N messages, a
 * publisher's time runs from its first publish to its last PubAck, a subscriber's from its first
 * to its last message, and a group's rate is its messages over (last end - first start).
 * `-mpa` defaults to 512 like stan-bench (the Go client's own default, used by applications, is
 * 16384 — DefaultMaxPubAcksInflight in stan.go).
 *
 * Hot path (publish, PubAck, MsgProto, Ack) is hand-encoded: every PubMsg of a publisher is the
 * same bytes except its 22-byte guid, so a template is copied into a preallocated slab and only
 * the guid's counter digits are rewritten; PubAcks are matched to guids by the counter embedded
 * in the guid (no per-message Map entry, closure or promise in async mode). nats.js queues the
 * slab slices and coalesces them into one socket write per microtask / 32 KB.
 *
 * Files: loadgen-args.ts (command line), loadgen-wire.ts (hand-encoded protobuf),
 * loadgen-clients.ts (STAN connection, publisher, subscriber), loadgen-report.ts (rates and
 * report); this module runs them and is the executable.
 */
import { errorText } from '../errors';
import { parseArgs } from './loadgen-args';
import { Publisher, stanClose, stanConnect, Subscriber, type StanConn } from './loadgen-clients';
import { formatReport, groupRate, type LoadResult } from './loadgen-report';
import type { LoadOptions } from './loadgen-args';

export { GO_CLIENT_DEFAULT_MPA, parseArgs, STAN_BENCH_DEFAULT_MPA, type LoadOptions } from './loadgen-args';
export { formatReport, type LoadResult, type Sample } from './loadgen-report';

/** Splits n messages between p publishers like nats.go bench.MsgsPerClient. */
export function msgsPerClient(n: number, p: number): number[] {
  const counts: number[] = [];
  if (p <= 0) return counts;
  const base = Math.floor(n / p);
  const extra = n % p;
  for (let i = 0; i < p; i++) counts.push(base + (i < extra ? 1 : 0));
  return counts;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const errors: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`load generator timed out after ${o.timeoutMs} ms`)), o.timeoutMs);
  });
  const conns: StanConn[] = [];
  try {
    const subscribers: Subscriber[] = [];
    for (let i = 0; i < o.subs; i++) {
      const sc = await stanConnect(o.url, o.clusterID, `${o.clientID}-sub-${i}`);
      conns.push(sc);
      const s = new Subscriber(sc, o.subject, o.msgs);
      await s.subscribe();
      subscribers.push(s);
    }
    const publishers: Publisher[] = [];
    const counts = msgsPerClient(o.msgs, o.pubs);
    for (let i = 0; i < o.pubs; i++) {
      const sc = await stanConnect(o.url, o.clusterID, `${o.clientID}-pub-${i}`);
      conns.push(sc);
      publishers.push(new Publisher(sc, o.subject, counts[i], o.size, o.maxPubAcksInFlight));
    }
    const pubDone = Promise.all(publishers.map((p) => p.run(o.sync)));
    const subDone = Promise.all(subscribers.map((s) => s.wait()));
    const [pubs, subs] = await Promise.race([Promise.all([pubDone, subDone]), timeout]);
    for (const p of publishers) errors.push(...p.errors);
    for (const s of subscribers) errors.push(...s.errors);
    for (const s of pubs) s.bytes = s.msgs * o.size;
    for (const s of subs) s.bytes = s.msgs * o.size;
    for (const s of subscribers) await s.close();
    const all = [...pubs, ...subs];
    return { pubs, subs, pubRate: groupRate(pubs), subRate: groupRate(subs), totalRate: groupRate(all), errors };
  } finally {
    if (timer) clearTimeout(timer);
    for (const sc of conns) await stanClose(sc).catch(() => undefined);
  }
}

export async function main(argv: string[]): Promise<number> {
  let o: ReturnType<typeof parseArgs>;
  try {
    o = parseArgs(argv);
  } catch (err) {
    process.stderr.write(`${errorText(err)}\n`);
    return 2;
  }
  process.stdout.write(`Starting benchmark [msgs=${o.msgs}, msgsize=${o.size}, pubs=${o.pubs}, subs=${o.subs}]\n`);
  let r: LoadResult;
  try {
    r = await runLoad(o);
  } catch (err) {
    process.stderr.write(`loadgen: ${errorText(err)}\n`);
    return 1;
  }
  process.stdout.write(`${formatReport(r, o.size)}\n`);
  if (o.json) {
    process.stdout.write(
      `JSON: ${JSON.stringify({ pubRate: r.pubRate, subRate: r.subRate, totalRate: r.totalRate, errors: r.errors })}\n`,
    );
  }
  if (r.errors.length > 0) {
    process.stderr.write(`loadgen: ${r.errors.length} error(s), first: ${r.errors[0]}\n`);
    return 1;
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`loadgen: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
