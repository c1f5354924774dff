/**
 * Top-level keys the loader knows without applying them through a table: used to tell
 * "unknown key" from "key of the other module" (streaming vs NATS) or "NATS key we ignore".
 */

/** Keys of the streaming server (top level or inside `streaming { }`). */
export const STREAMING_KEYS = new Set([
  'id', 'cid', 'cluster_id', 'discover_prefix', 'st', 'store_type', 'store', 'storetype', 'dir', 'datastore',
  'sd', 'stan_debug', 'sv', 'stan_trace', 'ns', 'nats_server', 'nats_server_url', 'secure', 'tls', 'limits',
  'store_limits', 'storelimits', 'file', 'file_options', 'sql', 'sql_options', 'hbi', 'hb_interval',
  'server_to_client_hb_interval', 'hbt', 'hb_timeout', 'server_to_client_hb_timeout', 'hbf', 'hb_fail_count',
  'server_to_client_hb_fail_count', 'ft_group', 'ft_group_name', 'ft_lease_ttl', 'ft_lease_renew', 'ft_lease_poll', 'ft_standby_on_loss', 'partitioning', 'cluster', 'syslog_name',
  'encrypt', 'encryption_cipher', 'encryption_key', 'credentials', 'username', 'user', 'password', 'pass',
  'token', 'nkey_seed_file', 'replace_durable', 'replace_durables', 'replace_duplicate_durable',
  'replace_duplicate_durables', 'admin_token', 'admin_token_file',
]);

/** NATS server keys we apply. */
export const NATS_USED_KEYS = new Set([
  'host', 'net', 'listen', 'port', 'http', 'http_port', 'monitor_port', 'https', 'https_port', 'pid_file',
  'pidfile', 'log_file', 'logfile', 'logtime', 'debug', 'trace', 'syslog', 'remote_syslog', 'authorization',
  'tls', 'cluster', 'routes', 'max_payload', 'max_control_line', 'max_pending', 'max_connections', 'max_conn',
  'max_subscriptions', 'max_subs', 'ping_interval', 'ping_max', 'write_deadline', 'nats_server_bin', 'no_auth_user',
]);

/** NATS server keys we know but do not use: ignored silently. */
export const NATS_IGNORED_KEYS = new Set([
  'server_name', 'client_advertise', 'jetstream', 'accounts', 'system_account', 'system', 'no_system_account',
  'operator', 'operators', 'resolver', 'resolver_preload', 'resolver_tls', 'trusted', 'trusted_keys',
  'leafnodes', 'leaf', 'gateway', 'gateways', 'websocket', 'ws', 'mqtt', 'lame_duck_duration',
  'lame_duck_grace_period', 'max_closed_clients', 'max_traced_msg_len', 'logfile_size_limit',
  'log_size_limit', 'logfile_max_num', 'log_max_num', 'ports_file_dir', 'connect_error_reports',
  'reconnect_error_reports', 'no_header_support', 'disable_sublist_cache', 'http_base_path', 'trace_verbose',
  'server_tags', 'default_js_domain', 'ocsp', 'ocsp_cache', 'prof_port', 'allow_non_tls', 'nkeys', 'users',
  'tags', 'max_account_connections', 'max_account_subscriptions', 'syslog_name', 'pinned_certs',
]);

/** Keys of the embedded server's `tls { }` block (the streaming client keys are in tls.ts). */
export const TLS_SERVER_KEYS = new Set([
  'cert_file', 'key_file', 'ca_file', 'verify', 'timeout', 'cipher_suites', 'curve_preferences', 'insecure',
  'verify_and_map', 'verify_cert_and_check_known_urls', 'pinned_certs', 'handshake_first', 'cert_store',
  'cert_match', 'cert_match_by', 'ocsp_peer', 'min_version', 'connection_rate_limit',
]);

/** Keys of the NATS `cluster { }` block, which shares its name with streaming clustering. */
export const NATS_CLUSTER_KEYS = new Set(['listen', 'host', 'port', 'routes', 'name', 'authorization', 'advertise', 'cluster_advertise', 'no_advertise', 'connect_retries', 'pool_size', 'compression']);
