/**
 * Where the text log lines go: a SonicBoom stream (pino's destination: buffered, non-blocking
 * for a file, reopenable for log rotation), set up as `pino.destination()` sets it up.
 *
 * Why not pino.destination(): requiring pino loads all of pino (serializers, redaction,
 * transports and their worker_threads) at every start-up, and only `--log_json` uses pino
 * itself (./factory.ts loads it then): measured in docs/startup.md.
 */
import SonicBoom from 'sonic-boom';

export interface DestinationOptions {
  /** A file path, or a file descriptor (2 = stderr). */
  dest: string | number;
  /** Synchronous writes (stderr), or buffered ones (a file). */
  sync: boolean;
  /** Create the file's directory. */
  mkdir: boolean;
}

const ignore = (): void => {};

/**
 * As pino's: a reader that went away (EPIPE: `server 2>&1 | head`) stops the logging instead of
 * failing the server; a buffered destination is flushed when the process exits.
 */
export function logDestination(o: DestinationOptions): SonicBoom {
  const stream = new SonicBoom({ dest: o.dest, sync: o.sync, mkdir: o.mkdir });
  const filterBrokenPipe = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE') {
      stream.write = () => true;
      stream.end = ignore;
      stream.flushSync = ignore;
      stream.destroy = ignore;
      return;
    }
    stream.removeListener('error', filterBrokenPipe);
    stream.emit('error', err);
  };
  stream.on('error', filterBrokenPipe);
  if (!o.sync) {
    const flushAtExit = (): void => {
      if (!(stream as unknown as { destroyed: boolean }).destroyed) stream.flushSync();
    };
    process.once('exit', flushAtExit);
    stream.on('close', () => process.off('exit', flushAtExit));
  }
  return stream;
}
