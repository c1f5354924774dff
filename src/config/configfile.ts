/**
 * Applies a parsed configuration file ({@link ConfDocument}) to {@link ServerOptions}.
 *
 * Streaming keys are case-insensitive and accept every alias of the reference. If the file
 * has a `streaming { }` block, only that block is used for streaming keys. NATS keys are
 * read from the top level. Type errors are {@link ConfigError}s carrying `file:line:col`;
 * keys unknown to both the streaming server and nats-server are reported as warnings.
 */
import { ConfigError } from './errors';
import { ConfDocument, ConfMap, ConfPos, ConfValue, confToPlain, formatPos, isConfMap } from './natsconf';
import type {
  NatsAuthUser,
  NatsPermissions,
  PartialChannelLimits,
  ResponsePermission,
  ServerOptions,
  StoreType,
  SubjectPermission,
} from './options';
import { invalidPermissionEntry } from '../nats/embedded/permissions';
import { parseGoDuration } from './units';

export interface ApplyConfigTargets {
  /** Apply streaming keys (the file was given with `-sc`, or it is the only file). */
  streaming: boolean;
  /** Apply embedded NATS server keys (the file was given with `-c`, or it is the only file). */
  nats: boolean;
}

// Keys of the streaming server (top level or inside `streaming { }`).
const STREAMING_KEYS = new Set([
  'id', 'cid', 'cluster_id', 'discover_prefix', 'st', 'store_type', 'store', 'storetype', 'dir', 'datastore',
  'sd', 'stan_debug', 'sv', 'stan_trace', 'ns', 'nats_server', 'nats_server_url', 'secure', 'tls', 'limits',
  'store_limits', 'storelimits', 'file', 'file_options', 'sql', 'sql_options', 'hbi', 'hb_interval',
  'server_to_client_hb_interval', 'hbt', 'hb_timeout', 'server_to_client_hb_timeout', 'hbf', 'hb_fail_count',
  'server_to_client_hb_fail_count', 'ft_group', 'ft_group_name', 'ft_lease_ttl', 'ft_lease_renew', 'ft_lease_poll', 'ft_standby_on_loss', 'partitioning', 'cluster', 'syslog_name',
  'encrypt', 'encryption_cipher', 'encryption_key', 'credentials', 'username', 'user', 'password', 'pass',
  'token', 'nkey_seed_file', 'replace_durable', 'replace_durables', 'replace_duplicate_durable',
  'replace_duplicate_durables',
]);

// NATS server keys we apply.
const NATS_USED_KEYS = new Set([
  'host', 'net', 'listen', 'port', 'http', 'http_port', 'monitor_port', 'https', 'https_port', 'pid_file',
  'pidfile', 'log_file', 'logfile', 'logtime', 'debug', 'trace', 'syslog', 'remote_syslog', 'authorization',
  'tls', 'cluster', 'routes', 'max_payload', 'max_control_line', 'max_pending', 'max_connections', 'max_conn',
  'max_subscriptions', 'max_subs', 'ping_interval', 'ping_max', 'write_deadline', 'nats_server_bin', 'no_auth_user',
]);

// NATS server keys we know but do not use: ignored silently.
const NATS_IGNORED_KEYS = new Set([
  'server_name', 'client_advertise', 'jetstream', 'accounts', 'system_account', 'system', 'no_system_account',
  'operator', 'operators', 'resolver', 'resolver_preload', 'resolver_tls', 'trusted', 'trusted_keys',
  'leafnodes', 'leaf', 'gateway', 'gateways', 'websocket', 'ws', 'mqtt', 'lame_duck_duration',
  'lame_duck_grace_period', 'max_closed_clients', 'max_traced_msg_len', 'logfile_size_limit',
  'log_size_limit', 'logfile_max_num', 'log_max_num', 'ports_file_dir', 'connect_error_reports',
  'reconnect_error_reports', 'no_header_support', 'disable_sublist_cache', 'http_base_path', 'trace_verbose',
  'server_tags', 'default_js_domain', 'ocsp', 'ocsp_cache', 'prof_port', 'allow_non_tls', 'nkeys', 'users',
  'tags', 'max_account_connections', 'max_account_subscriptions', 'syslog_name', 'pinned_certs',
]);

const TLS_SERVER_KEYS = new Set([
  'cert_file', 'key_file', 'ca_file', 'verify', 'timeout', 'cipher_suites', 'curve_preferences', 'insecure',
  'verify_and_map', 'verify_cert_and_check_known_urls', 'pinned_certs', 'handshake_first', 'cert_store',
  'cert_match', 'cert_match_by', 'ocsp_peer', 'min_version', 'connection_rate_limit',
]);

const NATS_CLUSTER_KEYS = new Set(['listen', 'host', 'port', 'routes', 'name', 'authorization', 'advertise', 'cluster_advertise', 'no_advertise', 'connect_retries', 'pool_size', 'compression']);

type Kind = 'string' | 'integer' | 'boolean' | 'map' | 'array' | 'duration' | 'size';

function describeValue(v: ConfValue): string {
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  if (typeof v === 'number') return Number.isInteger(v) ? `integer ${v}` : `float ${v}`;
  if (typeof v === 'boolean') return `boolean ${v}`;
  if (Array.isArray(v)) return 'array';
  return 'map';
}

const KIND_TEXT: Record<Kind, string> = {
  string: 'a string',
  integer: 'an integer',
  boolean: 'a boolean',
  map: 'a map',
  array: 'an array',
  duration: 'a duration string (e.g. "1h30m")',
  size: 'a size (e.g. 1024, 10KB, 1MB)',
};

/** Reads typed values from one map of the document, with positioned errors. */
class Section {
  constructor(
    private readonly doc: ConfDocument,
    readonly map: ConfMap,
    private readonly ctxPos: ConfPos | undefined,
  ) {}

  pos(key: string): ConfPos | undefined {
    return this.doc.pos(this.map, key) ?? this.ctxPos;
  }

  where(key: string): string {
    const p = this.pos(key);
    return p ? `${formatPos(p)}: ` : '';
  }

  typeError(key: string, kind: Kind, v: ConfValue): ConfigError {
    return new ConfigError(
      `${this.where(key)}parameter ${JSON.stringify(key)} value is expected to be ${KIND_TEXT[kind]}, got ${describeValue(v)}`,
    );
  }

  error(key: string, msg: string): ConfigError {
    return new ConfigError(`${this.where(key)}${msg}`);
  }

  get(key: string): ConfValue {
    return this.map[key] as ConfValue;
  }

  str(key: string): string {
    const v = this.get(key);
    if (typeof v !== 'string') throw this.typeError(key, 'string', v);
    return v;
  }

  bool(key: string): boolean {
    const v = this.get(key);
    if (typeof v !== 'boolean') throw this.typeError(key, 'boolean', v);
    return v;
  }

  int(key: string, kind: Kind = 'integer'): number {
    const v = this.get(key);
    if (typeof v !== 'number' || !Number.isInteger(v)) throw this.typeError(key, kind, v);
    return v;
  }

  /** A Go duration string, in ms. */
  duration(key: string): number {
    const v = this.get(key);
    if (typeof v !== 'string') throw this.typeError(key, 'duration', v);
    try {
      return parseGoDuration(v);
    } catch (e) {
      throw this.error(key, `parameter ${JSON.stringify(key)}: ${(e as Error).message}`);
    }
  }

  /** A Go duration string, or a number of seconds (NATS style), in ms. */
  durationOrSeconds(key: string): number {
    const v = this.get(key);
    if (typeof v === 'number') return v * 1000;
    return this.duration(key);
  }

  sub(key: string): Section {
    const v = this.get(key);
    if (!isConfMap(v)) throw this.typeError(key, 'map', v);
    return new Section(this.doc, v, this.pos(key));
  }

  strList(key: string): string[] {
    const v = this.get(key);
    if (typeof v === 'string') {
      return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
    }
    if (!Array.isArray(v)) throw this.typeError(key, 'array', v);
    return v.map((e, i) => {
      if (typeof e !== 'string') {
        const p = this.doc.pos(v, i) ?? this.pos(key);
        throw new ConfigError(
          `${p ? formatPos(p) + ': ' : ''}parameter ${JSON.stringify(key)} elements are expected to be strings, got ${describeValue(e)}`,
        );
      }
      return e;
    });
  }

  keys(): string[] {
    return Object.keys(this.map);
  }

  isUsedVariable(key: string): boolean {
    return this.doc.isUsedVariable(this.map, key);
  }
}

class Applier {
  constructor(
    private readonly opts: ServerOptions,
    private readonly warnings: string[],
  ) {}

  private mark(...names: string[]): void {
    for (const n of names) this.opts.explicit.add(n);
  }

  private unknown(sec: Section, key: string, where: string): void {
    if (sec.isUsedVariable(key)) return;
    this.warnings.push(`${sec.where(key)}unknown ${where}configuration key ${JSON.stringify(key)} (ignored)`);
  }

  // ---------------------------------------------------------------- streaming
  streaming(sec: Section, inBlock: boolean): void {
    const s = this.opts.streaming;
    for (const k of sec.keys()) {
      const name = k.toLowerCase();
      switch (name) {
        case 'id': case 'cid': case 'cluster_id':
          s.clusterID = sec.str(k);
          this.mark('cluster_id');
          break;
        case 'discover_prefix':
          s.discoverPrefix = sec.str(k);
          this.mark('discover_prefix');
          break;
        case 'st': case 'store_type': case 'store': case 'storetype': {
          const v = sec.str(k);
          const up = v.toUpperCase();
          if (up !== 'MEMORY' && up !== 'FILE' && up !== 'SQL') throw sec.error(k, `unknown store type: ${v}`);
          s.storeType = up as StoreType;
          this.mark('store');
          break;
        }
        case 'dir': case 'datastore':
          s.filestoreDir = sec.str(k);
          this.mark('dir');
          break;
        case 'sd': case 'stan_debug':
          s.debug = sec.bool(k);
          this.mark('stan_debug');
          break;
        case 'sv': case 'stan_trace':
          s.trace = sec.bool(k);
          this.mark('stan_trace');
          break;
        case 'ns': case 'nats_server': case 'nats_server_url':
          s.natsServerURL = sec.str(k);
          this.mark('nats_server');
          break;
        case 'secure':
          s.secure = sec.bool(k);
          this.mark('secure');
          break;
        case 'tls':
          this.clientTLS(sec.sub(k));
          break;
        case 'limits': case 'store_limits': case 'storelimits':
          this.storeLimits(sec.sub(k));
          break;
        case 'file': case 'file_options':
          this.fileOptions(sec.sub(k));
          break;
        case 'sql': case 'sql_options':
          this.sqlOptions(sec.sub(k));
          break;
        case 'hbi': case 'hb_interval': case 'server_to_client_hb_interval':
          s.clientHBInterval = sec.duration(k);
          this.mark('hb_interval');
          break;
        case 'hbt': case 'hb_timeout': case 'server_to_client_hb_timeout':
          s.clientHBTimeout = sec.duration(k);
          this.mark('hb_timeout');
          break;
        case 'hbf': case 'hb_fail_count': case 'server_to_client_hb_fail_count':
          s.clientHBFailCount = sec.int(k);
          this.mark('hb_fail_count');
          break;
        case 'ft_group': case 'ft_group_name':
          s.ftGroupName = sec.str(k);
          this.mark('ft_group');
          break;
        case 'ft_lease_ttl':
          s.ftLeaseTTL = sec.duration(k);
          this.mark('ft_lease_ttl');
          break;
        case 'ft_lease_renew':
          s.ftLeaseRenew = sec.duration(k);
          this.mark('ft_lease_renew');
          break;
        case 'ft_lease_poll':
          s.ftLeasePoll = sec.duration(k);
          this.mark('ft_lease_poll');
          break;
        case 'ft_standby_on_loss':
          s.ftStandbyOnLoss = sec.bool(k);
          this.mark('ft_standby_on_loss');
          break;
        case 'partitioning':
          s.partitioning = sec.bool(k);
          this.mark('partitioning');
          break;
        case 'cluster': {
          const c = sec.sub(k);
          if (!inBlock && c.keys().some((ck) => NATS_CLUSTER_KEYS.has(ck.toLowerCase()))) {
            this.warnings.push(
              `${sec.where(k)}the top-level "cluster" block is used for both NATS and Streaming clustering; ` +
                'put the streaming options in a "streaming { }" block to avoid enabling streaming clustering',
            );
          }
          this.clustering(c);
          break;
        }
        case 'syslog_name':
          s.syslogName = sec.str(k);
          this.mark('syslog_name');
          break;
        case 'encrypt':
          s.encrypt = sec.bool(k);
          this.mark('encrypt');
          break;
        case 'encryption_cipher':
          s.encryptionCipher = sec.str(k);
          this.mark('encryption_cipher');
          break;
        case 'encryption_key':
          s.encryptionKey = sec.str(k);
          this.mark('encryption_key');
          if (s.encryptionKey !== '') {
            s.encrypt = true;
            this.mark('encrypt');
          }
          break;
        case 'credentials':
          s.natsCredentials = sec.str(k);
          this.mark('credentials');
          break;
        case 'username': case 'user':
          s.natsUser = sec.str(k);
          this.mark('username');
          break;
        case 'password': case 'pass':
          s.natsPassword = sec.str(k);
          this.mark('password');
          break;
        case 'token':
          s.natsToken = sec.str(k);
          this.mark('token');
          break;
        case 'nkey_seed_file':
          s.natsNkeySeedFile = sec.str(k);
          this.mark('nkey_seed_file');
          break;
        case 'replace_durable': case 'replace_durables': case 'replace_duplicate_durable': case 'replace_duplicate_durables':
          s.replaceDurable = sec.bool(k);
          this.mark('replace_durable');
          break;
        default:
          if (inBlock) this.unknown(sec, k, 'streaming ');
        // At the top level, unknown-key warnings are emitted once for both modules.
      }
    }
  }

  private clientTLS(sec: Section): void {
    const t = this.opts.streaming.tls;
    for (const k of sec.keys()) {
      switch (k.toLowerCase()) {
        case 'client_cert':
          t.clientCert = sec.str(k);
          this.mark('tls_client_cert');
          break;
        case 'client_key':
          t.clientKey = sec.str(k);
          this.mark('tls_client_key');
          break;
        case 'client_ca': case 'client_cacert':
          t.clientCA = sec.str(k);
          this.mark('tls_client_cacert');
          break;
        case 'server_name': case 'server_hostname':
          t.serverName = sec.str(k);
          this.mark('tls_client_server_name');
          break;
        case 'skip_verify': case 'insecure':
          t.insecure = sec.bool(k);
          this.mark('tls_client_insecure');
          break;
        default:
          if (!TLS_SERVER_KEYS.has(k.toLowerCase())) this.unknown(sec, k, 'TLS ');
      }
    }
  }

  private storeLimits(sec: Section): void {
    const sl = this.opts.streaming.storeLimits;
    for (const k of sec.keys()) {
      const name = k.toLowerCase();
      switch (name) {
        case 'mc': case 'max_channels': case 'maxchannels':
          sl.maxChannels = sec.int(k);
          this.mark('max_channels');
          break;
        case 'channels': case 'channels_limits': case 'channelslimits': case 'per_channel': case 'per_channel_limits':
          this.perChannel(sec.sub(k));
          break;
        default: {
          const r = this.channelLimit(sec, k, false);
          if (!r) {
            this.unknown(sec, k, 'store limits ');
            break;
          }
          switch (r.field) {
            case 'maxSubscriptions': sl.maxSubscriptions = r.value; break;
            case 'maxMsgs': sl.maxMsgs = r.value; break;
            case 'maxBytes': sl.maxBytes = r.value; break;
            case 'maxAge': sl.maxAge = r.value; break;
            case 'maxInactivity': sl.maxInactivity = r.value; break;
          }
          this.mark(r.canonical);
        }
      }
    }
  }

  /** One channel-limit key; per-channel values of 0 become -1 (explicitly unlimited). */
  private channelLimit(
    sec: Section,
    k: string,
    perChannel: boolean,
  ): { field: keyof PartialChannelLimits; value: number; canonical: string } | undefined {
    const adj = (v: number): number => (perChannel && v === 0 ? -1 : v);
    switch (k.toLowerCase()) {
      case 'msu': case 'max_subs': case 'max_subscriptions': case 'maxsubscriptions':
        return { field: 'maxSubscriptions', value: adj(sec.int(k)), canonical: 'max_subs' };
      case 'mm': case 'max_msgs': case 'maxmsgs': case 'max_count': case 'maxcount':
        return { field: 'maxMsgs', value: adj(sec.int(k)), canonical: 'max_msgs' };
      case 'mb': case 'max_bytes': case 'maxbytes':
        return { field: 'maxBytes', value: adj(sec.int(k, 'size')), canonical: 'max_bytes' };
      case 'ma': case 'max_age': case 'maxage':
        return { field: 'maxAge', value: adj(sec.duration(k)), canonical: 'max_age' };
      case 'mi': case 'max_inactivity': case 'maxinactivity':
        return { field: 'maxInactivity', value: adj(sec.duration(k)), canonical: 'max_inactivity' };
      default:
        return undefined;
    }
  }

  private perChannel(sec: Section): void {
    const pc = this.opts.streaming.storeLimits.perChannel;
    for (const channel of sec.keys()) {
      const csec = sec.sub(channel);
      if (!isChannelNameValid(channel, true)) throw sec.error(channel, `invalid channel name ${JSON.stringify(channel)}`);
      const cl: PartialChannelLimits = {};
      for (const k of csec.keys()) {
        const r = this.channelLimit(csec, k, true);
        if (!r) {
          this.unknown(csec, k, 'channel limits ');
          continue;
        }
        cl[r.field] = r.value;
      }
      pc[channel] = cl;
      this.mark('per_channel');
    }
  }

  private fileOptions(sec: Section): void {
    const fo = this.opts.streaming.file;
    for (const k of sec.keys()) {
      switch (k.toLowerCase()) {
        case 'compact': case 'compact_enabled':
          fo.compactEnabled = sec.bool(k);
          this.mark('file_compact_enabled');
          break;
        case 'compact_frag': case 'compact_fragmentation':
          fo.compactFragmentation = sec.int(k);
          this.mark('file_compact_frag');
          break;
        case 'compact_interval':
          fo.compactInterval = sec.int(k);
          this.mark('file_compact_interval');
          break;
        case 'compact_min_size':
          fo.compactMinSize = sec.int(k, 'size');
          this.mark('file_compact_min_size');
          break;
        case 'buffer_size':
          fo.bufferSize = sec.int(k, 'size');
          this.mark('file_buffer_size');
          break;
        case 'crc': case 'do_crc':
          fo.doCRC = sec.bool(k);
          this.mark('file_crc');
          break;
        case 'crc_poly':
          fo.crcPolynomial = sec.int(k);
          this.mark('file_crc_poly');
          break;
        case 'sync': case 'do_sync': case 'sync_on_flush':
          fo.doSync = sec.bool(k);
          this.mark('file_sync');
          break;
        case 'slice_max_msgs': case 'slice_max_count': case 'slice_msgs': case 'slice_count':
          fo.sliceMaxMsgs = sec.int(k);
          this.mark('file_slice_max_msgs');
          break;
        case 'slice_max_bytes': case 'slice_max_size': case 'slice_bytes': case 'slice_size':
          fo.sliceMaxBytes = sec.int(k, 'size');
          this.mark('file_slice_max_bytes');
          break;
        case 'slice_max_age': case 'slice_age': case 'slice_max_time': case 'slice_time_limit':
          fo.sliceMaxAge = sec.duration(k);
          this.mark('file_slice_max_age');
          break;
        case 'slice_archive_script': case 'slice_archive': case 'slice_script':
          fo.sliceArchiveScript = sec.str(k);
          this.mark('file_slice_archive_script');
          break;
        case 'file_descriptors_limit': case 'fds_limit':
          fo.fileDescriptorsLimit = sec.int(k);
          this.mark('file_fds_limit');
          break;
        case 'parallel_recovery':
          fo.parallelRecovery = sec.int(k);
          this.mark('file_parallel_recovery');
          break;
        case 'file_read_buffer_size': case 'read_buffer_size':
          fo.readBufferSize = sec.int(k, 'size');
          this.mark('file_read_buffer_size');
          break;
        case 'file_auto_sync': case 'auto_sync':
          fo.autoSync = sec.duration(k);
          this.mark('file_auto_sync');
          break;
        default:
          this.unknown(sec, k, 'file options ');
      }
    }
  }

  private sqlOptions(sec: Section): void {
    const so = this.opts.streaming.sql;
    for (const k of sec.keys()) {
      switch (k.toLowerCase()) {
        case 'driver':
          so.driver = sec.str(k);
          this.mark('sql_driver');
          break;
        case 'source':
          so.source = sec.str(k);
          this.mark('sql_source');
          break;
        case 'no_caching':
          so.noCaching = sec.bool(k);
          this.mark('sql_no_caching');
          break;
        case 'max_open_conns': case 'max_conns':
          so.maxOpenConns = sec.int(k);
          this.mark('sql_max_open_conns');
          break;
        case 'bulk_insert_limit':
          so.bulkInsertLimit = sec.int(k);
          this.mark('sql_bulk_insert_limit');
          break;
        case 'auto_migrate':
          so.autoMigrate = sec.bool(k);
          this.mark('sql_auto_migrate');
          break;
        default:
          this.unknown(sec, k, 'SQL options ');
      }
    }
  }

  private clustering(sec: Section): void {
    const c = this.opts.streaming.clustering;
    c.clustered = true;
    this.mark('clustered');
    for (const k of sec.keys()) {
      switch (k.toLowerCase()) {
        case 'node_id':
          c.nodeID = sec.str(k);
          this.mark('cluster_node_id');
          break;
        case 'bootstrap':
          c.bootstrap = sec.bool(k);
          this.mark('cluster_bootstrap');
          break;
        case 'peers':
          c.peers = sec.strList(k);
          this.mark('cluster_peers');
          break;
        case 'log_path': case 'raft_log_path':
          c.logPath = sec.str(k);
          this.mark('cluster_log_path');
          break;
        case 'log_cache_size':
          c.logCacheSize = sec.int(k);
          this.mark('cluster_log_cache_size');
          break;
        case 'log_snapshots':
          c.logSnapshots = sec.int(k);
          this.mark('cluster_log_snapshots');
          break;
        case 'trailing_logs':
          c.trailingLogs = sec.int(k);
          this.mark('cluster_trailing_logs');
          break;
        case 'sync':
          c.sync = sec.bool(k);
          this.mark('cluster_sync');
          break;
        case 'raft_logging':
          c.raftLogging = sec.bool(k);
          this.mark('cluster_raft_logging');
          break;
        case 'proceed_on_restore_failure':
          c.proceedOnRestoreFailure = sec.bool(k);
          this.mark('cluster_proceed_on_restore_failure');
          break;
        case 'allow_add_remove_node':
          c.allowAddRemoveNode = sec.bool(k);
          this.mark('cluster_allow_add_remove_node');
          break;
        case 'raft_heartbeat_timeout':
          c.raftHeartbeatTimeout = sec.duration(k);
          this.mark('cluster_raft_heartbeat_timeout');
          break;
        case 'raft_election_timeout':
          c.raftElectionTimeout = sec.duration(k);
          this.mark('cluster_raft_election_timeout');
          break;
        case 'raft_lease_timeout':
          c.raftLeaseTimeout = sec.duration(k);
          this.mark('cluster_raft_lease_timeout');
          break;
        case 'raft_commit_timeout':
          c.raftCommitTimeout = sec.duration(k);
          this.mark('cluster_raft_commit_timeout');
          break;
        case 'bolt_free_list_sync': case 'bolt_free_list_map': case 'nodes_connections':
          // Accepted for compatibility; no effect on this implementation (recorded only).
          sec.bool(k);
          this.mark(`cluster_${k.toLowerCase()}`);
          break;
        default:
          if (!NATS_CLUSTER_KEYS.has(k.toLowerCase())) this.unknown(sec, k, 'streaming cluster ');
      }
    }
  }

  // ---------------------------------------------------------------- NATS
  nats(sec: Section): void {
    const n = this.opts.nats;
    for (const k of sec.keys()) {
      switch (k.toLowerCase()) {
        case 'host': case 'net':
          n.host = sec.str(k);
          this.mark('addr');
          break;
        case 'listen': {
          const { host, port } = this.hostPort(sec, k);
          if (host !== undefined) n.host = host;
          n.port = port;
          this.mark('addr', 'port');
          break;
        }
        case 'port':
          n.port = sec.int(k);
          this.mark('port');
          break;
        case 'http': {
          const { host, port } = this.hostPort(sec, k);
          if (host !== undefined) n.httpHost = host;
          n.httpPort = port;
          this.mark('http_port');
          break;
        }
        case 'http_port': case 'monitor_port':
          n.httpPort = sec.int(k);
          this.mark('http_port');
          break;
        case 'https': {
          const { host, port } = this.hostPort(sec, k);
          if (host !== undefined) n.httpHost = host;
          n.httpsPort = port;
          this.mark('https_port');
          break;
        }
        case 'https_port':
          n.httpsPort = sec.int(k);
          this.mark('https_port');
          break;
        case 'pid_file': case 'pidfile':
          n.pidFile = sec.str(k);
          this.mark('pid');
          break;
        case 'log_file': case 'logfile':
          n.logFile = sec.str(k);
          this.mark('log');
          break;
        case 'logtime':
          n.logtime = sec.bool(k);
          this.mark('logtime');
          break;
        case 'debug':
          n.debug = sec.bool(k);
          this.mark('debug');
          break;
        case 'trace':
          n.trace = sec.bool(k);
          this.mark('trace');
          break;
        case 'syslog':
          n.syslog = sec.bool(k);
          this.mark('syslog');
          break;
        case 'remote_syslog':
          n.remoteSyslog = sec.str(k);
          this.mark('remote_syslog');
          break;
        case 'authorization':
          this.authorization(sec.sub(k));
          break;
        case 'no_auth_user':
          n.noAuthUser = sec.str(k);
          this.mark('no_auth_user');
          break;
        case 'tls':
          this.serverTLS(sec.sub(k));
          break;
        case 'cluster': {
          const c = sec.sub(k);
          n.clusterBlock = confToPlain(c.map) as Record<string, unknown>;
          this.mark('cluster');
          for (const ck of c.keys()) {
            if (ck.toLowerCase() === 'routes') {
              n.routes = c.strList(ck);
              this.mark('routes');
            }
          }
          break;
        }
        case 'routes':
          n.routes = sec.strList(k);
          this.mark('routes');
          break;
        case 'max_payload':
          n.maxPayload = sec.int(k, 'size');
          this.mark('max_payload');
          break;
        case 'max_control_line':
          n.maxControlLine = sec.int(k, 'size');
          this.mark('max_control_line');
          break;
        case 'max_pending':
          n.maxPending = sec.int(k, 'size');
          this.mark('max_pending');
          break;
        case 'max_connections': case 'max_conn':
          n.maxConnections = sec.int(k);
          this.mark('max_connections');
          break;
        case 'max_subscriptions': case 'max_subs':
          n.maxSubscriptions = sec.int(k);
          this.mark('max_subscriptions');
          break;
        case 'ping_interval':
          n.pingInterval = sec.durationOrSeconds(k);
          this.mark('ping_interval');
          break;
        case 'ping_max':
          n.pingMax = sec.int(k);
          this.mark('ping_max');
          break;
        case 'write_deadline':
          n.writeDeadline = sec.durationOrSeconds(k);
          this.mark('write_deadline');
          break;
        case 'nats_server_bin':
          n.natsServerBin = sec.str(k);
          this.mark('nats_server_bin');
          break;
        default:
        // Unknown-key warnings are emitted by the caller.
      }
    }
  }

  private hostPort(sec: Section, k: string): { host?: string; port: number } {
    const v = sec.get(k);
    if (typeof v === 'number' && Number.isInteger(v)) return { port: v };
    if (typeof v !== 'string') throw sec.typeError(k, 'string', v);
    const idx = v.lastIndexOf(':');
    const portStr = idx >= 0 ? v.slice(idx + 1) : v;
    const host = idx >= 0 ? v.slice(0, idx).replace(/^\[(.*)\]$/, '$1') : undefined;
    if (!/^\d+$/.test(portStr)) throw sec.error(k, `could not parse ${JSON.stringify(k)} address ${JSON.stringify(v)}: invalid port`);
    return { host, port: Number(portStr) };
  }

  /**
   * `authorization { user, password | token | users [...], timeout, default_permissions }`
   * (spec nats-core §5.1). Combinations nats-server refuses are refused here too, with its
   * wording and the block's position.
   */
  private authorization(sec: Section): void {
    const n = this.opts.nats;
    this.mark('auth');
    let userKey: string | undefined;
    let tokenKey: string | undefined;
    let usersKey: string | undefined;
    for (const k of sec.keys()) {
      switch (k.toLowerCase()) {
        case 'user': case 'username':
          n.username = sec.str(k);
          userKey = k;
          break;
        case 'password': case 'pass':
          n.password = sec.str(k);
          break;
        case 'token':
          n.authorization = sec.str(k);
          tokenKey = k;
          break;
        case 'timeout':
          n.authTimeout = sec.durationOrSeconds(k);
          this.mark('auth_timeout');
          if (!(n.authTimeout > 0)) throw sec.error(k, 'authorization timeout must be a positive number of seconds or a duration (e.g. 2 or "2s")');
          break;
        case 'users': {
          const v = sec.get(k);
          if (!Array.isArray(v)) throw sec.typeError(k, 'array', v);
          usersKey = k;
          n.users = v.map((u, i): NatsAuthUser => this.authUser(sec, k, u, i));
          break;
        }
        case 'default_permissions': case 'default_permission': case 'permissions':
          n.defaultPermissions = this.permissions(sec.sub(k));
          break;
        case 'nkeys':
          throw sec.error(k, 'authorization nkeys are not supported by this server: use users with passwords (bcrypt hashes allowed) or a token');
        default:
          this.warnings.push(`${sec.where(k)}unknown authorization key ${JSON.stringify(k)} (ignored)`);
      }
    }
    const at = userKey ?? tokenKey ?? usersKey;
    if (at !== undefined) {
      if (tokenKey !== undefined && usersKey !== undefined) throw sec.error(at, 'Can not have a token and a users array');
      if (userKey !== undefined && usersKey !== undefined) throw sec.error(at, 'Can not have a single user/pass and a users array');
      if (userKey !== undefined && tokenKey !== undefined) throw sec.error(at, 'Cannot have a user/pass and token');
    }
  }

  private authUser(sec: Section, key: string, u: ConfValue, i: number): NatsAuthUser {
    const where = this.doc().pos(sec.get(key) as ConfValue[], i) ?? sec.pos(key);
    const prefix = where ? `${formatPos(where)}: ` : '';
    if (!isConfMap(u)) throw new ConfigError(`${prefix}authorization users[${i}] is expected to be a map, got ${describeValue(u)}`);
    const us = new Section(this.doc(), u, where);
    const out: NatsAuthUser = { user: '', password: '' };
    for (const uk of us.keys()) {
      switch (uk.toLowerCase()) {
        case 'user': case 'username': out.user = us.str(uk); break;
        case 'password': case 'pass': out.password = us.str(uk); break;
        case 'permissions': case 'permission': out.permissions = this.permissions(us.sub(uk)); break;
        case 'nkey':
          throw us.error(uk, 'nkey users are not supported by this server: give the user a password (bcrypt hashes allowed)');
        default:
          this.warnings.push(`${us.where(uk)}unknown key ${JSON.stringify(uk)} in authorization users[${i}] (ignored)`);
      }
    }
    if (out.user === '') throw new ConfigError(`${prefix}authorization users[${i}] has no "user"`);
    return out;
  }

  /** `{ publish, subscribe, allow_responses }` of a user or `default_permissions`. */
  private permissions(sec: Section): NatsPermissions {
    const out: NatsPermissions = {};
    for (const k of sec.keys()) {
      switch (k.toLowerCase()) {
        case 'publish': case 'pub':
          out.publish = this.subjectPermission(sec, k, 'publish');
          break;
        case 'subscribe': case 'sub':
          out.subscribe = this.subjectPermission(sec, k, 'subscribe');
          break;
        case 'allow_responses': case 'allow_response': {
          const r = this.responsePermission(sec, k);
          if (r !== undefined) out.allowResponses = r;
          else delete out.allowResponses;
          break;
        }
        default:
          throw sec.error(k, `unknown field ${JSON.stringify(k)} parsing permissions (expected publish, subscribe or allow_responses)`);
      }
    }
    // As nats-server: allow_responses without a publish allow list allows only responses.
    if (out.allowResponses !== undefined) {
      out.publish = { allow: out.publish?.allow ?? [], deny: out.publish?.deny ?? [] };
    }
    return out;
  }

  /** `"subj"`, `["a", "b"]` (allow only) or `{ allow: …, deny: … }`. */
  private subjectPermission(sec: Section, k: string, dir: 'publish' | 'subscribe'): SubjectPermission {
    const v = sec.get(k);
    if (typeof v === 'string' || Array.isArray(v)) {
      const allow = this.subjectList(sec, k, dir);
      return { allow: allow.length > 0 ? allow : null, deny: [] };
    }
    if (!isConfMap(v)) throw sec.typeError(k, 'map', v);
    const m = sec.sub(k);
    const out: SubjectPermission = { allow: null, deny: [] };
    for (const mk of m.keys()) {
      switch (mk.toLowerCase()) {
        case 'allow': {
          // An empty allow list means "no allow list" (spec nats-core §5.2).
          const allow = this.subjectList(m, mk, dir);
          out.allow = allow.length > 0 ? allow : null;
          break;
        }
        case 'deny':
          out.deny = this.subjectList(m, mk, dir);
          break;
        default:
          throw m.error(mk, `unknown field ${JSON.stringify(mk)} parsing ${dir} permissions (expected allow or deny)`);
      }
    }
    return out;
  }

  private subjectList(sec: Section, k: string, dir: 'publish' | 'subscribe'): string[] {
    const v = sec.get(k);
    const list = typeof v === 'string' ? [v] : sec.strList(k);
    list.forEach((e, i) => {
      const err = invalidPermissionEntry(e, dir);
      if (err === undefined) return;
      const p = Array.isArray(v) ? (this.doc().pos(v, i) ?? sec.pos(k)) : sec.pos(k);
      throw new ConfigError(`${p ? formatPos(p) + ': ' : ''}${err}`);
    });
    return list.map((e) => e.trim());
  }

  /** `allow_responses: true` (1 response within 2 minutes) or `{ max, expires }`. */
  private responsePermission(sec: Section, k: string): ResponsePermission | undefined {
    const v = sec.get(k);
    const dflt: ResponsePermission = { max: 1, expires: 120_000 };
    if (typeof v === 'boolean') return v ? dflt : undefined;
    if (!isConfMap(v)) throw sec.typeError(k, 'map', v);
    const m = sec.sub(k);
    const out = { ...dflt };
    for (const mk of m.keys()) {
      switch (mk.toLowerCase()) {
        case 'max': case 'max_msgs': case 'max_messages': case 'max_responses':
          out.max = m.int(mk);
          break;
        case 'expires': case 'ttl':
          out.expires = m.durationOrSeconds(mk);
          break;
        default:
          throw m.error(mk, `unknown field ${JSON.stringify(mk)} parsing allow_responses (expected max or expires)`);
      }
    }
    return out;
  }

  private serverTLS(sec: Section): void {
    const n = this.opts.nats;
    const lower = sec.keys().map((k) => k.toLowerCase());
    // A `tls` block with only client-side (streaming) keys is not a server TLS configuration.
    if (!lower.some((k) => TLS_SERVER_KEYS.has(k))) return;
    n.tls = true;
    this.mark('tls');
    for (const k of sec.keys()) {
      switch (k.toLowerCase()) {
        case 'cert_file':
          n.tlsCert = sec.str(k);
          break;
        case 'key_file':
          n.tlsKey = sec.str(k);
          break;
        case 'ca_file':
          n.tlsCaCert = sec.str(k);
          break;
        case 'verify':
          n.tlsVerify = sec.bool(k);
          break;
        case 'timeout':
          n.tlsTimeout = sec.durationOrSeconds(k);
          break;
        case 'verify_and_map': case 'handshake_first':
          // Accepting these without honouring them would weaken what the operator asked for.
          if (sec.get(k) !== false) throw sec.error(k, `not supported yet: tls ${k.toLowerCase()}; remove it (verify: true checks client certificates against ca_file)`);
          break;
        case 'pinned_certs': case 'cert_store': case 'cert_match': case 'cert_match_by': case 'ocsp_peer':
          throw sec.error(k, `not supported yet: tls ${k.toLowerCase()}; remove it`);
        case 'min_version': {
          const v = sec.str(k);
          // Node (like Go) already refuses anything below TLS 1.2.
          if (v !== '1.2') throw sec.error(k, `not supported yet: tls min_version ${JSON.stringify(v)}; the minimum is always TLS 1.2, remove it or set "1.2"`);
          break;
        }
        case 'cipher_suites': case 'curve_preferences': case 'connection_rate_limit':
          this.warnings.push(`${sec.where(k)}tls ${k.toLowerCase()} is not supported (ignored): Node's default TLS 1.2/1.3 settings are used`);
          break;
        default:
        // insecure: outgoing connections only (nats-server ignores it for clients).
      }
    }
  }

  private docRef: ConfDocument | undefined;
  doc(): ConfDocument {
    if (!this.docRef) throw new Error('no document');
    return this.docRef;
  }
  setDoc(d: ConfDocument): void {
    this.docRef = d;
  }
}

/**
 * Applies `doc` to `opts` (mutated). Returns nothing; appends warnings (unknown keys…)
 * to `warnings`. Throws {@link ConfigError}.
 */
export function applyConfigDocument(
  doc: ConfDocument,
  opts: ServerOptions,
  targets: ApplyConfigTargets,
  warnings: string[],
): void {
  const root = new Section(doc, doc.root, undefined);
  const a = new Applier(opts, warnings);
  a.setDoc(doc);
  let streamingKey: string | undefined;
  for (const k of root.keys()) if (k.toLowerCase() === 'streaming') streamingKey = k;
  let streamingSec: Section | undefined;
  if (streamingKey !== undefined) {
    const v = root.get(streamingKey);
    if (!isConfMap(v)) {
      throw new ConfigError(`${root.where(streamingKey)}expected streaming section to be a map/struct, got ${describeValue(v)}`);
    }
    streamingSec = root.sub(streamingKey);
  }
  if (targets.streaming) a.streaming(streamingSec ?? root, streamingSec !== undefined);
  if (targets.nats) a.nats(root);
  // Top-level keys unknown to both modules.
  for (const k of root.keys()) {
    const name = k.toLowerCase();
    if (name === 'streaming') continue;
    if (NATS_USED_KEYS.has(name) || NATS_IGNORED_KEYS.has(name) || root.isUsedVariable(k)) continue;
    if (STREAMING_KEYS.has(name)) {
      if (streamingSec && targets.streaming) {
        warnings.push(
          `${root.where(k)}streaming configuration key ${JSON.stringify(k)} is ignored: a "streaming" block exists, streaming options must be inside it`,
        );
      }
      continue;
    }
    warnings.push(`${root.where(k)}unknown configuration key ${JSON.stringify(k)} (ignored)`);
  }
}

/**
 * The reference's `util.IsChannelNameValid`: non-empty dot-separated tokens without
 * white space; with `wildcardsAllowed`, a token may be `*`, and `>` may be the last token.
 */
export function isChannelNameValid(name: string, wildcardsAllowed: boolean): boolean {
  if (name === '') return false;
  const tokens = name.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    if (t === '' || /\s/.test(t)) return false;
    if (t.includes('*') || t.includes('>')) {
      if (!wildcardsAllowed) return false;
      if (t === '*') continue;
      if (t === '>' && i === tokens.length - 1) continue;
      return false;
    }
  }
  return true;
}

/** True when the channel name has no wildcard token. */
export function isChannelNameLiteral(name: string): boolean {
  return !name.split('.').some((t) => t === '*' || t === '>');
}
