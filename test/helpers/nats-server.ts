/**
 * A real NATS server (the Debian `nats-server` binary) on a free port, for the tests of our
 * server against an external NATS (`-ns`). Can be stopped and restarted on the same port,
 * and started with a configuration file (authorization, TLS, operator mode, cluster routes).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePorts, Proc, waitForPort } from './proc';

export interface RealNatsServerOptions {
  /** Client port; a free one when not given. */
  port?: number;
  /**
   * Body of a nats-server configuration file (`authorization { … }`, `tls { … }`,
   * `cluster { … }`, `operator: …`). The listen address and client port come from the
   * command line, which wins over the file.
   */
  config?: string;
  /** HTTP monitoring (/connz, /routez …) on 127.0.0.1 (see `httpPort`): on this port, or a free one when true. */
  monitor?: boolean | number;
}

/** What a nats-server prints when a port it must listen on is taken. */
const ADDR_IN_USE = /address already in use/i;

export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? 'nats-server';

export class RealNatsServer {
  proc: Proc | undefined;

  private constructor(
    readonly port: number,
    /** The generated configuration file, if any (kept for restarts). */
    readonly configFile: string | undefined,
    /** The HTTP monitoring port (`monitor` option), kept across restarts. */
    readonly httpPort: number | undefined,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /**
   * Starts `nats-server -a 127.0.0.1 -p <port> [-m <http port>] [-c <file>]` (free ports
   * unless given) and waits for it to accept connections.
   *
   * A port picked free may be taken before the server binds it (another process's
   * connection gets it as its local port: the tests open many short HTTP and NATS
   * connections from the same ephemeral range): then it tries again on other ports.
   */
  static async start(portOrOptions?: number | RealNatsServerOptions): Promise<RealNatsServer> {
    const o: RealNatsServerOptions = typeof portOrOptions === 'number' ? { port: portOrOptions } : (portOrOptions ?? {});
    const port = o.port;
    let configFile: string | undefined;
    if (o.config !== undefined) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nats-server-conf-'));
      configFile = path.join(dir, 'nats-server.conf');
      fs.writeFileSync(configFile, o.config);
    }
    for (let attempt = 0; ; attempt++) {
      const [picked, pickedHttp] = await freePorts(2);
      const s = new RealNatsServer(port ?? picked, configFile, o.monitor === true ? pickedHttp : o.monitor === false ? undefined : o.monitor);
      try {
        await s.launch();
        return s;
      } catch (err) {
        // A picked port taken meanwhile: try others (as before, any failure when the client port was picked).
        if (attempt < 2 && (port === undefined || (o.monitor === true && ADDR_IN_USE.test((err as Error).message)))) continue;
        throw err;
      }
    }
  }

  private async launch(): Promise<void> {
    const args = ['-a', '127.0.0.1', '-p', String(this.port)];
    if (this.httpPort !== undefined) args.push('-m', String(this.httpPort));
    if (this.configFile !== undefined) args.push('-c', this.configFile);
    const child = spawn(NATS_SERVER_BIN, args, {
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

  /** Replaces the configuration file (used from the next restart on). */
  writeConfig(config: string): void {
    if (this.configFile === undefined) throw new Error('this nats-server was started without a configuration file');
    fs.writeFileSync(this.configFile, config);
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

/**
 * Two nats-servers routed to each other (cluster `name`), with HTTP monitoring when
 * `monitor` is set (each server's `httpPort`); resolves once both report their route. All
 * their ports are distinct; one taken by another process before its server could bind it:
 * both are started again on other ports.
 */
export async function startRoutedPair(name = 'pair', opts: { monitor?: boolean } = {}): Promise<[RealNatsServer, RealNatsServer]> {
  for (let attempt = 0; ; attempt++) {
    // client, route and HTTP port of each server
    const p = await freePorts(6);
    const route = (i: 0 | 1): number => p[2 + i];
    const conf = (i: 0 | 1): string => `cluster { name: ${name}, listen: "127.0.0.1:${route(i)}", routes: ["nats-route://127.0.0.1:${route(i === 0 ? 1 : 0)}"] }\n`;
    const started: RealNatsServer[] = [];
    try {
      for (const i of [0, 1] as const) {
        started.push(await RealNatsServer.start({ port: p[i], config: conf(i), monitor: opts.monitor === true ? p[4 + i] : undefined }));
      }
      await Promise.all(started.map((n) => (n.proc as Proc).waitForLine(/Route connection created/, { timeoutMs: 15000 })));
      return [started[0], started[1]];
    } catch (err) {
      await Promise.all(started.map((n) => n.stop()));
      if (attempt < 2 && ADDR_IN_USE.test((err as Error).message)) continue;
      throw err;
    }
  }
}
