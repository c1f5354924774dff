/** Runs a load generator (ours or the Go stan-bench) as a child process and parses its report. */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { CLUSTER_ID } from './server-proc';

const LOADGEN = path.join(__dirname, 'loadgen.js');
const RUN_TIMEOUT_MS = 300_000;

export type LoadgenKind = 'ours' | 'stan-bench';

export interface LoadgenRun {
  kind: LoadgenKind;
  url: string;
  subject: string;
  msgs: number;
  pubs: number;
  subs: number;
  sync: boolean;
  size: number;
  mpa: number;
  stanBench: string | null;
  /** STAN client ID prefix (loadgens running at the same time need different ones). */
  clientID?: string;
}

export function runLoadgen(r: LoadgenRun): Promise<string> {
  const args = ['-s', r.url, '-c', CLUSTER_ID, '-np', String(r.pubs), '-ns', String(r.subs), '-n', String(r.msgs), '-ms', String(r.size)];
  args.push('-mpa', String(r.mpa));
  if (r.clientID !== undefined) args.push('-id', r.clientID);
  if (r.sync) args.push('-sync');
  args.push(r.subject);
  const [cmd, full] = r.kind === 'ours' ? [process.execPath, [LOADGEN, ...args]] : [r.stanBench ?? 'stan-bench', args];
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, full, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    p.stderr.on('data', (b: Buffer) => (out += b.toString('utf8')));
    const timer = setTimeout(() => p.kill('SIGKILL'), RUN_TIMEOUT_MS);
    p.once('error', reject);
    p.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${r.kind} exited with code ${code}:\n${out.slice(-4000)}`));
    });
  });
}

/** Parses stan-bench style report lines (ours prints the same). */
export function parseReport(out: string): { pub: number; sub: number; total: number } {
  const rate = (label: string): number => {
    const m = new RegExp(`^\\s*${label} stats: ([\\d,.]+) msgs/sec`, 'm').exec(out);
    return m ? Number(m[1].replace(/,/g, '')) : 0;
  };
  const pub = rate('Pub');
  const sub = rate('Sub');
  const both = rate('NATS Streaming Pub/Sub');
  if (pub === 0 && sub === 0) throw new Error(`no stats in load generator output:\n${out}`);
  return { pub, sub, total: both || pub || sub };
}

