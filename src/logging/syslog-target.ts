/**
 * Where syslog records go: `--remote_syslog` URLs (`udp://`, `tcp://`, `unix://`, bare
 * `host[:port]`) and the local syslog socket.
 */
import { StanServerError } from '../errors';

/** Default syslog port when `-r` gives none. */
export const DEFAULT_SYSLOG_PORT = 514;
/** The local syslog socket; STAN_SYSLOG_SOCKET overrides it (tests, unusual systems). */
export const DEFAULT_SYSLOG_SOCKET = '/dev/log';
export const SYSLOG_SOCKET_ENV = 'STAN_SYSLOG_SOCKET';

export type SyslogTarget =
  | { kind: 'udp' | 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string };

export class SyslogURLError extends StanServerError {
  override readonly kind = 'configuration' as const;
  constructor(message: string) {
    super(message);
    this.name = 'SyslogURLError';
  }
}

/**
 * Parses `--remote_syslog`: `udp://host[:port]`, `tcp://host[:port]`, `unix:///path`, or a
 * bare `host[:port]` (UDP). The port defaults to 514. The reference requires the scheme and
 * the port; accepting less is an extension.
 */
export function parseRemoteSyslogURL(raw: string): SyslogTarget {
  const s = raw.trim();
  const bad = (why: string): SyslogURLError => new SyslogURLError(`invalid --remote_syslog ${JSON.stringify(raw)}: ${why}`);
  if (s === '') throw bad('empty address');
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(s);
  const scheme = m ? (m[1] ?? '').toLowerCase() : 'udp';
  if (scheme !== 'udp' && scheme !== 'tcp' && scheme !== 'unix') {
    throw bad(`unsupported network type ${JSON.stringify(scheme)} (use udp://host:port, tcp://host:port or unix:///path)`);
  }
  let u: URL;
  try {
    u = new URL(m ? `${scheme}${s.slice(scheme.length)}` : `udp://${s}`);
  } catch {
    throw bad('not a valid URL');
  }
  if (u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') throw bad('unexpected user, query or fragment');
  if (scheme === 'unix') {
    let p: string;
    try {
      p = decodeURIComponent(u.pathname);
    } catch {
      throw bad('bad percent-encoding in the path');
    }
    if (u.host !== '') throw bad('a unix socket URL has no host (unix:///path/to/socket)');
    if (p === '' || p === '/') throw bad('missing socket path (unix:///path/to/socket)');
    return { kind: 'unix', path: p };
  }
  let host = u.hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === '') throw bad('missing host');
  if (u.pathname !== '' && u.pathname !== '/') throw bad(`unexpected path ${JSON.stringify(u.pathname)}`);
  const port = u.port === '' ? DEFAULT_SYSLOG_PORT : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`invalid port ${JSON.stringify(u.port)}`);
  return { kind: scheme, host, port };
}

export function describeTarget(t: SyslogTarget): string {
  if (t.kind === 'unix') return `unix://${t.path}`;
  return `${t.kind}://${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
}
