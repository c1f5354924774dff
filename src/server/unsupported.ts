/**
 * Options that are parsed and validated but whose feature is not built yet. They stop the
 * server with "not supported yet: <flag>" instead of being silently ignored: an operator who
 * asked for TLS must never get a plaintext server.
 */
import type { ServerOptions } from '../config/options';

/** canonical option name → what it belongs to (shown in the error). */
const NOT_YET: Record<string, string> = {
  dir: 'FILE store',
  sql_driver: 'SQL store',
  sql_source: 'SQL store',
  sql_no_caching: 'SQL store',
  sql_max_open_conns: 'SQL store',
  sql_bulk_insert_limit: 'SQL store',
  sql_auto_migrate: 'SQL store',
  ft_group: 'fault tolerance',
  clustered: 'clustering',
  cluster_node_id: 'clustering',
  cluster_bootstrap: 'clustering',
  cluster_peers: 'clustering',
  cluster_log_path: 'clustering',
  cluster_log_cache_size: 'clustering',
  cluster_log_snapshots: 'clustering',
  cluster_trailing_logs: 'clustering',
  cluster_sync: 'clustering',
  cluster_raft_logging: 'clustering',
  cluster_proceed_on_restore_failure: 'clustering',
  cluster_allow_add_remove_node: 'clustering',
  partitioning: 'partitioning',
  encrypt: 'encryption at rest',
  encryption_cipher: 'encryption at rest',
  encryption_key: 'encryption at rest',
  http_port: 'monitoring',
  https_port: 'monitoring',
  tls: 'TLS',
  tlscert: 'TLS',
  tlskey: 'TLS',
  tlsverify: 'TLS',
  tlscacert: 'TLS',
  secure: 'TLS to NATS',
  tls_client_cert: 'TLS to NATS',
  tls_client_key: 'TLS to NATS',
  tls_client_cacert: 'TLS to NATS',
  user: 'authentication',
  pass: 'authentication',
  auth: 'authentication',
  credentials: 'NATS credentials',
  nkey_seed_file: 'NATS credentials',
  routes: 'NATS cluster routes',
  cluster: 'NATS cluster routes',
  syslog: 'syslog',
  remote_syslog: 'syslog',
  syslog_name: 'syslog',
  signal: 'signals (-sl)',
};

const FILE_FLAG_PREFIX = 'file_';

export class NotSupportedError extends Error {
  constructor(readonly flags: string[]) {
    super(`not supported yet: ${flags.map((f) => `--${f}`).join(', ')}`);
    this.name = 'NotSupportedError';
  }
}

/** Throws NotSupportedError listing every explicitly given option we cannot honour yet. */
export function checkSupported(o: ServerOptions): void {
  const bad: string[] = [];
  for (const name of o.explicit) {
    if (name in NOT_YET || name.startsWith(FILE_FLAG_PREFIX)) bad.push(name);
  }
  if (o.streaming.storeType !== 'MEMORY') bad.push(`store=${o.streaming.storeType}`);
  if (bad.length > 0) throw new NotSupportedError([...new Set(bad)].sort());
}
