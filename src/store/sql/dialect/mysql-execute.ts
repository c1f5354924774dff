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
const COM_QUERY = 0x03;

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
  addCommand(cmd: PipelinedCommand): unknown;
  writePacket(p: RawPacket): void;
  _resetSequenceId(): void;
  _bumpSequenceId(n: number): void;
  destroy(): void;
  readonly clientEncoding: string;
  /** `compress` is what the handshake agreed (mysql2 sets it to the capability bit: a number). */
  readonly config: { readonly clientFlags: number; readonly compress?: unknown };
  readonly serverCapabilityFlags?: number;
}

/** The mysql2 connection offers the command queue this module writes to. */
export function canExecuteRaw(conn: unknown): conn is RawExecuteConnection {
  const c = conn as Partial<Record<keyof RawExecuteConnection, unknown>>;
  return (
    typeof c.prepare === 'function' &&
    typeof c.addCommand === 'function' &&
    typeof c.writePacket === 'function' &&
    typeof c._resetSequenceId === 'function' &&
    typeof c._bumpSequenceId === 'function' &&
    typeof c.destroy === 'function'
  );
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
 * Payload lengths mysql2's `writePacket` (3.x) cannot send: for 0xFFFFFC–0xFFFFFE bytes (and
 * the same remainder above each further 16 MB) it writes the packet and then an empty one with
 * the next sequence ID, which the server reads as a malformed command, and the connection
 * breaks (found by the reviews: a statement just under 16 MB, e.g. ~1,000 rows of ~16 KB on
 * MySQL 8's default max_allowed_packet, or just under 32 MB with a 64 MB packet limit).
 */
export function unsendableByMysql2(payloadLength: number): boolean {
  // Every length whose last 16 MB piece would be 0xFFFFFC–0xFFFFFE bytes (0x1FFFFFB… too).
  return payloadLength % MAX_PIECE >= 0xfffffc;
}

/** mysql2 and the server cut a packet into pieces of at most this many payload bytes. */
const MAX_PIECE = 0xffffff;

/**
 * Pieces mysql2's writePacket sends for `buffer` (header included), i.e. the sequence id of
 * the server's answer to that command.
 */
function piecesOf(buffer: Buffer): number {
  return buffer.length < MAX_PIECE ? 1 : Math.ceil(buffer.length / MAX_PIECE);
}

/**
 * Runs prepared `sql` (n rows of five parameters) with rows[from..from+n) on `conn`. Resolves
 * false, sending nothing, when the packet of more than one row has a length mysql2 cannot send
 * (unsendableByMysql2): the caller splits the statement (eachStatement).
 */
export async function executeRowsRaw(conn: RawExecuteConnection, sql: string, rows: readonly MsgRowKey[], data: readonly Buffer[], from: number, n: number): Promise<boolean> {
  const buf = await encodeStatement(conn, sql, rows, data, from, n, queryAttributes(conn));
  if (buf === undefined) return false;
  const failed = await runCommands(conn, [rawPacket(buf)], [sql]);
  if (failed !== null) throw failed;
  return true;
}

/**
 * The COM_STMT_EXECUTE packet of prepared `sql` with rows[from..from+n), or undefined when a
 * statement of more than one row has a length mysql2 cannot send.
 */
async function encodeStatement(conn: RawExecuteConnection, sql: string, rows: readonly MsgRowKey[], data: readonly Buffer[], from: number, n: number, attrs: boolean): Promise<Buffer | undefined> {
  const buf = encodeExecuteRows((await prepared(conn, sql)).id, rows, data, from, n, attrs);
  return n > 1 && unsendableByMysql2(buf.length - 4) ? undefined : buf;
}

/**
 * Calls `run(from, n)` for each statement size in turn; when it answers false (a length mysql2
 * cannot send), the statement's last row goes in a statement of its own after the others.
 */
export async function eachStatement(sizes: readonly number[], run: (from: number, n: number) => Promise<boolean>): Promise<void> {
  let from = 0;
  for (const n of sizes) {
    if (!(await run(from, n))) {
      await run(from, n - 1);
      await run(from + n - 1, 1);
    }
    from += n;
  }
}

/** Queues `packets` as one PipelinedCommand; resolves with its first error, or null. */
function runCommands(conn: RawExecuteConnection, packets: readonly RawPacket[], sqls: readonly string[]): Promise<Error | null> {
  return new Promise((resolve) => conn.addCommand(new PipelinedCommand(packets, sqls, resolve)));
}

/** Both ends agreed on query attributes (MySQL 8): COM_QUERY and COM_STMT_EXECUTE then carry a parameter count. */
function queryAttributes(conn: RawExecuteConnection): boolean {
  return (conn.config.clientFlags & (conn.serverCapabilityFlags ?? 0) & CLIENT_QUERY_ATTRIBUTES) !== 0;
}

/** A COM_QUERY packet of a fixed statement without parameters, the header left for the connection. */
function queryPacket(sql: string, attrs: boolean): Buffer {
  // With query attributes: parameter_count 0 and parameter_set_count 1 (length-encoded) first.
  const pre = attrs ? [COM_QUERY, 0, 1] : [COM_QUERY];
  return Buffer.concat([Buffer.alloc(4), Buffer.from(pre), Buffer.from(sql, 'utf8')]);
}

/**
 * Commands in mysql2's command queue, written at once when their turn comes, their answers
 * read in order (each one OK or ERR packet: an INSERT's, BEGIN's, COMMIT's):
 * one round trip for all. The server runs pipelined commands one after the other as if each
 * had waited for the previous answer; mysql2 checks each answer's sequence id against its
 * counter, which is set before each answer to what the server sends (the number of 16 MB
 * pieces of that command: 1 below 16 MB). `onResult` gets the first error (with its statement's
 * text, as mysql2's own error objects: commit-error classification and the retries see what
 * they see from mysql2), once every answer has arrived, or the connection's failure (the
 * queue calls `onResult` of the running and of every queued command).
 */
class PipelinedCommand {
  private started = false;
  private answered = 0;
  private firstError: Error | null = null;

  constructor(
    private readonly packets: readonly RawPacket[],
    private readonly sqls: readonly string[],
    readonly onResult: (err: Error | null) => void,
  ) {}

  stateName(): string {
    return this.started ? `awaiting answer ${this.answered + 1} of ${this.packets.length}` : 'not started';
  }

  execute(packet: ServerPacket | undefined, conn: RawExecuteConnection): boolean {
    if (!this.started) {
      this.started = true;
      for (const p of this.packets) {
        conn._resetSequenceId();
        conn.writePacket(p);
      }
      this.expectAnswer(conn);
      return false;
    }
    if (packet !== undefined && packet.isError() && this.firstError === null) {
      const err = packet.asError(conn.clientEncoding) as Error & { sql?: string };
      err.sql = this.sqls[this.answered];
      this.firstError = err;
    }
    this.answered++;
    if (this.answered < this.packets.length) {
      this.expectAnswer(conn);
      return false;
    }
    this.onResult(this.firstError);
    return true;
  }

  /** The next answer's sequence id is the number of pieces its command was sent in. */
  private expectAnswer(conn: RawExecuteConnection): void {
    conn._resetSequenceId();
    conn._bumpSequenceId(piecesOf(this.packets[this.answered].buffer));
  }
}

function prepared(conn: RawExecuteConnection, sql: string): Promise<PreparedStatement> {
  return new Promise((resolve, reject) => conn.prepare(sql, (err, stmt) => (err === null ? resolve(stmt) : reject(err))));
}

/**
 * Whether the connection can take a pipelined transaction: the command queue, and no
 * compression (its frames may carry several answers; not needed by this path, not tested).
 */
export function canPipelineRaw(conn: unknown): conn is RawExecuteConnection {
  return canExecuteRaw(conn) && !conn.config.compress;
}

/**
 * The prepared INSERTs in one transaction, sent in one round trip (PipelinedCommand) behind
 * `SET autocommit = 0`, then COMMIT when every one succeeded, else ROLLBACK and the first
 * error, each with `SET autocommit = 1` in the same write: the rows are stored all or none,
 * with one commit (one redo-log flush) and two round trips instead of one per statement plus
 * BEGIN and COMMIT (docs/performance.md, "MariaDB, round 2 (ninth session)").
 *
 * Why not BEGIN: an error that makes InnoDB roll the whole transaction back (a deadlock, a lock
 * wait timeout with innodb_rollback_on_timeout) ends a BEGIN's transaction, and the statements
 * already sent behind it would then each be committed on their own (the review reproduced it:
 * a deadlock in the first statement, the second's rows stored). With autocommit off every
 * statement opens a transaction if none is open, which the ROLLBACK undoes. A connection whose
 * last step fails is destroyed: it may still be in a transaction or without autocommit.
 */
export async function executeTransactionRaw(conn: RawExecuteConnection, sizes: readonly number[], insertText: (n: number) => string, rows: readonly MsgRowKey[], data: readonly Buffer[]): Promise<void> {
  const attrs = queryAttributes(conn);
  const packets: RawPacket[] = [rawPacket(queryPacket(AUTOCOMMIT_OFF, attrs))];
  const sqls: string[] = [AUTOCOMMIT_OFF];
  await eachStatement(sizes, async (from, n) => {
    const sql = insertText(n);
    const buf = await encodeStatement(conn, sql, rows, data, from, n, attrs);
    if (buf === undefined) return false;
    packets.push(rawPacket(buf));
    sqls.push(sql);
    return true;
  });
  const failed = await runCommands(conn, packets, sqls);
  const end = failed === null ? 'COMMIT' : 'ROLLBACK';
  const ended = await runCommands(conn, [rawPacket(queryPacket(end, attrs)), rawPacket(queryPacket(AUTOCOMMIT_ON, attrs))], [end, AUTOCOMMIT_ON]);
  if (ended !== null) conn.destroy();
  if (failed !== null) throw failed;
  if (ended !== null) throw ended;
}

const AUTOCOMMIT_OFF = 'SET autocommit = 0';
const AUTOCOMMIT_ON = 'SET autocommit = 1';
