/**
 * `npm run bench -- --rss [N]`: the server's resident memory with N stored messages.
 *
 * Per run: a fresh server and store; its RSS once idle; N 128-byte messages published with
 * our load generator (async, one publisher, no subscriber); RSS once the commits settled; N
 * more; RSS again. Issue 12's goal compares the RSS at N = 100,000 with the reference, and
 * asks it to stay flat with the stored count on FILE and SQL (so the 2N column must not grow
 * there). "Settled" means the RSS stopped moving (two samples 500 ms apart within 1%, or 10 s),
 * because the server keeps committing and collecting garbage after the last PubAck. "At rest"
 * is the RSS REST_MS after the last PubAck: the executable gives V8's young generation back
 * once it has been quiet for ~8 s (src/cli/idle-memory.ts), which the settled figure, read
 * within a second or two of the burst, does not show.
 */
import { nuid } from 'nats';
import type { Options } from './options';
import type { StoreEnv } from './env';
import { runLoadgen } from './loadrun';
import { k, loadavg, mb, median, printTable, readStatusKB, sleep, startServer, stopServer } from './server-proc';

/** When the at-rest RSS is read, after the last PubAck of a fill. */
const REST_MS = 30_000;

interface RssResult {
  idleKB: number;
  atNKB: number;
  restNKB: number;
  at2NKB: number;
  rest2NKB: number;
  peakKB: number;
}

async function settledRss(pid: number): Promise<number> {
  let prev = readStatusKB(pid, 'VmRSS');
  for (let i = 0; i < 20; i++) {
    await sleep(500);
    const v = readStatusKB(pid, 'VmRSS');
    if (Math.abs(v - prev) <= prev * 0.01) return v;
    prev = v;
  }
  return prev;
}

export async function runRss(o: Options, env: StoreEnv, log: (l: string) => void): Promise<void> {
  const n = o.rss;
  const nodeArgs = o.nodeArgs.length ? ` (node ${o.nodeArgs.join(' ')})` : '';
  log(`RSS: ${n} and ${2 * n} stored ${o.size}-byte msgs, one channel, no subscriber${nodeArgs}`);
  const results: RssResult[] = [];
  for (let i = 1; i <= o.runs; i++) {
    const inst = await env.fresh();
    const s = await startServer({ args: [...inst.args, ...o.serverArgs], nodeArgs: o.nodeArgs });
    try {
      const la = loadavg();
      const idleKB = await settledRss(s.pid);
      const subject = `bench.rss.${nuid.next()}`;
      const fill = () => runLoadgen({ kind: 'ours', url: s.url, subject, msgs: n, pubs: 1, subs: 0, sync: false, size: o.size, mpa: o.mpa, stanBench: null });
      const fillAndRead = async (): Promise<[number, number]> => {
        await fill();
        const filled = Date.now();
        const settled = await settledRss(s.pid);
        await sleep(Math.max(0, filled + REST_MS - Date.now()));
        return [settled, readStatusKB(s.pid, 'VmRSS')];
      };
      const [atNKB, restNKB] = await fillAndRead();
      const [at2NKB, rest2NKB] = await fillAndRead();
      const r = { idleKB, atNKB, restNKB, at2NKB, rest2NKB, peakKB: readStatusKB(s.pid, 'VmHWM') };
      results.push(r);
      log(
        `  run ${i}: idle ${mb(r.idleKB)}, ${k(n)} stored ${mb(r.atNKB)} (at rest ${mb(r.restNKB)}), ` +
          `${k(2 * n)} stored ${mb(r.at2NKB)} (at rest ${mb(r.rest2NKB)}), peak ${mb(r.peakKB)}  load ${la}`,
      );
    } finally {
      await stopServer(s);
      await inst.close();
    }
  }
  log('');
  const med = (f: (r: RssResult) => number): string => `${mb(median(results.map(f)))} (${Math.round(median(results.map(f)))} KB)`;
  printTable(
    [
      ['store', 'idle', `${k(n)} stored`, `${k(n)} at rest`, `${k(2 * n)} stored`, `${k(2 * n)} at rest`, 'peak (VmHWM)'],
      [env.label, med((r) => r.idleKB), med((r) => r.atNKB), med((r) => r.restNKB), med((r) => r.at2NKB), med((r) => r.rest2NKB), med((r) => r.peakKB)],
    ],
    (c) => c >= 1,
    log,
  );
}
