/**
 * SIGHUP configuration reload of a running streaming server (spec stan §9).
 *
 * Only the embedded NATS server's runtime-changeable options are applied (authorization,
 * permissions, -D/-V; see nats/embedded/reload.ts). Every other difference between the
 * running and the re-read configuration is logged as a warning naming the option, and
 * keeps its running value until a restart. An invalid new authorization is logged as an
 * error and nothing is applied. With an external NATS server (`-ns`) nothing is reloaded.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ServerOptions } from '../config/options';
import type { Logger } from '../logging/logger';
import { AuthConfigError } from '../nats/embedded';
import type { EmbeddedNatsServer } from '../nats/embedded';
import type { ChildNatsServer } from '../nats/child-server';
import { childClientAuth } from '../nats/child-config';
import { changedKeys, copyOption } from '../nats/embedded';
import { errorText } from '../errors';

export const RELOAD_EXTERNAL_WARNING = "Reload supported only for embedded NATS Server's configuration";

/** Operator-facing names (flag / config key) of option fields; others show their field path. */
const NAMES: Record<string, string> = {
  'nats.host': 'addr',
  'nats.port': 'port',
  'nats.httpHost': 'http host',
  'nats.httpPort': 'http_port',
  'nats.httpsPort': 'https_port',
  'nats.pidFile': 'pid',
  'nats.logFile': 'log',
  'nats.logtime': 'logtime',
  'nats.logJSON': 'log_json',
  'nats.syslog': 'syslog',
  'nats.remoteSyslog': 'remote_syslog',
  'nats.tls': 'tls',
  'nats.routes': 'routes',
  'nats.cluster': 'cluster',
  'nats.clusterBlock': 'cluster',
  'nats.maxPayload': 'max_payload',
  'nats.maxControlLine': 'max_control_line',
  'nats.maxPending': 'max_pending',
  'nats.maxConnections': 'max_connections',
  'nats.maxSubscriptions': 'max_subscriptions',
  'nats.pingInterval': 'ping_interval',
  'nats.pingMax': 'ping_max',
  'nats.writeDeadline': 'write_deadline',
  'nats.username': 'user',
  'nats.password': 'pass',
  'nats.authorization': 'auth (token)',
  'nats.users': 'authorization users',
  'nats.defaultPermissions': 'authorization default_permissions',
  'nats.noAuthUser': 'no_auth_user',
  'nats.authTimeout': 'authorization timeout',
  'nats.debug': 'debug (-D)',
  'nats.trace': 'trace (-V)',
  'streaming.clusterID': 'cluster_id',
  'streaming.syslogName': 'syslog_name',
  'streaming.storeType': 'store',
  'streaming.filestoreDir': 'dir',
  'streaming.storeLimits': 'store_limits',
  'streaming.sql': 'sql_options',
  'streaming.file': 'file_options',
  'streaming.natsServerURL': 'nats_server',
  'streaming.ftGroupName': 'ft_group',
  'streaming.debug': 'stan_debug',
  'streaming.trace': 'stan_trace',
  'streaming.clientHBInterval': 'hb_interval',
  'streaming.clientHBTimeout': 'hb_timeout',
  'streaming.clientHBFailCount': 'hb_fail_count',
};

function optionName(path: string): string {
  return NAMES[path] ?? path;
}

/** Field paths (`streaming.clusterID`) whose values differ. */
function differences(cur: object, next: object, prefix: string): string[] {
  return changedKeys(cur, next).map((k) => `${prefix}.${k}`);
}

/**
 * Applies `next` to the running server. `current` is the running ServerOptions object; the
 * applied NATS fields are copied into it, so monitoring (/varz) shows them. Never throws.
 */
export async function reloadConfiguration(
  current: ServerOptions,
  next: ServerOptions,
  natsServer: EmbeddedNatsServer | undefined,
  log: Logger,
  natsChild?: ChildNatsServer,
): Promise<void> {
  if (natsChild !== undefined) {
    await reloadChild(current, next, natsChild, log);
    return;
  }
  if (natsServer === undefined) {
    log.warn(RELOAD_EXTERNAL_WARNING);
    return;
  }
  let result;
  try {
    result = await natsServer.reload(next.nats);
  } catch (err) {
    const msg = errorText(err);
    const what = err instanceof AuthConfigError ? 'invalid authorization' : 'error';
    log.error(`Reload: ${what}: ${msg}; keeping the running configuration`);
    return;
  }
  for (const k of result.applied) copyOption(current.nats, next.nats, k);
  const kept = [...result.notApplied.map((k) => `nats.${k}`), ...differences(current.streaming, next.streaming, 'streaming')];
  for (const path of kept) {
    log.warn(`Reload: option ${optionName(path)} cannot be changed at runtime; keeping the running value (restart the server to apply it)`);
  }
  const applied = result.applied.map((k) => optionName(`nats.${k}`));
  log.notice(`Reloaded server configuration${applied.length > 0 ? ` (${applied.join(', ')})` : ' (no runtime changes)'}`);
  if (result.closedConnections > 0) {
    log.notice(`Reload: closed ${result.closedConnections} connection(s) whose credentials are no longer valid`);
  }
}

/**
 * NATS cluster mode (a nats-server child serves the NATS role): the new NATS options go to
 * the child, which applies what it can at runtime and refuses the rest (its reason is
 * logged). The streaming server's own connection must keep working: a reload that changes
 * the credentials it connects with is refused before the child sees it.
 */
/** NatsServerOptions fields that configure this process, not the nats-server child. */
const OWN_PROCESS_NATS_OPTIONS = new Set([
  'logFile', 'logtime', 'logJSON', 'syslog', 'remoteSyslog', 'pidFile', 'httpHost', 'httpPort', 'httpsPort', 'natsServerBin',
]);

async function reloadChild(current: ServerOptions, next: ServerOptions, child: ChildNatsServer, log: Logger): Promise<void> {
  try {
    const own = ownCredentials(current, current);
    const after = ownCredentials(next, current);
    if (!isDeepStrictEqual(own, after)) {
      throw new Error(
        'the new authorization changes the credentials the streaming server itself connects to NATS with; ' +
          'keep them, or restart the server to change them',
      );
    }
    await child.reload(next.nats);
  } catch (err) {
    log.error(`Reload: error: ${errorText(err)}; keeping the running configuration`);
    return;
  }
  const changed = differences(current.nats, next.nats, 'nats');
  // Options of our own process (logging, monitor, pid file, the child's binary) did not go to
  // the child and stay as they run, like the streaming options.
  const ours = changed.filter((p) => OWN_PROCESS_NATS_OPTIONS.has(p.slice('nats.'.length)));
  const changedNats = changed.filter((p) => !ours.includes(p));
  const kept = Object.fromEntries(ours.map((p) => [p.slice('nats.'.length), (current.nats as unknown as Record<string, unknown>)[p.slice('nats.'.length)]]));
  current.nats = { ...next.nats, ...kept };
  for (const path of [...ours, ...differences(current.streaming, next.streaming, 'streaming')]) {
    log.warn(`Reload: option ${optionName(path)} cannot be changed at runtime; keeping the running value (restart the server to apply it)`);
  }
  const applied = changedNats.map(optionName);
  log.notice(`Reloaded server configuration${applied.length > 0 ? ` (nats-server: ${applied.join(', ')})` : ' (no runtime changes)'}`);
}

/** What the streaming server authenticates with to its child, and the users-list entry backing it. */
function ownCredentials(o: ServerOptions, running: ServerOptions): unknown {
  const auth = childClientAuth(o.nats, running.streaming);
  const entry = auth.user === undefined ? undefined : o.nats.users.find((u) => u.user === auth.user);
  return { auth, entry: entry === undefined ? undefined : { user: entry.user, password: entry.password } };
}
