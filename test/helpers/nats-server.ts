/**
 * A real NATS server (the Debian `nats-server` binary) on a free port, for the tests of our
 * server against an external NATS (`-ns`). Can be stopped and restarted on the same port.
 */
import { spawn } from 'node:child_process';
import { freePort, Proc, waitForPort } from './proc';

export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? 'nats-server';

export class RealNatsServer {
  proc: Proc | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts `nats-server -a 127.0.0.1 -p <port>` (a free port unless given) and waits for it. */
  static async start(port?: number): Promise<RealNatsServer> {
    for (let attempt = 0; ; attempt++) {
      const s = new RealNatsServer(port ?? (await freePort()));
      try {
        await s.launch();
        return s;
      } catch (err) {
        if (port === undefined && attempt < 2) continue;
        throw err;
      }
    }
  }

  private async launch(): Promise<void> {
    const child = spawn(NATS_SERVER_BIN, ['-a', '127.0.0.1', '-p', String(this.port)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new Proc(child, `nats-server -p ${this.port}`);
    this.proc = proc;
    child.once('error', () => undefined); // reported through the exit/timeout below
    let onExit: (e: Error) => void = () => undefined;
    const exited = new Promise<never>((_, reject) => {
      onExit = reject;
    });
    void proc.exited.then((e) => onExit(new Error(`nats-server exited early (${JSON.stringify(e)})\n${proc.output}`)));
    try {
      await Promise.race([waitForPort(this.port, 10000), exited]);
    } catch (err) {
      await proc.kill();
      throw err;
    } finally {
      onExit = () => undefined;
      exited.catch(() => undefined);
    }
  }

  /** Stops the server (SIGTERM, then SIGKILL if needed). */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exit) return;
    await p.stop('SIGTERM', 5000).catch(async () => p.kill());
  }

  /** Starts it again on the same port. */
  async restart(): Promise<void> {
    await this.stop();
    // The port may linger briefly; retry for a while.
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        await this.launch();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}
