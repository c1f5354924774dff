/**
 * Runs the "client replaced through another NATS cluster member" scenario (issue 9, item 2;
 * test/helpers/cluster-replace.ts) N times and prints how often sc2 was accepted:
 *
 *   node --import tsx scripts/cluster-replace-rate.ts [--runs 20] [--nats debian|children] [--verbose]
 *
 * `debian`: nodes A and B are two routed Debian nats-server processes. `children`: A and B
 * are our own server run as a user would (`-cid x --cluster …`, `-cid y --cluster … --routes …`),
 * each serving NATS through its nats-server child. Either way the streaming server under
 * test is our server (built, from dist/) with `-ns` A only. Every run starts fresh processes.
 */
import { RealNatsServer, startRoutedPair } from '../test/helpers/nats-server';
import { freePort, READY_RE, spawnServer, type Proc } from '../test/helpers/proc';
import { REPLACED, runReplaceScenario, type ReplaceOutcome } from '../test/helpers/cluster-replace';

interface Node {
  url: string;
  stop(): Promise<void>;
  /** Resolves once the node has a route to its peer. */
  routed(): Promise<unknown>;
}

const ROUTE_RE = /Route connection created/;

async function debianPair(): Promise<[Node, Node]> {
  const pair = await startRoutedPair('replace');
  // Routed already (startRoutedPair waits for it).
  const node = (n: RealNatsServer): Node => ({ url: `nats://localhost:${n.port}`, stop: () => n.stop(), routed: () => Promise.resolve() });
  return [node(pair[0]), node(pair[1])];
}

async function childrenPair(): Promise<[Node, Node]> {
  const [pa, pb, ra, rb] = [await freePort(), await freePort(), await freePort(), await freePort()];
  // As the issue has it: default listen address, `localhost` URLs.
  const x = spawnServer(['-cid', 'x', '-p', String(pa), '--cluster', `nats://localhost:${ra}`, '-D']);
  await x.waitForLine(READY_RE, { timeoutMs: 20000 });
  const y = spawnServer(['-cid', 'y', '-p', String(pb), '--cluster', `nats://localhost:${rb}`, '--routes', `nats://localhost:${ra}`, '-D']);
  await y.waitForLine(READY_RE, { timeoutMs: 20000 });
  const node = (p: Proc, port: number): Node => ({
    url: `nats://localhost:${port}`,
    stop: async () => {
      await p.stop('SIGTERM', 10000).catch(() => p.kill());
    },
    // Our server relays its child's lines (-D: route lines are at debug level there).
    routed: () => p.waitForLine(ROUTE_RE, { timeoutMs: 15000 }),
  });
  return [node(x, pa), node(y, pb)];
}

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

async function oneRun(mode: string, verbose: boolean): Promise<ReplaceOutcome> {
  const [a, b] = mode === 'children' ? await childrenPair() : await debianPair();
  let stan: Proc | undefined;
  try {
    await Promise.all([a.routed(), b.routed()]);
    stan = spawnServer(['-cid', 'rep', '-SD', '-ns', a.url]);
    await stan.waitForLine(READY_RE, { timeoutMs: 20000 });
    const out = await runReplaceScenario({ clusterID: 'rep', clientID: 'id', urlA: a.url, urlB: b.url, stopA: () => a.stop(), settleMs: 12000 });
    if (verbose || !out.sc2Accepted) console.log(stan.output);
    return out;
  } finally {
    await stan?.kill();
    await a.stop();
    await b.stop();
  }
}

async function main(): Promise<void> {
  const runs = Number(arg('runs', '20'));
  const mode = arg('nats', 'debian');
  const verbose = process.argv.includes('--verbose');
  let accepted = 0;
  let pubReplaced = 0;
  let lostReplaced = 0;
  for (let i = 1; i <= runs; i++) {
    const out = await oneRun(mode, verbose);
    if (out.sc2Accepted) accepted++;
    if (out.pubResult === REPLACED) pubReplaced++;
    if (out.connectionLost === REPLACED) lostReplaced++;
    console.log(`run ${i}: ${JSON.stringify(out)}`);
  }
  console.log(`nats=${mode}: sc2 accepted ${accepted}/${runs}; sc1 publish failed "replaced" ${pubReplaced}/${runs}; sc1 connection_lost "replaced" ${lostReplaced}/${runs}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
