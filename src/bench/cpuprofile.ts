/**
 * Summarises a V8 `.cpuprofile` (written by `node --cpu-prof`): self time per function and per
 * source file / area, so a profile can be read without DevTools.
 *
 *   node dist/src/bench/cpuprofile.js FILE.cpuprofile [TOP_N]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  ms: number;
  pct: number;
}
export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  functions: ProfileEntry[];
  files: ProfileEntry[];
  /** Every sample charged to its nearest ancestor frame in the project's own code (dist/). */
  project: ProfileEntry[];
  /** Self time by area: npm package (knex, pg, mysql2, nats…), project folder, GC, node internals. */
  areas: ProfileEntry[];
}

/** `knex`, `pg-protocol`, `@scope/pkg`, `dist/src/store`, `node:internal`, `(garbage collector)`… */
function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native/builtin)';
  const u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = u.slice(nm + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  const dist = u.lastIndexOf('/dist/');
  if (dist >= 0) return path.dirname(u.slice(dist + 1));
  if (u.startsWith('node:')) return u.split('/').slice(0, 2).join('/');
  return path.basename(u);
}

function shortUrl(url: string): string {
  if (url === '') return '';
  let u = url.replace(/^file:\/\//, '');
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) return u.slice(nm + 'node_modules/'.length);
  const dist = u.lastIndexOf('/dist/');
  if (dist >= 0) return u.slice(dist + 1);
  if (u.startsWith('node:')) return u;
  u = path.basename(u);
  return u;
}

export function summarise(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const frameKey = (cf: CallFrame): string => {
    const url = shortUrl(cf.url);
    return url ? `${cf.functionName || '(anonymous)'}  ${url}:${cf.lineNumber + 1}` : cf.functionName || '(anonymous)';
  };
  const projectFrame = (id: number): string => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (n && n.callFrame.url.includes('/dist/')) return frameKey(n.callFrame);
    }
    const n = byId.get(id);
    return n ? `(outside project) ${frameKey(n.callFrame)}` : '(unknown)';
  };
  const proj = new Map<string, number>();
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    // timeDeltas[i] is the time before sample i; attribute the next delta to this sample.
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const cf = node.callFrame;
    total += us;
    if (cf.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const url = shortUrl(cf.url);
    const key = frameKey(cf);
    fn.set(key, (fn.get(key) ?? 0) + us);
    const pk = cf.functionName === '(garbage collector)' || cf.functionName === '(program)' ? cf.functionName : projectFrame(id);
    proj.set(pk, (proj.get(pk) ?? 0) + us);
    const area = url ? url : cf.functionName.startsWith('(') ? cf.functionName : '(native/builtin)';
    file.set(area, (file.get(area) ?? 0) + us);
    const ar = areaOf(cf.url, cf.functionName);
    areas.set(ar, (areas.get(ar) ?? 0) + us);
  }
  const busy = total - idle;
  const toEntries = (m: Map<string, number>): ProfileEntry[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, pct: busy > 0 ? (100 * us) / busy : 0 }));
  return { totalMs: total / 1000, idleMs: idle / 1000, functions: toEntries(fn), files: toEntries(file), project: toEntries(proj), areas: toEntries(areas) };
}

export function formatSummary(s: ProfileSummary): string {
  const lines: string[] = [];
  lines.push(
    `profile: ${s.totalMs.toFixed(0)} ms sampled, ${(s.totalMs - s.idleMs).toFixed(0)} ms busy (${s.idleMs.toFixed(0)} ms idle); % of busy time`,
  );
  lines.push('  self time by area (package / project folder / GC):');
  for (const e of s.areas) lines.push(`    ${e.pct.toFixed(1).padStart(5)}%  ${e.ms.toFixed(1).padStart(8)} ms  ${e.name}`);
  lines.push('  top self time by function:');
  for (const e of s.functions) lines.push(`    ${e.pct.toFixed(1).padStart(5)}%  ${e.ms.toFixed(1).padStart(8)} ms  ${e.name}`);
  lines.push('  time charged to the nearest project function (its own code + the node/builtin calls it makes):');
  for (const e of s.project) lines.push(`    ${e.pct.toFixed(1).padStart(5)}%  ${e.ms.toFixed(1).padStart(8)} ms  ${e.name}`);
  lines.push('  self time by file:');
  for (const e of s.files) lines.push(`    ${e.pct.toFixed(1).padStart(5)}%  ${e.ms.toFixed(1).padStart(8)} ms  ${e.name}`);
  return lines.join('\n');
}

export function summariseFile(file: string, top = 25): ProfileSummary {
  return summarise(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile, top);
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: cpuprofile FILE.cpuprofile [TOP_N]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatSummary(summariseFile(file, Number(process.argv[3] ?? 25)))}\n`);
}

/** Prints the self-time summary of the newest .cpuprofile in `dir`. */
export function printProfile(dir: string, log: (l: string) => void): void {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  if (files.length === 0) {
    log(`  (no .cpuprofile written in ${dir})`);
    return;
  }
  const file = path.join(dir, files.sort().at(-1) ?? files[0]);
  log(`  server CPU profile ${file}:`);
  log(
    formatSummary(summariseFile(file, 20))
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n'),
  );
}
