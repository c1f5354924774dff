/**
 * MySQL/MariaDB: a prepared message INSERT executed with our own COM_STMT_EXECUTE packet
 * (mysql-execute-packet.ts) on the Knex-managed mysql2 connection, through mysql2's command
 * queue, so that it runs in order with everything else on that connection.
 *
 * The statement is prepared as mysql2's `execute` prepares it: `connection.prepare` (public
 * API) looks the text up in the connection's statement cache and prepares it on the server
 * only the first time, so a statement is still prepared once per connection and shared with
 * mysql2's own `execute`. Our command then writes the packet and reads the answer: the OK
 * packet, or the server's error turned into the same Error object mysql2 makes (code, errno,
 * sqlState, sqlMessage, sql), so commit-error classification and the retry paths see what they
 * saw before. A connection failure reaches our command as it reaches mysql2's (the queue calls
 * `onResult` of the running and of every queued command).
 *
 * The command queue is mysql2's internal interface (3.x: `addCommand`, `writePacket`,
 * `_resetSequenceId`); a connection without it (another driver version) gets mysql2's
 * `execute` with the same values instead (`canExecuteRaw`).
 */
import { encodeExecuteRows } from './mysql-execute-packet';
import type { MsgRowKey } from './types';

/** mysql2 3.x: CLIENT_QUERY_ATTRIBUTES (capability flag). */
const CLIENT_QUERY_ATTRIBUTES = 0x08000000;

/** The packet as mysql2's `writePacket` takes it (its Packet's interface, header included). */
interface RawPacket {
  readonly buffer: Buffer;
  length(): number;
  writeHeader(sequenceId: number): void;
}

/** A packet of the server's answer, as mysql2's parser hands it to a command. */
interface ServerPacket {
  isError(): boolean;
  asError(encoding: string): Error;
}

interface PreparedStatement {
  readonly id: number;
}

/** The part of mysql2's Connection used here. */
export interface RawExecuteConnection {
  prepare(sql: string, cb: (err: Error | null, stmt: PreparedStatement) => void): unknown;
  addCommand(cmd: RowsExecuteCommand): unknown;
  writePacket(p: RawPacket): void;
  _resetSequenceId(): void;
  readonly clientEncoding: string;
  readonly config: { readonly clientFlags: number };
  readonly serverCapabilityFlags?: number;
}

/** The mysql2 connection offers the command queue this module writes to. */
export function canExecuteRaw(conn: unknown): conn is RawExecuteConnection {
  const c = conn as Partial<Record<keyof RawExecuteConnection, unknown>>;
  return typeof c.prepare === 'function' && typeof c.addCommand === 'function' && typeof c.writePacket === 'function' && typeof c._resetSequenceId === 'function';
}

function rawPacket(buffer: Buffer): RawPacket {
  return {
    buffer,
    length: () => buffer.length,
    writeHeader(sequenceId: number): void {
      const n = buffer.length - 4;
      buffer[0] = n & 0xff;
      buffer[1] = (n >>> 8) & 0xff;
      buffer[2] = n >>> 16;
      buffer[3] = sequenceId;
    },
  };
}

/**
 * One COM_STMT_EXECUTE in mysql2's command queue: `execute` is called with no packet when the
 * command's turn comes (it writes), then with the server's answer (an INSERT answers with one
 * OK or ERR packet). `onResult` is what the connection calls when it fails or is closed.
 */
class RowsExecuteCommand {
  private started = false;

  constructor(
    private readonly packet: RawPacket,
    private readonly sql: string,
    readonly onResult: (err: Error | null) => void,
  ) {}

  /** mysql2's debug log names the command's state. */
  stateName(): string {
    return this.started ? 'awaiting the answer' : 'not started';
  }

  execute(packet: ServerPacket | undefined, conn: RawExecuteConnection): boolean {
    if (!this.started) {
      this.started = true;
      conn._resetSequenceId();
      conn.writePacket(this.packet);
      return false;
    }
    if (packet !== undefined && packet.isError()) {
      const err = packet.asError(conn.clientEncoding) as Error & { sql?: string };
      err.sql = this.sql;
      this.onResult(err);
      return true;
    }
    this.onResult(null);
    return true;
  }
}

/**
 * Payload lengths mysql2's `writePacket` (3.x) cannot send: for 0xFFFFFC–0xFFFFFE bytes it
 * writes the packet and then an empty one with the next sequence ID, which the server reads
 * as a malformed command, and the connection breaks (found by the review: a statement just
 * under 16 MB, e.g. ~1,000 rows of ~16 KB on MySQL 8's default max_allowed_packet).
 */
export function unsendableByMysql2(payloadLength: number): boolean {
  return payloadLength >= 0xfffffc && payloadLength <= 0xfffffe;
}

/**
 * Runs prepared `sql` (n rows of five parameters) with rows[from..from+n) on `conn`. Resolves
 * false, sending nothing, when the packet of more than one row has a length mysql2 cannot send
 * (unsendableByMysql2): the caller splits the statement.
 */
export function executeRowsRaw(conn: RawExecuteConnection, sql: string, rows: readonly MsgRowKey[], data: readonly Buffer[], from: number, n: number): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    conn.prepare(sql, (err, stmt) => {
      if (err !== null) return reject(err);
      let buf: Buffer;
      try {
        const attrs = (conn.config.clientFlags & (conn.serverCapabilityFlags ?? 0) & CLIENT_QUERY_ATTRIBUTES) !== 0;
        buf = encodeExecuteRows(stmt.id, rows, data, from, n, attrs);
      } catch (e) {
        return reject(e as Error);
      }
      if (n > 1 && unsendableByMysql2(buf.length - 4)) return resolve(false);
      conn.addCommand(new RowsExecuteCommand(rawPacket(buf), sql, (e) => (e === null ? resolve(true) : reject(e))));
    });
  });
}
