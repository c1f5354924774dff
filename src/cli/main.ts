/**
 * The `nats-streaming-server` executable: parse flags and config files, start the server,
 * turn signals into graceful shutdowns, and exit with the reference's codes.
 */
import * as fs from 'node:fs';
import { loadOptions } from '../config/load';
import { ConfigError } from '../config/errors';
import { createLogOutput, LogOutput } from '../logging/factory';
import { StreamingServer, STAN_VERSION } from '../server/streaming';

const PACKAGE_VERSION: string = (require('../../package.json') as { version: string }).version;

export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
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
    process.stderr.write('nats-streaming-server: not supported yet: --signal\n');
    process.exit(1);
  }
  const options = loaded.options;
  const n = options.nats;
  const s = options.streaming;
  const out: LogOutput = createLogOutput({
    file: n.logFile,
    logtime: n.logtime,
    json: n.logJSON,
    natsDebug: n.debug,
    natsTrace: n.trace,
    stanDebug: s.debug,
    stanTrace: s.trace,
  });
  for (const w of loaded.warnings) out.stan.warn(w);

  let server: StreamingServer;
  try {
    server = await StreamingServer.start(options, { natsLogger: out.nats, stanLogger: out.stan });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    out.stan.fatal(msg);
    out.flushSync();
    // With -l the log goes to a file: say it on stderr too, where a failed start is looked for.
    if (n.logFile) process.stderr.write(`nats-streaming-server: ${msg}\n`);
    process.exit(1);
  }
  if (n.pidFile) fs.writeFileSync(n.pidFile, `${process.pid}`);

  const stop = (code: number): void => {
    server
      .shutdown()
      .catch((err: unknown) => out.stan.error(`Error during shutdown: ${String(err)}`))
      .finally(() => {
        if (n.pidFile) fs.rmSync(n.pidFile, { force: true });
        out.flushSync();
        process.exit(code);
      });
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(143));
  process.on('SIGUSR1', () => {
    out.reopen();
    out.stan.notice('Reopened log file');
  });
  process.on('SIGHUP', () => out.stan.warn('not supported yet: configuration reload (SIGHUP)'));
}

if (require.main === module) {
  void main();
}
