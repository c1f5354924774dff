/**
 * The syslog record as the reference's SysLogger (Go's log/syslog) writes it: severities and
 * facility (PRI), the tag, RFC 3339 local timestamps, one record per line.
 */
import * as path from 'node:path';

/** RFC 5424 severities used by the reference's SysLogger. */
export const SEVERITY = { crit: 2, err: 3, warning: 4, notice: 5, debug: 7 } as const;
/** Facility daemon, as the reference's local syslog writer. */
export const FACILITY_DAEMON = 3;
export function priority(severity: number, facility = FACILITY_DAEMON): number {
  return facility * 8 + severity;
}

/**
 * The tag: `--syslog_name` when given, else the executable's base name as the reference
 * (`/usr/bin/nats-streaming-server` → `nats-streaming-server`), without a `.js` suffix.
 * Characters that would break the `tag[pid]:` header (spaces, `:`, `[`, `]`, controls) become `_`.
 */
export function syslogTag(syslogName: string, script: string | undefined = process.argv[1]): string {
  let tag = syslogName;
  if (tag === '') {
    tag = path.basename(script ?? '').replace(/\.(c|m)?js$/, '');
    if (tag === '') tag = 'nats-streaming-server';
  }
  return tag.replace(/[^\x21-\x7e]|[:[\]]/g, '_');
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

/** Go's time.RFC3339 in local time: `2006-01-02T15:04:05+01:00`, `Z` for UTC. */
export function formatRFC3339(d: Date): string {
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${zone}`
  );
}

/** A message is sent as one record per line (stream framing and `logger` are line-based). */
export function messageLines(msg: string): string[] {
  const lines = msg.replace(/\r\n?/g, '\n').split('\n');
  while (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** One remote record, as Go's log/syslog writes it to a network connection. */
export function formatRemoteRecord(pri: number, date: Date, hostname: string, tag: string, pid: number, line: string): string {
  return `<${pri}>${formatRFC3339(date)} ${hostname} ${tag}[${pid}]: ${line}\n`;
}

/** Records longer than this are cut (a UDP datagram holds at most 65507 bytes). */
export const MAX_RECORD_CHARS = 60000;
/** Cuts a record to MAX_RECORD_CHARS. */
export function cut(line: string): string {
  return line.length > MAX_RECORD_CHARS ? line.slice(0, MAX_RECORD_CHARS) : line;
}
