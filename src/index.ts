/**
 * Embedding API: run a STAN server inside a Node process (applications, test suites).
 *
 *   import { startServer } from 'nats-streaming-server-ts';
 *   const s = await startServer({ streaming: { clusterID: 'test-cluster' }, nats: { port: 0 } });
 *   console.log(s.natsURL);
 *   await s.close();
 */
import { defaultServerOptions, ServerOptions, StreamingOptions, NatsServerOptions } from './config/options';
import type { Logger } from './logging/logger';
import { StreamingServer } from './stan/streaming-server';
import type { SealWorkerSpawner } from './store/seal-pool';
import type { SqliteWriterSpawner } from './store/sql/sqlite-writer';

export type { ServerOptions, StreamingOptions, NatsServerOptions } from './config/options';
export type { Logger } from './logging/logger';
export { StreamingServer } from './stan/streaming-server';

export interface EmbeddedServerConfig {
  streaming?: Partial<StreamingOptions>;
  nats?: Partial<NatsServerOptions>;
  /** Receives the server's log lines; silent by default. */
  logger?: Logger;
  natsLogger?: Logger;
  /** Starts the store's encryption worker threads (default: the compiled worker file; code run from the .ts sources passes one that loads them). */
  spawnSealWorker?: SealWorkerSpawner;
  /** Starts the FILE store's write thread (default: the compiled worker file when present, else commits on the main thread). */
  spawnSqliteWriter?: SqliteWriterSpawner;
}

export interface ServerHandle {
  /** `nats://host:port` of the NATS server STAN clients connect to. */
  readonly natsURL: string;
  readonly clusterID: string;
  readonly server: StreamingServer;
  close(): Promise<void>;
}

/** Starts a server from an options object; every option not given takes the reference default. */
export async function startServer(cfg: EmbeddedServerConfig = {}): Promise<ServerHandle> {
  const base = defaultServerOptions();
  const options: ServerOptions = {
    streaming: { ...base.streaming, ...cfg.streaming },
    // Embedded programmatically, the reference listens on 127.0.0.1 by default (spec §5.6).
    nats: { ...base.nats, host: '127.0.0.1', httpHost: '127.0.0.1', ...cfg.nats },
    explicit: new Set<string>(),
  };
  const server = await StreamingServer.start(options, { stanLogger: cfg.logger, natsLogger: cfg.natsLogger, spawnSealWorker: cfg.spawnSealWorker, spawnSqliteWriter: cfg.spawnSqliteWriter });
  return {
    natsURL: server.natsURL,
    clusterID: options.streaming.clusterID,
    server,
    close: () => server.shutdown(),
  };
}
