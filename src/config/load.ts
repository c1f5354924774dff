/**
 * Turns the command line (and the configuration files it names) into {@link ServerOptions}.
 *
 * Precedence: defaults < configuration file(s) < command line. `-sc` names the streaming
 * configuration file and `-c` the NATS one; when only one is given it is used for both.
 */
import { validateDeadLetters } from '../stan/dead-letters/policy';
import * as fs from 'node:fs';
import { ConfigError } from './errors';
import { applyConfigDocument } from './configfile';
import { invalidChannelNameMessage, isLiteralChannelName, isValidChannelName } from '../subject';
import { FLAGS, FlagContext, FlagSpec } from './flags';
import { FlagError, FlagOccurrence, parseGoFlags } from './goflags';
import { ConfParseError, parseConfFile } from './natsconf';
import { defaultServerOptions, ServerOptions } from './options';
import { formatGoDuration } from './units';
import { parseRemoteSyslogURL, SyslogURLError } from '../logging/syslog';
import { TLS_USAGE, USAGE } from './usage';
import { errorText } from '../errors';

export type LoadResult =
  | { kind: 'run'; options: ServerOptions; positionals: string[]; warnings: string[] }
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'signal'; signal: string; pid?: number };

/** Environment variable holding the encryption key; it wins over `--encryption_key`. */
export const ENCRYPTION_KEY_ENV = 'NATS_STREAMING_ENCRYPTION_KEY';

export const SIGNALS: readonly string[] = ['stop', 'quit', 'reopen', 'reload'];

/**
 * @param argv the arguments after the program name (`process.argv.slice(2)`)
 * @param env the environment (`process.env`), for `$VAR` in config files and the encryption key
 * @throws ConfigError with a user-facing message
 */
export function loadOptions(argv: string[], env: NodeJS.ProcessEnv): LoadResult {
  let occurrences: FlagOccurrence<FlagSpec>[];
  let positionals: string[];
  try {
    ({ occurrences, positionals } = parseGoFlags(argv, FLAGS));
  } catch (e) {
    if (e instanceof FlagError) throw new ConfigError(e.message);
    throw e;
  }

  // First pass: collect the control values (files, help, signal) and validate values.
  const ctx: FlagContext = {};
  const scratch = defaultServerOptions();
  for (const o of occurrences) o.flag.apply(scratch, o.value, ctx);

  if (ctx.version || positionals[0] === 'version') return { kind: 'version' };
  if (ctx.help || positionals[0] === 'help') return { kind: 'help', text: USAGE };
  if (ctx.helpTLS) return { kind: 'help', text: TLS_USAGE };
  if (ctx.signal !== undefined) return parseSignal(ctx.signal);

  const options = defaultServerOptions();
  const warnings: string[] = [];

  // Configuration files.
  const stanFile = ctx.stanConfigFile ?? '';
  const natsFile = ctx.natsConfigFile ?? '';
  if (stanFile !== '' && natsFile !== '' && stanFile !== natsFile) {
    applyFile(natsFile, options, { streaming: false, nats: true }, warnings, env);
    applyFile(stanFile, options, { streaming: true, nats: false }, warnings, env);
  } else if (stanFile !== '' || natsFile !== '') {
    applyFile(stanFile !== '' ? stanFile : natsFile, options, { streaming: true, nats: true }, warnings, env);
  }

  // Command line overrides; `-SDV`/`-DV` are applied last, as in the reference.
  const late: FlagOccurrence<FlagSpec>[] = [];
  const runCtx: FlagContext = {};
  for (const o of occurrences) {
    if (o.flag.late) {
      late.push(o);
      continue;
    }
    o.flag.apply(options, o.value, runCtx);
  }
  for (const o of late) o.flag.apply(options, o.value, runCtx);
  for (const o of occurrences) for (const n of o.flag.explicit) options.explicit.add(n);
  applyServerTlsFlags(options, new Set(occurrences.flatMap((o) => o.flag.explicit)));
  applyTlsAuthTimeout(options);

  const s = options.streaming;
  if (runCtx.clusterPeersFromCLI) {
    s.clustering.peers = s.clustering.peers.filter((p) => p !== s.clustering.nodeID);
  }
  if (runCtx.encryptionKeyFromCLI && s.encryptionKey !== '') {
    // A key implies encryption, as `encryption_key` does in the configuration file.
    s.encrypt = true;
    options.explicit.add('encrypt');
  }
  const envKey = env[ENCRYPTION_KEY_ENV];
  if (envKey !== undefined && envKey !== '') s.encryptionKey = envKey;

  validateStoreLimits(options);
  validateRemoteSyslog(options);
  return { kind: 'run', options, positionals, warnings };
}

/** A bad `-r/--remote_syslog` stops the start-up (the reference exits too). */
function validateRemoteSyslog(options: ServerOptions): void {
  if (options.nats.remoteSyslog === '') return;
  try {
    parseRemoteSyslogURL(options.nats.remoteSyslog);
  } catch (e) {
    if (e instanceof SyslogURLError) throw new ConfigError(e.message);
    throw e;
  }
}

/** The embedded NATS server's TLS flags (the streaming server's own -tls_client_* are not among them). */
const SERVER_TLS_FLAGS = ['tls', 'tlscert', 'tlskey', 'tlsverify', 'tlscacert'];

/**
 * nats-server's rule for its TLS flags (opts.go ConfigureOptions): `--tls=false` turns TLS off,
 * whatever else was given (flags or a config-file tls block); otherwise any of --tls,
 * --tlscert, --tlskey, --tlsverify, --tlscacert on the command line turns TLS on, and the
 * certificate and key then become mandatory (checked at start-up).
 */
function applyServerTlsFlags(options: ServerOptions, given: ReadonlySet<string>): void {
  const n = options.nats;
  if (given.has('tls') && !n.tls) {
    n.tlsVerify = false;
    return;
  }
  if (SERVER_TLS_FLAGS.some((f) => given.has(f))) n.tls = true;
}

/**
 * As nats-server: with TLS on, the default authentication timeout is the TLS handshake
 * timeout plus one second (the client's CONNECT comes after the handshake).
 */
function applyTlsAuthTimeout(options: ServerOptions): void {
  const n = options.nats;
  if (n.tls && !options.explicit.has('auth_timeout')) n.authTimeout = n.tlsTimeout + 1000;
}

function applyFile(
  file: string,
  options: ServerOptions,
  targets: { streaming: boolean; nats: boolean },
  warnings: string[],
  env: NodeJS.ProcessEnv,
): void {
  try {
    const doc = parseConfFile(file, { env });
    applyConfigDocument(doc, options, targets, warnings);
  } catch (e) {
    if (e instanceof ConfParseError) throw new ConfigError(e.message);
    throw e;
  }
}

/** `-sl stop`, `-sl quit=1234`, `-sl reload=/var/run/nats.pid`. */
function parseSignal(value: string): LoadResult {
  const parts = value.split('=');
  if (parts.length > 2) throw new ConfigError(`invalid signal parameters: ${JSON.stringify(parts.slice(2))}`);
  const signal = parts[0] ?? '';
  if (!SIGNALS.includes(signal)) throw new ConfigError(`unknown signal ${JSON.stringify(signal)}`);
  if (parts.length === 1) return { kind: 'signal', signal };
  let pidStr = (parts[1] ?? '').trim();
  if (!/^\d+$/.test(pidStr)) {
    // Not a number: a PID file.
    try {
      pidStr = fs.readFileSync(pidStr, 'utf8').trim();
    } catch {
      throw new ConfigError(`invalid pid: ${JSON.stringify(parts[1])}`);
    }
    if (!/^\d+$/.test(pidStr)) throw new ConfigError(`invalid pid in file ${JSON.stringify(parts[1])}: ${JSON.stringify(pidStr)}`);
  }
  return { kind: 'signal', signal, pid: Number(pidStr) };
}

/** The reference's `StoreLimits.Build()` validation (inheritance is applied by the store). */
export function validateStoreLimits(options: ServerOptions): void {
  const sl = options.streaming.storeLimits;
  const checks: [string, number, boolean][] = [
    ['max channels', sl.maxChannels, false],
    ['max subscriptions', sl.maxSubscriptions, false],
    ['max messages', sl.maxMsgs, false],
    ['max bytes', sl.maxBytes, false],
    ['max age', sl.maxAge, true],
    ['max inactivity', sl.maxInactivity, true],
  ];
  for (const [name, v, isDuration] of checks) {
    if (v < 0) {
      throw new ConfigError(`${name} limit cannot be negative (${isDuration ? formatGoDuration(v) : v})`);
    }
  }
  let literals = 0;
  for (const name of Object.keys(sl.perChannel)) {
    if (!isValidChannelName(name, true)) throw new ConfigError(invalidChannelNameMessage(name));
    if (isLiteralChannelName(name)) literals++;
  }
  if (sl.maxChannels > 0 && literals > sl.maxChannels) {
    throw new ConfigError(`too many channels defined (${literals}). The max channels limit is set to ${sl.maxChannels}`);
  }
  try {
    validateDeadLetters(sl);
  } catch (err) {
    throw new ConfigError(errorText(err));
  }
}
