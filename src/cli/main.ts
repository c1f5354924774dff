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
import { StreamingServer, STAN_VERSION } from '../server/streaming';
import { migrateCommandArgs, runMigrateCommand } from './migrate';
import { sendSignal, SignalError } from './signal';

const PACKAGE_VERSION: string = (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  if (argv[0] === 'import') process.exit(await (await import('./import')).runImportCommand(argv.slice(1)));
  const migrateArgs = migrateCommandArgs(argv);
  if (migrateArgs !== null) process.exit(await runMigrateCommand(migrateArgs));
  let loaded: ReturnType<typeof loadOptions>;
  try {
    loaded = loadOptions(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`nats-streaming-server: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  if (loaded.kind === 'help') {
    process.stdout.write(loaded.text.endsWith('\n') ? loaded.text : `${loaded.text}\n`);
    process.exit(0);
  }
  if (loaded.kind === 'version') {
    process.stdout.write(`nats-streaming-server version ${STAN_VERSION} (nats-streaming-server-ts ${PACKAGE_VERSION})\n`);
    process.exit(0);
  }
  if (loaded.kind === 'signal') {
    try {
      sendSignal(loaded.signal, loaded.pid);
    } catch (err) {
      if (!(err instanceof SignalError)) throw err;
      process.stderr.write(`nats-streaming-server: ${err.message}\n`);
      process.exit(1);
    }
    process.exit(0);
  }
  const options = loaded.options;
  const n = options.nats;
  const s = options.streaming;
  // As the reference: -l wins over -r, which wins over -s (validated by loadOptions).
  let syslog: SyslogChoice | undefined;
  if (n.remoteSyslog !== '') syslog = { kind: 'remote', target: parseRemoteSyslogURL(n.remoteSyslog) };
  else if (n.syslog) syslog = { kind: 'local', socketPath: process.env[SYSLOG_SOCKET_ENV] || DEFAULT_SYSLOG_SOCKET };
  const out: LogOutput = createLogOutput({
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
  for (const w of loaded.warnings) out.stan.warn(w);
  if (n.logFile !== '' && syslog) {
    out.stan.warn(`${n.remoteSyslog !== '' ? '--remote_syslog' : '--syslog'} ignored: the log goes to the file given by --log, as in the reference`);
  } else if (n.remoteSyslog !== '' && n.syslog) {
    out.stan.warn('--syslog ignored: --remote_syslog is set, as in the reference');
  }
  /** Flushes the log (syslog included, bounded in time) and exits. */
  const exit = (code: number): void => {
    out.flushSync();
    void out.close().finally(() => process.exit(code));
  };

  // Signals are handled from before start-up on: a SIGINT/SIGTERM that arrives while the
  // server is starting (or right after it printed "ready") must still mean a graceful stop
  // with the documented exit code, not the default "killed by signal".
  let server: StreamingServer | undefined;
  let pendingStop: number | undefined;
  let stopping = false;
  // Aborts a start-up that waits (an FT standby waiting for the lease).
  let startup = new AbortController();
  let reloads: Promise<void> = Promise.resolve();
  const stop = (code: number): void => {
    if (!server) {
      pendingStop ??= code;
      startup.abort();
      return;
    }
    if (stopping) return;
    stopping = true;
    server
      .shutdown()
      .catch((err: unknown) => out.stan.error(`Error during shutdown: ${String(err)}`))
      .finally(() => {
        if (n.pidFile) fs.rmSync(n.pidFile, { force: true });
        exit(code);
      });
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(143));
  process.on('SIGUSR1', () => {
    out.reopen();
    out.stan.notice('Reopened log file');
  });
  process.on('SIGHUP', () => {
    if (!server) {
      out.stan.warn('Reload: the server is not running yet (starting or FT standby); SIGHUP ignored');
      return;
    }
    const running = server;
    // Serialized: a second SIGHUP waits for the first reload to finish.
    reloads = reloads.then(() => reloadFromArgv(argv, running, out)).catch((err: unknown) => out.stan.error(`Reload: ${String(err)}`));
  });

  const launch = async (): Promise<void> => {
    startup = new AbortController();
    try {
      server = await StreamingServer.start(options, {
        natsLogger: out.nats,
        stanLogger: out.stan,
        signal: startup.signal,
        // Already logged; the server stopped serving (the nats-server child died, or a
        // partition conflict appeared): exit non-zero so a supervisor restarts it.
        onFatal: () => {
          void (server?.shutdown() ?? Promise.resolve())
            .catch(() => undefined)
            .finally(() => {
              if (n.pidFile) fs.rmSync(n.pidFile, { force: true });
              exit(1);
            });
        },
        onStepDown: () => {
          const old = server;
          if (s.ftStandbyOnLoss) {
            // --ft_standby_on_loss: start over as a standby of the same group.
            server = undefined;
            void (old?.shutdown() ?? Promise.resolve())
              .catch(() => undefined)
              .finally(() => {
                if (pendingStop !== undefined) {
                  exit(pendingStop);
                  return;
                }
                out.stan.notice('ft: going back to standby');
                void launch();
              });
            return;
          }
          // The server stopped serving; exit non-zero so a supervisor restarts it as a standby.
          void (old?.shutdown() ?? Promise.resolve()).finally(() => {
            if (n.pidFile) fs.rmSync(n.pidFile, { force: true });
            exit(1);
          });
        },
      });
    } catch (err) {
      if (pendingStop !== undefined) {
        // Stopped while starting (e.g. an FT standby): a normal, requested stop.
        out.stan.notice('Shutting down.');
        exit(pendingStop);
        return;
      }
      const msg = err instanceof Error ? err.message : String(err);
      out.stan.fatal(msg);
      // With -l or syslog the log goes elsewhere: say it on stderr too, where a failed start is looked for.
      if (out.kind !== 'stderr') process.stderr.write(`nats-streaming-server: ${msg}\n`);
      exit(1);
      return;
    }
    if (n.pidFile) fs.writeFileSync(n.pidFile, `${process.pid}`);
    if (pendingStop !== undefined) stop(pendingStop);
  };
  await launch();
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
