/**
 * The command-line flags of the server: every flag of the reference usage text (streaming,
 * clustering, file store, SQL store, TLS client, logging, embedded NATS, auth, TLS server,
 * NATS clustering, common) plus our extensions (`--log_json`, `--sql_auto_migrate`,
 * `--sql_commit_depth`, `--nats_server_bin`).
 *
 * Each flag has its short/long names, a type understood by {@link parseGoFlags}, the
 * canonical long names it records in `ServerOptions.explicit`, and a setter.
 */
import type { FlagValue, GoFlag, FlagType } from './goflags';
import type { ServerOptions, StoreType } from './options';
import { ConfigError } from './errors';
import { checkedCommitDepth, SQL_COMMIT_DEPTH_RANGE } from './sql-commit-depth';
import { asBool as bool, asList as list, asNumber as num, asString as str, toStoreType } from './values';

/** Values that are not options but steer the loader. */
export interface FlagContext {
  stanConfigFile?: string;
  natsConfigFile?: string;
  help?: boolean;
  version?: boolean;
  helpTLS?: boolean;
  signal?: string;
  /** `--cluster_peers` was given: the node's own ID is removed from the list after loading. */
  clusterPeersFromCLI?: boolean;
  /** `--encryption_key` was given on the command line. */
  encryptionKeyFromCLI?: boolean;
}

export interface FlagSpec extends GoFlag {
  /** Canonical long names recorded in `explicit` when the flag is given. */
  readonly explicit: readonly string[];
  /** Applied after all other flags (the reference's `-SDV`/`-DV` special handling). */
  readonly late?: boolean;
  readonly apply: (o: ServerOptions, v: FlagValue, ctx: FlagContext) => void;
}

/** Uppercases and validates a store type given on the command line. */
export function parseStoreTypeFlag(value: string): StoreType {
  const st = toStoreType(value);
  if (!st) throw new ConfigError(`unsupported store type: ${JSON.stringify(value)}`);
  return st;
}

function f(
  names: string[],
  type: FlagType,
  explicit: string[],
  apply: FlagSpec['apply'],
  late = false,
): FlagSpec {
  return { names, type, explicit, apply, late };
}

export const FLAGS: readonly FlagSpec[] = [
  // ------------------------------------------------------------ Streaming Server Options
  f(['cid', 'cluster_id'], 'string', ['cluster_id'], (o, v) => { o.streaming.clusterID = str(v); }),
  f(['st', 'store'], 'string', ['store'], (o, v) => { o.streaming.storeType = parseStoreTypeFlag(str(v)); }),
  f(['dir'], 'string', ['dir'], (o, v) => { o.streaming.filestoreDir = str(v); }),
  f(['mc', 'max_channels'], 'int', ['max_channels'], (o, v) => { o.streaming.storeLimits.maxChannels = num(v); }),
  f(['msu', 'max_subs'], 'int', ['max_subs'], (o, v) => { o.streaming.storeLimits.maxSubscriptions = num(v); }),
  f(['mm', 'max_msgs'], 'int', ['max_msgs'], (o, v) => { o.streaming.storeLimits.maxMsgs = num(v); }),
  f(['mb', 'max_bytes'], 'size', ['max_bytes'], (o, v) => { o.streaming.storeLimits.maxBytes = num(v); }),
  f(['ma', 'max_age'], 'duration', ['max_age'], (o, v) => { o.streaming.storeLimits.maxAge = num(v); }),
  f(['mi', 'max_inactivity'], 'duration', ['max_inactivity'], (o, v) => { o.streaming.storeLimits.maxInactivity = num(v); }),
  f(['max_deliveries'], 'int', ['max_deliveries'], (o, v) => { o.streaming.storeLimits.maxDeliveries = num(v); }),
  f(['dead_letter'], 'string', ['dead_letter'], (o, v) => { o.streaming.storeLimits.deadLetter = str(v); }),
  f(['ns', 'nats_server'], 'string', ['nats_server'], (o, v) => { o.streaming.natsServerURL = str(v); }),
  f(['sc', 'stan_config'], 'string', ['stan_config'], (_o, v, c) => { c.stanConfigFile = str(v); }),
  f(['hbi', 'hb_interval'], 'duration', ['hb_interval'], (o, v) => { o.streaming.clientHBInterval = num(v); }),
  f(['hbt', 'hb_timeout'], 'duration', ['hb_timeout'], (o, v) => { o.streaming.clientHBTimeout = num(v); }),
  f(['hbf', 'hb_fail_count'], 'int', ['hb_fail_count'], (o, v) => { o.streaming.clientHBFailCount = num(v); }),
  f(['ft_group'], 'string', ['ft_group'], (o, v) => { o.streaming.ftGroupName = str(v); }),
  f(['ft_lease_ttl'], 'duration', ['ft_lease_ttl'], (o, v) => { o.streaming.ftLeaseTTL = num(v); }),
  f(['ft_lease_renew'], 'duration', ['ft_lease_renew'], (o, v) => { o.streaming.ftLeaseRenew = num(v); }),
  f(['ft_lease_poll'], 'duration', ['ft_lease_poll'], (o, v) => { o.streaming.ftLeasePoll = num(v); }),
  f(['ft_standby_on_loss'], 'bool', ['ft_standby_on_loss'], (o, v) => { o.streaming.ftStandbyOnLoss = bool(v); }),
  f(['sl', 'signal'], 'string', [], (_o, v, c) => { c.signal = str(v); }),
  f(['encrypt'], 'bool', ['encrypt'], (o, v) => { o.streaming.encrypt = bool(v); }),
  f(['encryption_cipher'], 'string', ['encryption_cipher'], (o, v) => { o.streaming.encryptionCipher = str(v); }),
  f(['encryption_key'], 'string', ['encryption_key'], (o, v, c) => {
    o.streaming.encryptionKey = str(v);
    c.encryptionKeyFromCLI = true;
  }),
  f(['replace_durable'], 'bool', ['replace_durable'], (o, v) => { o.streaming.replaceDurable = bool(v); }),
  f(['admin_token'], 'string', ['admin_token'], (o, v) => { o.streaming.adminToken = str(v); }),
  f(['admin_token_file'], 'string', ['admin_token_file'], (o, v) => { o.streaming.adminTokenFile = str(v); }),
  f(['io_batch_size'], 'int', ['io_batch_size'], (o, v) => { o.streaming.ioBatchSize = num(v); }),
  f(['io_sleep_time'], 'int', ['io_sleep_time'], (o, v) => { o.streaming.ioSleepTime = num(v); }),

  // ------------------------------------------------------------ Clustering
  f(['clustered'], 'bool', ['clustered'], (o, v) => { o.streaming.clustering.clustered = bool(v); }),
  f(['cluster_node_id'], 'string', ['cluster_node_id'], (o, v) => { o.streaming.clustering.nodeID = str(v); }),
  f(['cluster_bootstrap'], 'bool', ['cluster_bootstrap'], (o, v) => { o.streaming.clustering.bootstrap = bool(v); }),
  f(['cluster_peers'], 'stringList', ['cluster_peers'], (o, v, c) => {
    o.streaming.clustering.peers = list(v);
    c.clusterPeersFromCLI = true;
  }),
  f(['cluster_log_path'], 'string', ['cluster_log_path'], (o, v) => { o.streaming.clustering.logPath = str(v); }),
  f(['cluster_log_cache_size'], 'int', ['cluster_log_cache_size'], (o, v) => { o.streaming.clustering.logCacheSize = num(v); }),
  f(['cluster_log_snapshots'], 'int', ['cluster_log_snapshots'], (o, v) => { o.streaming.clustering.logSnapshots = num(v); }),
  f(['cluster_trailing_logs'], 'int', ['cluster_trailing_logs'], (o, v) => { o.streaming.clustering.trailingLogs = num(v); }),
  f(['cluster_sync'], 'bool', ['cluster_sync'], (o, v) => { o.streaming.clustering.sync = bool(v); }),
  f(['cluster_raft_logging'], 'bool', ['cluster_raft_logging'], (o, v) => { o.streaming.clustering.raftLogging = bool(v); }),
  f(['cluster_proceed_on_restore_failure'], 'bool', ['cluster_proceed_on_restore_failure'], (o, v) => {
    o.streaming.clustering.proceedOnRestoreFailure = bool(v);
  }),
  f(['cluster_allow_add_remove_node'], 'bool', ['cluster_allow_add_remove_node'], (o, v) => {
    o.streaming.clustering.allowAddRemoveNode = bool(v);
  }),

  // ------------------------------------------------------------ File store
  f(['file_compact_enabled'], 'bool', ['file_compact_enabled'], (o, v) => { o.streaming.file.compactEnabled = bool(v); }),
  f(['file_compact_frag'], 'int', ['file_compact_frag'], (o, v) => { o.streaming.file.compactFragmentation = num(v); }),
  f(['file_compact_interval'], 'int', ['file_compact_interval'], (o, v) => { o.streaming.file.compactInterval = num(v); }),
  f(['file_compact_min_size'], 'size', ['file_compact_min_size'], (o, v) => { o.streaming.file.compactMinSize = num(v); }),
  f(['file_buffer_size'], 'size', ['file_buffer_size'], (o, v) => { o.streaming.file.bufferSize = num(v); }),
  f(['file_crc'], 'bool', ['file_crc'], (o, v) => { o.streaming.file.doCRC = bool(v); }),
  f(['file_crc_poly'], 'int', ['file_crc_poly'], (o, v) => { o.streaming.file.crcPolynomial = num(v); }),
  f(['file_sync'], 'bool', ['file_sync'], (o, v) => { o.streaming.file.doSync = bool(v); }),
  f(['file_slice_max_msgs'], 'int', ['file_slice_max_msgs'], (o, v) => { o.streaming.file.sliceMaxMsgs = num(v); }),
  f(['file_slice_max_bytes'], 'size', ['file_slice_max_bytes'], (o, v) => { o.streaming.file.sliceMaxBytes = num(v); }),
  f(['file_slice_max_age'], 'duration', ['file_slice_max_age'], (o, v) => { o.streaming.file.sliceMaxAge = num(v); }),
  f(['file_slice_archive_script'], 'string', ['file_slice_archive_script'], (o, v) => {
    o.streaming.file.sliceArchiveScript = str(v);
  }),
  f(['file_fds_limit'], 'int', ['file_fds_limit'], (o, v) => { o.streaming.file.fileDescriptorsLimit = num(v); }),
  f(['file_parallel_recovery'], 'int', ['file_parallel_recovery'], (o, v) => { o.streaming.file.parallelRecovery = num(v); }),
  f(['file_truncate_bad_eof'], 'bool', ['file_truncate_bad_eof'], (o, v) => { o.streaming.file.truncateBadEOF = bool(v); }),
  f(['file_read_buffer_size'], 'size', ['file_read_buffer_size'], (o, v) => { o.streaming.file.readBufferSize = num(v); }),
  f(['file_auto_sync'], 'duration', ['file_auto_sync'], (o, v) => { o.streaming.file.autoSync = num(v); }),

  // ------------------------------------------------------------ SQL store
  f(['sql_driver'], 'string', ['sql_driver'], (o, v) => { o.streaming.sql.driver = str(v); }),
  f(['sql_source'], 'string', ['sql_source'], (o, v) => { o.streaming.sql.source = str(v); }),
  f(['sql_no_caching'], 'bool', ['sql_no_caching'], (o, v) => { o.streaming.sql.noCaching = bool(v); }),
  f(['sql_max_open_conns'], 'int', ['sql_max_open_conns'], (o, v) => { o.streaming.sql.maxOpenConns = num(v); }),
  f(['sql_bulk_insert_limit'], 'int', ['sql_bulk_insert_limit'], (o, v) => { o.streaming.sql.bulkInsertLimit = num(v); }),
  f(['sql_auto_migrate'], 'bool', ['sql_auto_migrate'], (o, v) => { o.streaming.sql.autoMigrate = bool(v); }),
  {
    ...f(['sql_commit_depth'], 'int', ['sql_commit_depth'], (o, v) => {
      o.streaming.sql.commitDepth = checkedCommitDepth(num(v), 'flag --sql_commit_depth');
    }),
    hint: SQL_COMMIT_DEPTH_RANGE,
  },

  // ------------------------------------------------------------ TLS (client side)
  f(['secure'], 'bool', ['secure'], (o, v) => { o.streaming.secure = bool(v); }),
  f(['tls_client_key'], 'string', ['tls_client_key'], (o, v) => { o.streaming.tls.clientKey = str(v); }),
  f(['tls_client_cert'], 'string', ['tls_client_cert'], (o, v) => { o.streaming.tls.clientCert = str(v); }),
  f(['tls_client_cacert'], 'string', ['tls_client_cacert'], (o, v) => { o.streaming.tls.clientCA = str(v); }),

  // ------------------------------------------------------------ Streaming logging
  f(['SD', 'stan_debug'], 'bool', ['stan_debug'], (o, v) => { o.streaming.debug = bool(v); }),
  f(['SV', 'stan_trace'], 'bool', ['stan_trace'], (o, v) => { o.streaming.trace = bool(v); }),
  f(['SDV'], 'bool', ['stan_debug', 'stan_trace'], (o, v) => {
    o.streaming.debug = bool(v);
    o.streaming.trace = bool(v);
  }, true),
  f(['syslog_name'], 'string', ['syslog_name'], (o, v) => { o.streaming.syslogName = str(v); }),
  f(['log_json'], 'bool', ['log_json'], (o, v) => { o.nats.logJSON = bool(v); }),

  // ------------------------------------------------------------ Embedded NATS server
  f(['a', 'addr', 'net'], 'string', ['addr'], (o, v) => { o.nats.host = str(v); }),
  f(['p', 'port'], 'int', ['port'], (o, v) => { o.nats.port = num(v); }),
  f(['P', 'pid'], 'string', ['pid'], (o, v) => { o.nats.pidFile = str(v); }),
  f(['m', 'http_port'], 'int', ['http_port'], (o, v) => { o.nats.httpPort = num(v); }),
  f(['ms', 'https_port'], 'int', ['https_port'], (o, v) => { o.nats.httpsPort = num(v); }),
  f(['c', 'config'], 'string', ['config'], (_o, v, c) => { c.natsConfigFile = str(v); }),

  // ------------------------------------------------------------ Logging
  f(['l', 'log'], 'string', ['log'], (o, v) => { o.nats.logFile = str(v); }),
  f(['T', 'logtime'], 'bool', ['logtime'], (o, v) => { o.nats.logtime = bool(v); }),
  f(['s', 'syslog'], 'bool', ['syslog'], (o, v) => { o.nats.syslog = bool(v); }),
  f(['r', 'remote_syslog'], 'string', ['remote_syslog'], (o, v) => { o.nats.remoteSyslog = str(v); }),
  f(['D', 'debug'], 'bool', ['debug'], (o, v) => { o.nats.debug = bool(v); }),
  f(['V', 'trace'], 'bool', ['trace'], (o, v) => { o.nats.trace = bool(v); }),
  f(['DV'], 'bool', ['debug', 'trace'], (o, v) => {
    o.nats.debug = bool(v);
    o.nats.trace = bool(v);
  }, true),

  // ------------------------------------------------------------ Authorization
  f(['user'], 'string', ['user'], (o, v) => { o.nats.username = str(v); }),
  f(['pass'], 'string', ['pass'], (o, v) => { o.nats.password = str(v); }),
  f(['auth'], 'string', ['auth'], (o, v) => { o.nats.authorization = str(v); }),

  // ------------------------------------------------------------ TLS (embedded server)
  f(['tls'], 'bool', ['tls'], (o, v) => { o.nats.tls = bool(v); }),
  f(['tlscert'], 'string', ['tlscert'], (o, v) => { o.nats.tlsCert = str(v); }),
  f(['tlskey'], 'string', ['tlskey'], (o, v) => { o.nats.tlsKey = str(v); }),
  // Any of these turns TLS on (unless --tls=false): see applyServerTlsFlags in load.ts.
  f(['tlsverify'], 'bool', ['tlsverify'], (o, v) => { o.nats.tlsVerify = bool(v); }),
  f(['tlscacert'], 'string', ['tlscacert'], (o, v) => { o.nats.tlsCaCert = str(v); }),

  // ------------------------------------------------------------ NATS clustering
  f(['routes'], 'stringList', ['routes'], (o, v) => { o.nats.routes = list(v); }),
  f(['cluster'], 'string', ['cluster'], (o, v) => { o.nats.cluster = str(v); }),
  f(['nats_server_bin'], 'string', ['nats_server_bin'], (o, v) => { o.nats.natsServerBin = str(v); }),

  // ------------------------------------------------------------ Common
  f(['h', 'help'], 'bool', [], (_o, v, c) => { c.help = bool(v); }),
  f(['v', 'version'], 'bool', [], (_o, v, c) => { c.version = bool(v); }),
  f(['help_tls'], 'bool', [], (_o, v, c) => { c.helpTLS = bool(v); }),
];

/** Looks a flag up by any of its names (without dashes). */
export function findFlag(name: string): FlagSpec | undefined {
  return FLAGS.find((fl) => fl.names.includes(name));
}
