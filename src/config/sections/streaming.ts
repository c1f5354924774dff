/**
 * Streaming server keys (spec stan §5.1), top level or inside `streaming { }`, and the
 * blocks they lead to (limits, stores, TLS, clustering).
 */
import { asBool as bool, asNumber as num, asString as str, toStoreType } from '../values';
import { applyKeys, handled, key, mark, warnUnknown, type ApplyContext, type HandledKey } from './keyspec';
import { applyClustering } from './clustering';
import { NATS_CLUSTER_KEYS } from './known-keys';
import type { ConfReader } from './reader';
import { applyStoreLimits } from './store-limits';
import { applyFileOptions, applySqlOptions } from './stores';
import { applyClientTLS } from './tls';

const CORE_KEYS = [
  key(['id', 'cid', 'cluster_id'], 'string', 'cluster_id', (o, v) => { o.streaming.clusterID = str(v); }),
  key(['discover_prefix'], 'string', 'discover_prefix', (o, v) => { o.streaming.discoverPrefix = str(v); }),
  handled(['st', 'store_type', 'store', 'storetype'], (ctx, sec, k) => {
    const v = sec.str(k);
    const st = toStoreType(v);
    if (!st) throw sec.error(k, `unknown store type: ${v}`);
    ctx.opts.streaming.storeType = st;
    mark(ctx, 'store');
  }),
  key(['dir', 'datastore'], 'string', 'dir', (o, v) => { o.streaming.filestoreDir = str(v); }),
  key(['sd', 'stan_debug'], 'bool', 'stan_debug', (o, v) => { o.streaming.debug = bool(v); }),
  key(['sv', 'stan_trace'], 'bool', 'stan_trace', (o, v) => { o.streaming.trace = bool(v); }),
  key(['ns', 'nats_server', 'nats_server_url'], 'string', 'nats_server', (o, v) => { o.streaming.natsServerURL = str(v); }),
  key(['secure'], 'bool', 'secure', (o, v) => { o.streaming.secure = bool(v); }),
  handled(['tls'], (ctx, sec, k) => applyClientTLS(ctx, sec.sub(k))),
  handled(['limits', 'store_limits', 'storelimits'], (ctx, sec, k) => applyStoreLimits(ctx, sec.sub(k))),
  handled(['file', 'file_options'], (ctx, sec, k) => applyFileOptions(ctx, sec.sub(k))),
  handled(['sql', 'sql_options'], (ctx, sec, k) => applySqlOptions(ctx, sec.sub(k))),
  key(['hbi', 'hb_interval', 'server_to_client_hb_interval'], 'duration', 'hb_interval', (o, v) => { o.streaming.clientHBInterval = num(v); }),
  key(['hbt', 'hb_timeout', 'server_to_client_hb_timeout'], 'duration', 'hb_timeout', (o, v) => { o.streaming.clientHBTimeout = num(v); }),
  key(['hbf', 'hb_fail_count', 'server_to_client_hb_fail_count'], 'int', 'hb_fail_count', (o, v) => { o.streaming.clientHBFailCount = num(v); }),
  key(['partitioning'], 'bool', 'partitioning', (o, v) => { o.streaming.partitioning = bool(v); }),
  key(['syslog_name'], 'string', 'syslog_name', (o, v) => { o.streaming.syslogName = str(v); }),
  key(['replace_durable', 'replace_durables', 'replace_duplicate_durable', 'replace_duplicate_durables'], 'bool', 'replace_durable', (o, v) => {
    o.streaming.replaceDurable = bool(v);
  }),
];

/** Fault tolerance (spec stan §7.1). */
const FT_KEYS = [
  key(['ft_group', 'ft_group_name'], 'string', 'ft_group', (o, v) => { o.streaming.ftGroupName = str(v); }),
  key(['ft_lease_ttl'], 'duration', 'ft_lease_ttl', (o, v) => { o.streaming.ftLeaseTTL = num(v); }),
  key(['ft_lease_renew'], 'duration', 'ft_lease_renew', (o, v) => { o.streaming.ftLeaseRenew = num(v); }),
  key(['ft_lease_poll'], 'duration', 'ft_lease_poll', (o, v) => { o.streaming.ftLeasePoll = num(v); }),
  key(['ft_standby_on_loss'], 'bool', 'ft_standby_on_loss', (o, v) => { o.streaming.ftStandbyOnLoss = bool(v); }),
];

/** Encryption at rest. */
const ENCRYPTION_KEYS = [
  key(['encrypt'], 'bool', 'encrypt', (o, v) => { o.streaming.encrypt = bool(v); }),
  key(['encryption_cipher'], 'string', 'encryption_cipher', (o, v) => { o.streaming.encryptionCipher = str(v); }),
  handled(['encryption_key'], (ctx, sec, k) => {
    const s = ctx.opts.streaming;
    s.encryptionKey = sec.str(k);
    mark(ctx, 'encryption_key');
    // Giving a key turns encryption on.
    if (s.encryptionKey !== '') {
      s.encrypt = true;
      mark(ctx, 'encrypt');
    }
  }),
];

/** Credentials of the server's own NATS connections. */
const NATS_CLIENT_KEYS = [
  key(['credentials'], 'string', 'credentials', (o, v) => { o.streaming.natsCredentials = str(v); }),
  key(['username', 'user'], 'string', 'username', (o, v) => { o.streaming.natsUser = str(v); }),
  key(['password', 'pass'], 'string', 'password', (o, v) => { o.streaming.natsPassword = str(v); }),
  key(['token'], 'string', 'token', (o, v) => { o.streaming.natsToken = str(v); }),
  key(['nkey_seed_file'], 'string', 'nkey_seed_file', (o, v) => { o.streaming.natsNkeySeedFile = str(v); }),
];

/** Admin API (/admin/v1/ on the monitoring port): its bearer token, inline or from a file. */
const ADMIN_KEYS = [
  key(['admin_token'], 'string', 'admin_token', (o, v) => { o.streaming.adminToken = str(v); }),
  key(['admin_token_file'], 'string', 'admin_token_file', (o, v) => { o.streaming.adminTokenFile = str(v); }),
];

/** `cluster { }` at the top level is shared with NATS clustering: say so when it mixes both. */
function clusterKey(inBlock: boolean): HandledKey {
  return handled(['cluster'], (ctx: ApplyContext, sec: ConfReader, k: string) => {
    const c = sec.sub(k);
    if (!inBlock && c.keys().some((ck) => NATS_CLUSTER_KEYS.has(ck.toLowerCase()))) {
      ctx.warnings.push(
        `${sec.where(k)}the top-level "cluster" block is used for both NATS and Streaming clustering; ` +
          'put the streaming options in a "streaming { }" block to avoid enabling streaming clustering',
      );
    }
    applyClustering(ctx, c);
  });
}

const TOP_LEVEL_KEYS = [...CORE_KEYS, ...FT_KEYS, ...ENCRYPTION_KEYS, ...NATS_CLIENT_KEYS, ...ADMIN_KEYS, clusterKey(false)];
const BLOCK_KEYS = [...CORE_KEYS, ...FT_KEYS, ...ENCRYPTION_KEYS, ...NATS_CLIENT_KEYS, ...ADMIN_KEYS, clusterKey(true)];

/**
 * Applies the streaming keys of `sec`: the `streaming { }` block (`inBlock`), or the top
 * level. At the top level, unknown-key warnings are emitted once for both modules by the
 * caller.
 */
export function applyStreaming(ctx: ApplyContext, sec: ConfReader, inBlock: boolean): void {
  if (inBlock) applyKeys(ctx, sec, BLOCK_KEYS, (k) => warnUnknown(ctx, sec, k, 'streaming '));
  else applyKeys(ctx, sec, TOP_LEVEL_KEYS, () => undefined);
}
