/**
 * Restart of one store with many durables, alternately by two builds (before/after a change):
 * one store filled once with the scale scenario, then restarted N times by each build in turn
 * (a, b, a, b, ...), after a clean stop or a crash. Prints process start -> first answered STAN
 * connect and the server CPU until then, per run and as medians.
 *
 *   node dist/src/bench/restart-alternate.js --a /work/wt/base/bin/nats-streaming-server.js \
 *     [--b bin/nats-streaming-server.js] [--store sql|file] [--subs 60000] [--runs 5] [--crash]
 */
import { performance } from 'node:perf_hooks';
import { connect, type NatsConnection } from 'nats';
import { openEnv, type StoreKind } from './env';
import { loadavg, median, SERVER_BIN, startServer, stopServer, type RunningServer } from './server-proc';
import { RawStanClient } from './stan-raw';

function opt(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

async function fill(url: string, total: number, channels: number): Promise<NatsConnection[]> {
  const conns: NatsConnection[] = [];
  for (let i = 0; i < 4; i++) conns.push(await connect({ servers: url, maxReconnectAttempts: 0, timeout: 10_000 }));
  const nClients = 100;
  const clients: RawStanClient[] = [];
  for (let c = 0; c < nClients; c++) clients.push(await RawStanClient.connect(conns[c % conns.length], `scale-${c}`));
  const perClient = Math.ceil(total / nClients);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < total; i = next++) {
      const c = Math.floor(i / perClient);
      const j = i % perClient;
      const kind = j % 4;
      const req = kind < 2 ? { durableName: `d${j}` } : kind === 2 ? { qGroup: `q${c % 10}` } : { qGroup: `dq${c % 10}`, durableName: `dq${c % 10}` };
      await clients[c].subscribe({ subject: `scale.${(c * 31 + j) % channels}`, inbox: `_INBOX.scale.${c}.${j}`, startPosition: 0, ...req });
    }
  };
  await Promise.all(Array.from({ length: 200 }, worker));
  return conns;
}

async function main(): Promise<void> {
  const builds = [opt('--a', ''), opt('--b', SERVER_BIN)];
  if (!builds[0]) throw new Error('--a BIN (the build to compare with) is required');
  const kind = opt('--store', 'sql') as StoreKind;
  const subs = Number(opt('--subs', '60000'));
  const runs = Number(opt('--runs', '5'));
  const crash = process.argv.includes('--crash');
  const env = await openEnv(kind, 'postgres', null, (l) => console.log(l));
  const inst = await env.fresh();
  const args = [...inst.args, '-mc', '0'];
  let s: RunningServer = await startServer({ args, bin: builds[0], timeoutMs: 120_000 });
  const t0 = performance.now();
  const conns = await fill(s.url, subs, 1000);
  console.log(`filled ${subs} subscriptions in ${((performance.now() - t0) / 1000).toFixed(1)} s (load ${loadavg()})`);
  const res: { wall: number[]; cpu: number[] }[] = [
    { wall: [], cpu: [] },
    { wall: [], cpu: [] },
  ];
  try {
    for (let r = 0; r < runs; r++) {
      for (let b = 0; b < 2; b++) {
        await stopServer(s, crash ? 'SIGKILL' : 'SIGINT');
        s = await startServer({ args, bin: builds[b], port: s.port, timeoutMs: 120_000 });
        res[b].wall.push(s.stanReadyMs);
        res[b].cpu.push(s.cpuAtReadyMs);
        console.log(`run ${r} ${b === 0 ? 'a' : 'b'}: ${s.stanReadyMs.toFixed(0)} ms, server CPU ${s.cpuAtReadyMs.toFixed(0)} ms  (load ${loadavg()})`);
        // Something to recover from the log after a crash: the server's own clean-up events and heartbeats.
        await new Promise((x) => setTimeout(x, 300));
      }
    }
  } finally {
    await stopServer(s, 'SIGINT');
    for (const c of conns) await c.close().catch(() => undefined);
    await inst.close();
    await env.close();
  }
  for (let b = 0; b < 2; b++) {
    console.log(`${b === 0 ? 'a' : 'b'} (${builds[b]}): median ${median(res[b].wall).toFixed(0)} ms, server CPU ${median(res[b].cpu).toFixed(0)} ms; runs ${res[b].wall.map((x) => x.toFixed(0)).join(' ')}`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
