/**
 * The CPU of a restart with many subscriptions, without a database: the steps a SQL/FILE
 * store and the core run between reading the snapshot and serving, on a synthetic state
 * shaped like the scale scenario (`--scale`: 100 clients, 1,000 channels, half durables, a
 * quarter queue members, a quarter durable queue members).
 *
 *   node dist/src/bench/recovery-bench.js [--subs 60000] [--channels 1000] [--clients 100]
 *   node --cpu-prof dist/src/bench/recovery-bench.js      # profile of the same steps
 *
 * One restart per process (a second one in the same process would find V8's heap already
 * grown): run it several times. Prints the time of each step, the GC time within them
 * (PerformanceObserver 'gc' entries), the process's CPU time over them (all threads: the GC's
 * helpers too; steadier than wall-clock time on a loaded machine) and the heap left behind after a full GC when node runs
 * with --expose-gc.
 */
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { defaultNatsServerOptions, defaultStreamingOptions } from '../config/options';
import { silentLogger } from '../logging/logger';
import { connectInProcess, EmbeddedNatsServer, nuid } from '../nats/embedded';
import type { ClientInfo, SubState } from '../protocol/codec';
import { StanCore } from '../stan/core';
import { serverSubjects } from '../stan/subjects';
import type { RecoveredState } from '../store/contract';
import { MemoryStore } from '../store/memory';
import { emptyState, type ChannelProjection, type ProjectedState } from '../store/events/projection';
import { decodeSnapshot, encodeSnapshot } from '../store/events/snapshot';
import { toRecovered } from '../store/events/to-recovered';


function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/** The scale scenario's state (src/bench/persist.ts runScale), every client online. */
function scaleState(nSubs: number, nChannels: number, nClients: number, clusterID: string): ProjectedState {
  const st = emptyState();
  const subj = serverSubjects(clusterID, '_STAN.discover');
  st.serverInfo = { ...subj, NodeID: '' };
  for (let c = 0; c < nClients; c++) {
    const info: ClientInfo = { ID: `scale-${c}`, HbInbox: `_INBOX.${nuid()}`, ConnID: new Uint8Array(22).fill(65 + (c % 26)), Protocol: 1, PingInterval: 5, PingMaxOut: 3 };
    st.clients.set(info.ID, info);
  }
  for (let i = 0; i < nChannels; i++) {
    const ch: ChannelProjection = { id: i + 1, name: `scale.${i}`, firstSeq: 0, lastSeq: 0, msgCount: 0, byteCount: 0, subs: new Map() };
    st.channels.set(ch.id, ch);
    st.channelIDsByName.set(ch.name, ch.id);
  }
  st.nextChannelID = nChannels + 1;
  const perClient = Math.ceil(nSubs / nClients);
  let id = 0;
  for (let n = 0; n < nSubs; n++) {
    const c = Math.floor(n / perClient);
    const j = n % perClient;
    const kind = j % 4;
    const s: SubState = {
      ID: ++id,
      clientID: `scale-${c}`,
      qGroup: kind === 2 ? `q${c % 10}` : kind === 3 ? `dq${c % 10}` : '',
      inbox: `_INBOX.scale.${c}.${j}`,
      ackInbox: `_INBOX.${nuid()}`,
      maxInFlight: 1024,
      ackWaitInSecs: 30,
      durableName: kind < 2 ? `d${j}` : kind === 3 ? `dq${c % 10}` : '',
      lastSent: 0,
      isDurable: kind !== 2,
      isClosed: false,
    };
    const ch = st.channels.get(((c * 31 + j) % nChannels) + 1) as ChannelProjection;
    ch.subs.set(s.ID, { state: s, pending: new Set() });
  }
  st.nextSubID = id + 1;
  return st;
}

async function main(): Promise<void> {
  const nSubs = arg('--subs', 60_000);
  const opts = defaultStreamingOptions();
  opts.storeLimits.maxChannels = 0; // unlimited, as the scale scenario runs (-mc 0)
  const body = encodeSnapshot(scaleState(nSubs, arg('--channels', 1000), arg('--clients', 100), opts.clusterID));
  let gcMs = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  obs.observe({ entryTypes: ['gc'] });
  const store = new MemoryStore(opts.storeLimits);
  const server = EmbeddedNatsServer.create(defaultNatsServerOptions(), silentLogger);
  const nc = connectInProcess(server, 'bench');
  const core = new StanCore(opts, store, nc, silentLogger);

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const state = decodeSnapshot(body);
  const t1 = performance.now();
  const rec = toRecovered(state);
  const t2 = performance.now();
  const recovered: RecoveredState = {
    info: rec.info,
    clients: rec.clients,
    channels: rec.channels.map((rc) => ({ channel: store.createChannel(rc.name), subs: rc.subs })),
  };
  const t3 = performance.now();
  core.recover(recovered);
  const t4 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  // The gc entries are delivered asynchronously.
  await new Promise((r) => setTimeout(r, 50));
  const f = (ms: number): string => ms.toFixed(0).padStart(5);
  const g = (globalThis as { gc?: () => void }).gc;
  let heap = '';
  if (g) {
    g();
    heap = `  heap after gc ${(process.memoryUsage().heapUsed / 1048576).toFixed(1)} MB (state kept: ${state.channels.size} channels)`;
  }
  console.log(
    `${nSubs} subs, snapshot ${(body.length / 1048576).toFixed(1)} MB: decode ${f(t1 - t0)} ms, toRecovered ${f(t2 - t1)}, channels ${f(t3 - t2)}, ` +
      `core ${f(t4 - t3)}, total ${f(t4 - t0)} ms, of which GC ${f(gcMs)} ms; process CPU ${f((cpu.user + cpu.system) / 1000)} ms${heap}`,
  );
  obs.disconnect();
  await core.shutdown();
  await nc.close();
  await server.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
