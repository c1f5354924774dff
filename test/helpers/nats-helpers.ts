/** Shared helpers for the embedded NATS server tests: servers on ephemeral ports, raw sockets. */
import { connect as netConnect, type Socket } from 'node:net';
import { defaultNatsServerOptions, type NatsServerOptions } from '../../src/config/options';
import type { Logger } from '../../src/logging/logger';
import { EmbeddedNatsServer } from '../../src/nats/embedded';

export interface CapturedLogger extends Logger {
  lines: string[];
}

/** A logger that records every line as "<LVL> msg" so tests can assert on log output. */
export function captureLogger(debug = false, trace = false): CapturedLogger {
  const lines: string[] = [];
  return {
    lines,
    notice: (m) => lines.push(`INF ${m}`),
    warn: (m) => lines.push(`WRN ${m}`),
    error: (m) => lines.push(`ERR ${m}`),
    fatal: (m) => lines.push(`FTL ${m}`),
    debug: (m) => {
      if (debug) lines.push(`DBG ${m}`);
    },
    trace: (m) => {
      if (trace) lines.push(`TRC ${m}`);
    },
    isDebug: debug,
    isTrace: trace,
  };
}

export async function startServer(
  overrides: Partial<NatsServerOptions> = {},
  logger: Logger = captureLogger(),
): Promise<EmbeddedNatsServer> {
  const opts = { ...defaultNatsServerOptions(), host: '127.0.0.1', port: 0, ...overrides };
  return EmbeddedNatsServer.start(opts, logger);
}

/** A raw TCP client that accumulates everything the server sends as a latin1 string. */
export class RawClient {
  data = '';
  ended = false;
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.data += d.toString('latin1');
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {
      /* the close event follows */
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = netConnect({ host: '127.0.0.1', port }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(s: string | Buffer): void {
    this.socket.write(s);
  }

  /** Waits until `pred(data)` holds; rejects with the data seen so far on timeout. */
  async until(pred: (data: string) => boolean, timeoutMs = 2000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this.data)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout; received so far: ${JSON.stringify(this.data)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.data;
  }

  /** Waits until the received data contains `s`. */
  waitFor(s: string, timeoutMs = 2000): Promise<string> {
    return this.until((d) => d.includes(s), timeoutMs);
  }

  /** Waits for the server to close the connection. */
  waitClosed(timeoutMs = 2000): Promise<string> {
    return this.until(() => this.ended, timeoutMs);
  }

  /** Sends PING and waits for the matching PONG: everything sent before was processed. */
  async sync(): Promise<void> {
    const count = (this.data.match(/PONG\r\n/g) ?? []).length;
    this.send('PING\r\n');
    await this.until((d) => (d.match(/PONG\r\n/g) ?? []).length > count);
  }

  /** Data after the INFO line. */
  get afterInfo(): string {
    const i = this.data.indexOf('\r\n');
    return i < 0 ? '' : this.data.slice(i + 2);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Connects raw, waits for INFO and sends CONNECT with the given options. */
export async function rawConnected(port: number, connect: Record<string, unknown> = { verbose: false, pedantic: false }): Promise<RawClient> {
  const c = await RawClient.connect(port);
  await c.waitFor('\r\n');
  c.send(`CONNECT ${JSON.stringify(connect)}\r\n`);
  await c.sync();
  return c;
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
