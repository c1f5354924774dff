/**
 * The `tls { }` block. One block serves two modules: the streaming server's client-side
 * keys (its connections to NATS) and the embedded NATS server's keys.
 */
import { asBool as bool, asNumber as num, asString as str } from '../values';
import { applyKeys, handled, key, mark, warnUnknown, type ApplyContext } from './keyspec';
import { TLS_SERVER_KEYS } from './known-keys';
import type { ConfReader } from './reader';

const CLIENT_TLS_KEYS = [
  key(['client_cert'], 'string', 'tls_client_cert', (o, v) => { o.streaming.tls.clientCert = str(v); }),
  key(['client_key'], 'string', 'tls_client_key', (o, v) => { o.streaming.tls.clientKey = str(v); }),
  key(['client_ca', 'client_cacert'], 'string', 'tls_client_cacert', (o, v) => { o.streaming.tls.clientCA = str(v); }),
  key(['server_name', 'server_hostname'], 'string', 'tls_client_server_name', (o, v) => { o.streaming.tls.serverName = str(v); }),
  key(['skip_verify', 'insecure'], 'bool', 'tls_client_insecure', (o, v) => { o.streaming.tls.insecure = bool(v); }),
];

/** Streaming side: how the server's own NATS connections use TLS. */
export function applyClientTLS(ctx: ApplyContext, sec: ConfReader): void {
  applyKeys(ctx, sec, CLIENT_TLS_KEYS, (k) => {
    if (!TLS_SERVER_KEYS.has(k.toLowerCase())) warnUnknown(ctx, sec, k, 'TLS ');
  });
}

// Server-side keys record the single canonical name `tls` (marked once for the block).
const SERVER_TLS_KEYS = [
  key(['cert_file'], 'string', [], (o, v) => { o.nats.tlsCert = str(v); }),
  key(['key_file'], 'string', [], (o, v) => { o.nats.tlsKey = str(v); }),
  key(['ca_file'], 'string', [], (o, v) => { o.nats.tlsCaCert = str(v); }),
  key(['verify'], 'bool', [], (o, v) => { o.nats.tlsVerify = bool(v); }),
  key(['timeout'], 'durationOrSeconds', [], (o, v) => { o.nats.tlsTimeout = num(v); }),
  handled(['verify_and_map', 'handshake_first'], (_ctx, sec, k) => {
    // Accepting these without honouring them would weaken what the operator asked for.
    if (sec.get(k) !== false) {
      throw sec.error(k, `not supported yet: tls ${k.toLowerCase()}; remove it (verify: true checks client certificates against ca_file)`);
    }
  }),
  handled(['pinned_certs', 'cert_store', 'cert_match', 'cert_match_by', 'ocsp_peer'], (_ctx, sec, k) => {
    throw sec.error(k, `not supported yet: tls ${k.toLowerCase()}; remove it`);
  }),
  handled(['min_version'], (_ctx, sec, k) => {
    const v = sec.str(k);
    // Node (like Go) already refuses anything below TLS 1.2.
    if (v !== '1.2') {
      throw sec.error(k, `not supported yet: tls min_version ${JSON.stringify(v)}; the minimum is always TLS 1.2, remove it or set "1.2"`);
    }
  }),
  handled(['cipher_suites', 'curve_preferences', 'connection_rate_limit'], (ctx, sec, k) => {
    ctx.warnings.push(`${sec.where(k)}tls ${k.toLowerCase()} is not supported (ignored): Node's default TLS 1.2/1.3 settings are used`);
  }),
];

/** Embedded NATS side: the server's TLS listener. */
export function applyServerTLS(ctx: ApplyContext, sec: ConfReader): void {
  // A `tls` block with only client-side (streaming) keys is not a server TLS configuration.
  if (!sec.keys().some((k) => TLS_SERVER_KEYS.has(k.toLowerCase()))) return;
  ctx.opts.nats.tls = true;
  mark(ctx, 'tls');
  // Other keys: `insecure` is for outgoing connections only (nats-server ignores it for
  // clients), and the client-side keys belong to the streaming side.
  applyKeys(ctx, sec, SERVER_TLS_KEYS, () => undefined);
}
