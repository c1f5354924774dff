/**
 * Where the text log lines go: a SonicBoom stream (pino's destination, reopenable for log
 * rotation), set up as `pino.destination()` sets it up.
 *
 * Synchronous writes for a file too, as the reference's Go logger writes: with buffered
 * (asynchronous) writes, the flush at exit wrote the buffered lines while the write in flight
 * was still in the thread pool, and that write landed after them (the file ended with "line 0"
 * after "line 499" in test/int/log-destination.int.test.ts, in one CI run of many). A log line
 * is one write(2) of a few µs; the server logs per connection and per channel, not per message
 * (trace logging, -V, is a debugging mode).
 *
 * Why not pino.destination(): requiring pino loads all of pino (serializers, redaction,
 * transports and their worker_threads) at every start-up, and only `--log_json` uses pino
 * itself (./factory.ts loads it then): measured in docs/startup.md.
 */
import SonicBoom from 'sonic-boom';

export interface DestinationOptions {
  /** A file path, or a file descriptor (2 = stderr). */
  dest: string | number;
  /** Create the file's directory. */
  mkdir: boolean;
}

const ignore = (): void => {};

/**
 * As pino's: a reader that went away (EPIPE: `server 2>&1 | head`) stops the logging instead of
 * failing the server.
 */
export function logDestination(o: DestinationOptions): SonicBoom {
  const stream = new SonicBoom({ dest: o.dest, sync: true, mkdir: o.mkdir });
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
  return stream;
}
