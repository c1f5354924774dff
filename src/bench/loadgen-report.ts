/** The load generator's samples, rates and report (stan-bench's format). */

export interface Sample {
  msgs: number;
  bytes: number;
  startNs: bigint;
  endNs: bigint;
}

export interface LoadResult {
  pubs: Sample[];
  subs: Sample[];
  /** Aggregate rates, msgs/s, computed like the Go `bench` package. */
  pubRate: number;
  subRate: number;
  totalRate: number;
  errors: string[];
}

/** The samples' messages and the span from the first start to the last end. */
function extent(samples: Sample[]): { msgs: number; start: bigint; end: bigint } {
  let msgs = 0;
  let start = samples[0].startNs;
  let end = samples[0].endNs;
  for (const s of samples) {
    msgs += s.msgs;
    if (s.startNs < start) start = s.startNs;
    if (s.endNs > end) end = s.endNs;
  }
  return { msgs, start, end };
}

export function groupRate(samples: Sample[]): number {
  if (samples.length === 0) return 0;
  const { msgs, start, end } = extent(samples);
  const secs = Number(end - start) / 1e9;
  return secs > 0 ? msgs / secs : 0;
}

function fmtDuration(ns: bigint): string {
  const ms = Number(ns) / 1e6;
  return ms >= 1000 ? `${(ms / 1000).toFixed(6)}s` : `${ms.toFixed(6)}ms`;
}

function statLine(samples: Sample[], rate: number, size: number): string {
  const { msgs, start, end } = extent(samples);
  const mb = (rate * size) / (1024 * 1024);
  return `${Math.round(rate)} msgs/sec ~ ${mb.toFixed(2)} MB/sec (${msgs} msgs in ${fmtDuration(end - start)})`;
}

function sampleRate(s: Sample): number {
  const secs = Number(s.endNs - s.startNs) / 1e9;
  return secs > 0 ? s.msgs / secs : 0;
}

/** The report, in stan-bench's format. */
export function formatReport(r: LoadResult, size: number): string {
  const lines: string[] = [];
  let indent = '';
  if (r.pubs.length > 0 && r.subs.length > 0) {
    lines.push(`NATS Streaming Pub/Sub stats: ${statLine([...r.pubs, ...r.subs], r.totalRate, size)}`);
    indent = ' ';
  }
  const group = (name: string, samples: Sample[], rate: number): void => {
    if (samples.length === 0) return;
    lines.push(`${indent}${name} stats: ${statLine(samples, rate, size)}`);
    if (samples.length > 1) {
      const rates = samples.map(sampleRate);
      samples.forEach((s, i) => lines.push(`${indent} [${i + 1}] ${statLine([s], rates[i], size)}`));
      const avg = rates.reduce((a, b) => a + b, 0) / rates.length;
      const sd = Math.sqrt(rates.reduce((a, b) => a + (b - avg) ** 2, 0) / rates.length);
      lines.push(
        `${indent} min ${Math.round(Math.min(...rates))} | avg ${Math.round(avg)} | max ${Math.round(Math.max(...rates))} | stddev ${Math.round(sd)} msgs`,
      );
    }
  };
  group('Pub', r.pubs, r.pubRate);
  group('Sub', r.subs, r.subRate);
  return lines.join('\n');
}
