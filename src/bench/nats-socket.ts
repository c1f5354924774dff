/**
 * A minimal NATS connection on a raw TCP socket for the catch-up load generator: SUB, PUB,
 * one-reply requests, PING answered; every MSG goes to its subscription's handler straight
 * from the read buffer (nats-frames.ts). Writes queued by handlers during a read can be sent
 * as one socket write at the end of it (`onReadEnd`).
 */
import * as net from 'node:net';
import { NatsFrameParser, type MsgHandler } from './nats-frames';

const CRLF = '\r\n';

export class NatsSocket {
  private readonly handlers = new Map<number, MsgHandler>();
  private nextSid = 1;
  private pongWaiters: Array<() => void> = [];
  private failed: Error | null = null;
  /** Called after every socket read has been parsed (the handlers ran). */
  onReadEnd: () => void = () => undefined;
  /** Called once if the connection fails or the server reports an error. */
  onFailure: (err: Error) => void = () => undefined;

  private constructor(private readonly sock: net.Socket) {
    const parser = new NatsFrameParser({
      handlerOf: (sid) => this.handlers.get(sid),
      onPing: () => sock.write(`PONG${CRLF}`),
      onPong: () => this.pongWaiters.shift()?.(),
      onInfo: () => undefined,
      onError: (text) => this.fail(new Error(`NATS server error: ${text}`)),
    });
    sock.on('data', (chunk: Buffer) => {
      try {
        parser.feed(chunk);
      } catch (err) {
        this.fail(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      this.onReadEnd();
    });
    sock.on('error', (err) => this.fail(err));
    sock.on('close', () => this.fail(new Error('NATS connection closed')));
  }

  private fail(err: Error): void {
    if (this.failed !== null) return;
    this.failed = err;
    for (const w of this.pongWaiters) w();
    this.pongWaiters = [];
    this.onFailure(err);
  }

  /** Connects to `url` (nats://host:port), sends CONNECT and waits for the PONG of a PING. */
  static async connect(url: string, name: string): Promise<NatsSocket> {
    const u = new URL(url);
    const sock = net.connect({ host: u.hostname, port: Number(u.port || 4222) });
    sock.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', reject);
    });
    const c = new NatsSocket(sock);
    sock.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, protocol: 1, name, lang: 'ts-bench', version: '1' })}${CRLF}`);
    await c.flush();
    return c;
  }

  /** Resolves once the server answered a PING sent now (everything written before was processed). */
  flush(): Promise<void> {
    if (this.failed !== null) return Promise.reject(this.failed);
    return new Promise<void>((resolve, reject) => {
      this.pongWaiters.push(() => (this.failed === null ? resolve() : reject(this.failed)));
      this.sock.write(`PING${CRLF}`);
    });
  }

  sub(subject: string, handler: MsgHandler): number {
    const sid = this.nextSid++;
    this.handlers.set(sid, handler);
    this.sock.write(`SUB ${subject} ${sid}${CRLF}`);
    return sid;
  }

  pub(subject: string, payload: Uint8Array, reply = ''): void {
    const head = reply === '' ? `PUB ${subject} ${payload.length}${CRLF}` : `PUB ${subject} ${reply} ${payload.length}${CRLF}`;
    this.sock.write(Buffer.concat([Buffer.from(head, 'latin1'), payload, Buffer.from(CRLF, 'latin1')]));
  }

  /** Writes bytes already framed as NATS protocol (e.g. many PUBs at once). */
  write(frames: Buffer): void {
    this.sock.write(frames);
  }

  /**
   * Sends a request and calls `onReply` synchronously with the reply's payload (a copy), within
   * the socket read that carried it, so that MSGs after it in the same read see its effect.
   */
  request(subject: string, payload: Uint8Array, inbox: string, onReply: (reply: Buffer) => void): void {
    const sid = this.sub(inbox, (buf, start, end) => {
      this.handlers.delete(sid);
      onReply(Buffer.from(buf.subarray(start, end)));
    });
    this.sock.write(`UNSUB ${sid} 1${CRLF}`);
    this.pub(subject, payload, inbox);
  }

  /** The same as `request`, as a promise with a timeout. */
  requestAsync(subject: string, payload: Uint8Array, inbox: string, timeoutMs: number): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${subject} within ${timeoutMs} ms`)), timeoutMs);
      this.request(subject, payload, inbox, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
    });
  }

  close(): void {
    this.failed ??= new Error('closed');
    this.sock.end();
    this.sock.destroy();
  }
}
