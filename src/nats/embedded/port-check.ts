/**
 * The embedded NATS opens its client port only once the streaming server serves, i.e. after
 * the store was opened and recovered. A port already taken (typically: the server started
 * twice) would then be found only after touching the other server's store. This check finds
 * the usual case before anything is opened, without binding the port ourselves (binding it,
 * even briefly, would let a wait-for-port script believe the server is up): if something
 * accepts connections on the address, the port is taken.
 */
import { connect } from 'node:net';
import { StanServerError } from '../../errors';

/** How long the probe waits; an address of this host refuses or accepts at once. */
const PROBE_TIMEOUT_MS = 500;

export class PortInUseError extends StanServerError {
  override readonly kind = 'nats' as const;
  constructor(host: string, port: number) {
    super(
      `cannot listen for client connections on ${host || '0.0.0.0'}:${port}: address already in use (another process accepts ` +
        `connections there: is this server already running?); stop it or choose another port with -p/--port`,
    );
    this.name = 'PortInUseError';
  }
}

/** Rejects with PortInUseError when a TCP connect to host:port is accepted. Port 0 (any) is always free. */
export function assertPortFree(host: string, port: number): Promise<void> {
  if (port <= 0) return Promise.resolve();
  // Wildcard addresses are reached through the loopback address of the same family.
  const target = host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return new Promise((resolve, reject) => {
    const s = connect({ host: target, port });
    const done = (taken: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      if (taken) reject(new PortInUseError(host, port));
      else resolve();
    };
    const timer = setTimeout(() => done(false), PROBE_TIMEOUT_MS);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
