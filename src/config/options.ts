/**
 * The complete, typed option set of the server: what the CLI parser and the config-file
 * loader produce, and what the server consumes. Durations are milliseconds, sizes bytes.
 *
 * Defaults mirror the reference (see ../shared/docs/stan-protocol.md §5).
 */

/** Limits of one channel. `undefined` = inherit (per-channel entries); 0 = unlimited at the global level. */
export interface ChannelLimits {
  maxSubscriptions: number;
  maxMsgs: number;
  maxBytes: number;
  /** ms, 0 = unlimited */
  maxAge: number;
  /** ms, 0 = never */
  maxInactivity: number;
}

/**
 * A per-channel entry as written by the user. A field left out inherits; in the config
 * file 0 means "unlimited" and is stored as -1 (the reference's convention), so that
 * inheritance can tell "unset" from "explicitly unlimited".
 */
export type PartialChannelLimits = Partial<ChannelLimits> &
  DeadLetterSettings & {
    /** Dead-letter settings of single durables of the channel, by durable name. */
    durables?: Record<string, DeadLetterSettings>;
  };

/**
 * Max deliveries and dead letters (beyond the reference, docs/dead-letters.md). Not a
 * retention limit, so kept apart from ChannelLimits. `undefined` = inherit; maxDeliveries
 * 0 = unlimited (a config-file 0 in an entry is stored as -1, like the limits above);
 * deadLetter "" = none, else a channel name where `{channel}` stands for the source channel.
 */
export interface DeadLetterSettings {
  maxDeliveries?: number;
  deadLetter?: string;
}

export interface StoreLimits extends ChannelLimits, DeadLetterSettings {
  maxChannels: number;
  /** Keyed by channel name or wildcard pattern (`foo.*`, `foo.>`). */
  perChannel: Record<string, PartialChannelLimits>;
}

export type StoreType = 'MEMORY' | 'FILE' | 'SQL';

export interface FileStoreOptions {
  compactEnabled: boolean;
  compactFragmentation: number;
  compactInterval: number; // seconds
  compactMinSize: number;
  bufferSize: number;
  doCRC: boolean;
  crcPolynomial: number;
  doSync: boolean;
  sliceMaxMsgs: number;
  sliceMaxBytes: number;
  sliceMaxAge: number; // ms
  sliceArchiveScript: string;
  fileDescriptorsLimit: number;
  parallelRecovery: number;
  readBufferSize: number;
  autoSync: number; // ms
  truncateBadEOF: boolean;
}

export interface SQLStoreOptions {
  driver: string;
  source: string;
  noCaching: boolean;
  maxOpenConns: number;
  bulkInsertLimit: number;
  /** Apply pending schema migrations at start-up (our extension: `--sql_auto_migrate`). */
  autoMigrate: boolean;
  /**
   * Group-commit transactions in flight at most, `--store sql` only (our extension:
   * `--sql_commit_depth`, src/config/sql-commit-depth.ts); 0 or absent = the default per
   * database. Optional: option objects written before the flag existed stay valid.
   */
  commitDepth?: number;
}

export interface ClusteringOptions {
  clustered: boolean;
  nodeID: string;
  bootstrap: boolean;
  peers: string[];
  logPath: string;
  logCacheSize: number;
  logSnapshots: number;
  trailingLogs: number;
  sync: boolean;
  raftLogging: boolean;
  proceedOnRestoreFailure: boolean;
  allowAddRemoveNode: boolean;
  raftHeartbeatTimeout: number;
  raftElectionTimeout: number;
  raftLeaseTimeout: number;
  raftCommitTimeout: number;
  /**
   * BoltDB tuning of the reference's Raft log (`bolt_free_list_sync`, `bolt_free_list_map`)
   * and its per-node NATS connections (`nodes_connections`). Accepted so existing config files
   * load unchanged; there is no Raft log here (replication is the database's job).
   */
  boltFreeListSync: boolean;
  boltFreeListMap: boolean;
  nodesConnections: boolean;
}

/** TLS used by the streaming server's own connection to NATS (client side). */
export interface ClientTLSOptions {
  clientCert: string;
  clientKey: string;
  clientCA: string;
  serverName: string;
  insecure: boolean;
}

export interface StreamingOptions {
  clusterID: string;
  discoverPrefix: string;
  storeType: StoreType;
  filestoreDir: string;
  storeLimits: StoreLimits;
  file: FileStoreOptions;
  sql: SQLStoreOptions;
  /** ms */
  clientHBInterval: number;
  /** ms */
  clientHBTimeout: number;
  clientHBFailCount: number;
  natsServerURL: string;
  natsCredentials: string;
  natsUser: string;
  natsPassword: string;
  natsToken: string;
  natsNkeySeedFile: string;
  ftGroupName: string;
  /** FT lease duration (ms): a standby takes over this long after the active's last renewal. */
  ftLeaseTTL: number;
  /** FT lease renewal interval of the active (ms). */
  ftLeaseRenew: number;
  /** FT lease polling interval of a standby (ms). */
  ftLeasePoll: number;
  /** FT: after losing the lease, go back to standby instead of exiting non-zero. */
  ftStandbyOnLoss: boolean;
  partitioning: boolean;
  debug: boolean;
  trace: boolean;
  secure: boolean;
  tls: ClientTLSOptions;
  ioBatchSize: number;
  /** microseconds */
  ioSleepTime: number;
  syslogName: string;
  encrypt: boolean;
  encryptionCipher: string;
  encryptionKey: string;
  replaceDurable: boolean;
  /** Bearer token of the admin API (/admin/v1/ on the monitoring port); '' = none. */
  adminToken: string;
  /** File holding the admin API token (read at start-up, surrounding whitespace cut); '' = none. */
  adminTokenFile: string;
  clustering: ClusteringOptions;
}

/**
 * Allow/deny subject lists of one direction (publish or subscribe). Entries may use
 * wildcards; subscribe entries may be `"subject queue"`. `allow: null` = no allow list
 * (everything not denied is allowed); `allow: []` = nothing is allowed.
 */
export interface SubjectPermission {
  allow: string[] | null;
  deny: string[];
}

/** `allow_responses`: publishing to reply subjects of received requests. */
export interface ResponsePermission {
  /** Responses allowed per request. */
  max: number;
  /** ms a reply subject stays usable. */
  expires: number;
}

export interface NatsPermissions {
  publish?: SubjectPermission;
  subscribe?: SubjectPermission;
  allowResponses?: ResponsePermission;
}

export interface NatsAuthUser {
  user: string;
  /** Plain text or a bcrypt hash (`$2a$…`, `$2b$…`). */
  password: string;
  permissions?: NatsPermissions;
}

/** Options of the embedded NATS server (and logging, which the reference shares with it). */
export interface NatsServerOptions {
  host: string;
  port: number;
  httpHost: string;
  httpPort: number;
  httpsPort: number;
  pidFile: string;
  logFile: string;
  logtime: boolean;
  syslog: boolean;
  remoteSyslog: string;
  debug: boolean;
  trace: boolean;
  username: string;
  password: string;
  authorization: string;
  users: NatsAuthUser[];
  /** `authorization.default_permissions`: for users without their own permissions. */
  defaultPermissions?: NatsPermissions;
  /** `no_auth_user`: a CONNECT without credentials is bound to this user of `users`. */
  noAuthUser: string;
  authTimeout: number; // ms
  tls: boolean;
  tlsCert: string;
  tlsKey: string;
  tlsVerify: boolean;
  tlsCaCert: string;
  tlsTimeout: number; // ms
  routes: string[];
  cluster: string;
  /** The raw `cluster { }` block when given in the NATS config file. */
  clusterBlock?: Record<string, unknown>;
  maxPayload: number;
  maxControlLine: number;
  maxPending: number;
  maxConnections: number;
  maxSubscriptions: number;
  pingInterval: number; // ms
  pingMax: number;
  writeDeadline: number; // ms
  /** JSON logs instead of the reference text format (our extension). */
  logJSON: boolean;
  /**
   * The nats-server executable run for the NATS cluster options (`--cluster`, `--routes`,
   * `cluster { }`); empty = `nats-server` on PATH (our extension: `--nats_server_bin`).
   */
  natsServerBin: string;
}

export interface ServerOptions {
  streaming: StreamingOptions;
  nats: NatsServerOptions;
  /**
   * Options that were explicitly given (CLI or config file), as canonical long names
   * (`cluster_id`, `store`, `ft_group` …). Used to refuse features that are not implemented
   * yet instead of ignoring them, and to mark limits inherited from defaults with `*`.
   */
  explicit: Set<string>;
}

export const DEFAULT_CHANNEL_LIMITS: ChannelLimits = {
  maxSubscriptions: 1000,
  maxMsgs: 1_000_000,
  maxBytes: 1_000_000 * 1024,
  maxAge: 0,
  maxInactivity: 0,
};

export function defaultStoreLimits(): StoreLimits {
  return { maxChannels: 100, ...DEFAULT_CHANNEL_LIMITS, perChannel: {} };
}

export function defaultStreamingOptions(): StreamingOptions {
  return {
    clusterID: 'test-cluster',
    discoverPrefix: '_STAN.discover',
    storeType: 'MEMORY',
    filestoreDir: '',
    storeLimits: defaultStoreLimits(),
    file: {
      compactEnabled: true,
      compactFragmentation: 50,
      compactInterval: 300,
      compactMinSize: 1024 * 1024,
      bufferSize: 2 * 1024 * 1024,
      doCRC: true,
      crcPolynomial: 0xedb88320,
      doSync: true,
      sliceMaxMsgs: 0,
      sliceMaxBytes: 64 * 1024 * 1024,
      sliceMaxAge: 0,
      sliceArchiveScript: '',
      fileDescriptorsLimit: 0,
      parallelRecovery: 1,
      readBufferSize: 2 * 1024 * 1024,
      autoSync: 60_000,
      truncateBadEOF: false,
    },
    sql: { driver: '', source: '', noCaching: false, maxOpenConns: 0, bulkInsertLimit: 0, autoMigrate: false, commitDepth: 0 },
    clientHBInterval: 30_000,
    clientHBTimeout: 10_000,
    clientHBFailCount: 10,
    natsServerURL: '',
    natsCredentials: '',
    natsUser: '',
    natsPassword: '',
    natsToken: '',
    natsNkeySeedFile: '',
    ftGroupName: '',
    ftLeaseTTL: 1500,
    ftLeaseRenew: 250,
    ftLeasePoll: 200,
    ftStandbyOnLoss: false,
    partitioning: false,
    debug: false,
    trace: false,
    secure: false,
    tls: { clientCert: '', clientKey: '', clientCA: '', serverName: '', insecure: false },
    ioBatchSize: 1024,
    ioSleepTime: 0,
    syslogName: '',
    encrypt: false,
    encryptionCipher: '',
    encryptionKey: '',
    replaceDurable: false,
    adminToken: '',
    adminTokenFile: '',
    clustering: {
      clustered: false,
      nodeID: '',
      bootstrap: false,
      peers: [],
      logPath: '',
      logCacheSize: 512,
      logSnapshots: 2,
      trailingLogs: 10240,
      sync: false,
      raftLogging: false,
      proceedOnRestoreFailure: false,
      allowAddRemoveNode: false,
      raftHeartbeatTimeout: 2000,
      raftElectionTimeout: 2000,
      raftLeaseTimeout: 1000,
      raftCommitTimeout: 100,
      boltFreeListSync: false,
      boltFreeListMap: false,
      nodesConnections: false,
    },
  };
}

export function defaultNatsServerOptions(): NatsServerOptions {
  return {
    host: '0.0.0.0',
    port: 4222,
    httpHost: '0.0.0.0',
    httpPort: 0,
    httpsPort: 0,
    pidFile: '',
    logFile: '',
    logtime: true,
    syslog: false,
    remoteSyslog: '',
    debug: false,
    trace: false,
    username: '',
    password: '',
    authorization: '',
    users: [],
    noAuthUser: '',
    authTimeout: 2000,
    tls: false,
    tlsCert: '',
    tlsKey: '',
    tlsVerify: false,
    tlsCaCert: '',
    tlsTimeout: 2000,
    routes: [],
    cluster: '',
    maxPayload: 1024 * 1024,
    maxControlLine: 4096,
    maxPending: 64 * 1024 * 1024,
    maxConnections: 64 * 1024,
    maxSubscriptions: 0,
    pingInterval: 120_000,
    pingMax: 2,
    writeDeadline: 10_000,
    logJSON: false,
    natsServerBin: '',
  };
}

export function defaultServerOptions(): ServerOptions {
  return { streaming: defaultStreamingOptions(), nats: defaultNatsServerOptions(), explicit: new Set() };
}
