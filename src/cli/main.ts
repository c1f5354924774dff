/**
 * The `nats-streaming-server` executable: parse flags and config files, start the server,
 * turn signals into graceful shutdowns, and exit with the reference's codes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_ROOT } from '../paths';
import { loadOptions } from '../config/load';
import { ConfigError } from '../config/errors';
import { createLogOutput, LogOutput } from '../logging/factory';
import { DEFAULT_SYSLOG_SOCKET, parseRemoteSyslogURL, SYSLOG_SOCKET_ENV, syslogTag, type SyslogChoice } from '../logging/syslog';
import { StreamingServer, STAN_VERSION } from '../stan/streaming-server';
import type { ServerOptions } from '../config/options';
import { unexpectedArguments } from './commands';
import { ServerLifecycle } from './lifecycle';
import { migrateCommandArgs, runMigrateCommand } from './migrate';
import { sendSignal, SignalError } from './signal';
import { errorText } from '../errors';
import { startIdleMemoryRelease } from './idle-memory';
import { runHints } from '../launch/run-hints';

const PACKAGE_VERSION: string = (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  if (argv[0] === 'import') process.exit(await (await import('./import')).runImportCommand(argv.slice(1)));
  const migrateArgs = migrateCommandArgs(argv);
  if (migrateArgs !== null) process.exit(await runMigrateCommand(migrateArgs));
  const run = commandLine(argv);
  const out = openLog(run.options, run.warnings);
  const { nats: n, streaming: s } = run.options;
  const lifecycle = new ServerLifecycle<StreamingServer>({
    start: (events) => StreamingServer.start(run.options, { natsLogger: out.nats, stanLogger: out.stan, ...events }),
    standbyOnLoss: s.ftStandbyOnLoss,
    pidFile: n.pidFile,
    log: out.stan,
    startFailed: (err) => {
      const msg = errorText(err);
      out.stan.fatal(msg);
      // With -l or syslog the log goes elsewhere: say it on stderr too, where a failed start is looked for.
      if (out.kind !== 'stderr') process.stderr.write(`nats-streaming-server: ${msg}\n`);
    },
    exit: (code) => {
      out.flushSync();
      void out.close().finally(() => process.exit(code));
    },
  });
  // Signals are handled from before start-up on: a SIGINT/SIGTERM that arrives while the
  // server is starting (or right after it printed "ready") must still mean a graceful stop
  // with the documented exit code, not the default "killed by signal".
  handleSignals(argv, lifecycle, out);
  // Returns V8's young generation to the system once the server is quiet (idle-memory.ts).
  startIdleMemoryRelease();
  await lifecycle.launch();
  // The launcher writes the code cache of a run that served (src/launch/cache-timing.ts).
  if (lifecycle.server !== undefined) runHints()?.serving();
}

/**
 * The command line of a server run: everything that is not one (-h, -v, -sl, errors) is
 * answered here and exits.
 */
function commandLine(argv: string[]): { options: ServerOptions; warnings: string[] } {
  const fail = (message: string): never => {
    process.stderr.write(`nats-streaming-server: ${message}\n`);
    process.exit(1);
  };
  let loaded: ReturnType<typeof loadOptions>;
  try {
    loaded = loadOptions(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) return fail(err.message);
    throw err;
  }
  switch (loaded.kind) {
    case 'help':
      process.stdout.write(loaded.text.endsWith('\n') ? loaded.text : `${loaded.text}\n`);
      return process.exit(0);
    case 'version':
      process.stdout.write(`nats-streaming-server version ${STAN_VERSION} (nats-streaming-server-ts ${PACKAGE_VERSION})\n`);
      return process.exit(0);
    case 'signal':
      try {
        sendSignal(loaded.signal, loaded.pid);
      } catch (err) {
        if (err instanceof SignalError) return fail(err.message);
        throw err;
      }
      return process.exit(0);
    case 'run': {
      const unexpected = unexpectedArguments(loaded.positionals);
      if (unexpected !== undefined) return fail(unexpected);
      return { options: loaded.options, warnings: loaded.warnings };
    }
  }
}

/** The log as -l, -s, -r, -T, -D/-V and -SD/-SV choose it; configuration warnings go to it. */
function openLog(options: ServerOptions, warnings: readonly string[]): LogOutput {
  const { nats: n, streaming: s } = options;
  // As the reference: -l wins over -r, which wins over -s (validated by loadOptions).
  let syslog: SyslogChoice | undefined;
  if (n.remoteSyslog !== '') syslog = { kind: 'remote', target: parseRemoteSyslogURL(n.remoteSyslog) };
  else if (n.syslog) syslog = { kind: 'local', socketPath: process.env[SYSLOG_SOCKET_ENV] || DEFAULT_SYSLOG_SOCKET };
  const out = createLogOutput({
    file: n.logFile,
    logtime: n.logtime,
    json: n.logJSON,
    natsDebug: n.debug,
    natsTrace: n.trace,
    stanDebug: s.debug,
    stanTrace: s.trace,
    syslog,
    syslogTag: syslogTag(s.syslogName),
  });
  for (const w of warnings) out.stan.warn(w);
  if (n.logFile !== '' && syslog) {
    out.stan.warn(`${n.remoteSyslog !== '' ? '--remote_syslog' : '--syslog'} ignored: the log goes to the file given by --log, as in the reference`);
  } else if (n.remoteSyslog !== '' && n.syslog) {
    out.stan.warn('--syslog ignored: --remote_syslog is set, as in the reference');
  }
  return out;
}

/** SIGINT/SIGTERM stop, SIGUSR1 reopens the log file, SIGHUP reloads the configuration. */
function handleSignals(argv: string[], lifecycle: ServerLifecycle<StreamingServer>, out: LogOutput): void {
  // The code cache is written before the shutdown's code runs (src/launch/cache-timing.ts).
  process.on('SIGINT', () => {
    runHints()?.stopping();
    lifecycle.stop('SIGINT');
  });
  process.on('SIGTERM', () => {
    runHints()?.stopping();
    lifecycle.stop('SIGTERM');
  });
  process.on('SIGUSR1', () => {
    out.reopen();
    out.stan.notice('Reopened log file');
  });
  let reloads: Promise<void> = Promise.resolve();
  process.on('SIGHUP', () => {
    const running = lifecycle.server;
    if (!running) {
      out.stan.warn('Reload: the server is not running yet (starting or FT standby); SIGHUP ignored');
      return;
    }
    // Serialized: a second SIGHUP waits for the first reload to finish.
    reloads = reloads.then(() => reloadFromArgv(argv, running, out)).catch((err: unknown) => out.stan.error(`Reload: ${String(err)}`));
  });
}

/**
 * SIGHUP: re-reads the configuration exactly as at start-up (same arguments, so the same
 * files and command-line overrides) and applies it to the running server. A file that no
 * longer parses is reported and the running configuration stays.
 */
async function reloadFromArgv(argv: string[], server: StreamingServer, out: LogOutput): Promise<void> {
  out.stan.notice('Reloading server configuration');
  let loaded: ReturnType<typeof loadOptions>;
  try {
    loaded = loadOptions(argv, process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    out.stan.error(`Reload: ${err.message}; keeping the running configuration`);
    return;
  }
  if (loaded.kind !== 'run') return;
  for (const w of loaded.warnings) out.stan.warn(w);
  await server.reloadNats(loaded.options);
}

if (require.main === module) {
  void main();
}
