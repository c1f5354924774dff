/**
 * Starts our STAN server in-process on an ephemeral port, for integration tests.
 */
import { startServer, EmbeddedServerConfig, ServerHandle } from '../../src/index';

let counter = 0;

export async function startTestServer(cfg: EmbeddedServerConfig = {}): Promise<ServerHandle> {
  counter++;
  return startServer({
    ...cfg,
    streaming: { clusterID: `tc-${process.pid}-${counter}`, ...cfg.streaming },
    nats: { port: 0, ...cfg.nats },
  });
}
