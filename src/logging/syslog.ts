/**
 * Syslog output (`-s/--syslog`, `-r/--remote_syslog`), as the reference's SysLogger (Go's
 * log/syslog under nats-server's logger package) writes it:
 *
 * - severities: notice → notice(5), warn → warning(4), error → err(3), fatal → crit(2),
 *   debug → debug(7), trace → notice(5); facility daemon(3), so PRI = 24 + severity;
 * - no level tag and no timestamp of our own in the message: syslog stamps the record;
 * - tag = the executable's base name (`nats-streaming-server`), or `--syslog_name`;
 * - remote records: `<PRI>2006-01-02T15:04:05+01:00 hostname tag[pid]: message\n`, one
 *   datagram per record over UDP, newline-terminated over TCP (non-transparent framing,
 *   which rsyslog's imtcp and syslog-ng's network() source accept by default).
 *
 * Local records go through util-linux `logger` (syslog-local.ts).
 *
 * Syslog trouble never stops the server: the first failure is reported on stderr, records are
 * dropped (counted, reported at most once a minute) while the target is unavailable, and the
 * connection (or the `logger` child) is retried with a backoff.
 *
 * Files: syslog-target.ts (URLs), syslog-format.ts (records), syslog-sink.ts (what the sinks
 * share), syslog-local.ts and syslog-net.ts (the sinks); this module builds the sink and is
 * the one the rest of the server imports.
 */
import { LoggerChildSink } from './syslog-local';
import { TcpSyslogSink, UdpSyslogSink } from './syslog-net';
import type { SinkOptions, SyslogSink } from './syslog-sink';
import type { SyslogTarget } from './syslog-target';

export { FACILITY_DAEMON, formatRemoteRecord, formatRFC3339, messageLines, priority, SEVERITY, syslogTag } from './syslog-format';
export { DEFAULT_SYSLOG_PORT, DEFAULT_SYSLOG_SOCKET, describeTarget, parseRemoteSyslogURL, SYSLOG_SOCKET_ENV, SyslogURLError } from './syslog-target';
export type { SyslogTarget } from './syslog-target';
export { stderrReporter } from './syslog-sink';
export type { Reporter, SinkOptions, SyslogSink } from './syslog-sink';
export { LoggerChildSink } from './syslog-local';
export { TcpSyslogSink, UdpSyslogSink } from './syslog-net';

export type SyslogChoice = { kind: 'local'; socketPath: string } | { kind: 'remote'; target: SyslogTarget };

/** Builds the sink for `-s` (local) or `-r` (remote). */
export function createSyslogSink(choice: SyslogChoice, opts: SinkOptions): SyslogSink {
  if (choice.kind === 'local') return new LoggerChildSink(choice.socketPath, opts);
  const t = choice.target;
  if (t.kind === 'unix') return new LoggerChildSink(t.path, opts);
  if (t.kind === 'udp') return new UdpSyslogSink(t, opts);
  return new TcpSyslogSink(t, opts);
}
