/**
 * Writes a FILE store in the reference's format (reference-stores.md §2, §3), byte for byte as
 * the reference would. Not used by the import itself: it builds test cases the fixtures lack
 * (damage, several slices, compaction leftovers) and large stores for the benchmark. Writes are
 * synchronous and buffered so a million-message store is quick to generate.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { crc32, IEEE_POLY } from './crc32';
import { INDEX_ENTRY_LEN, RECORD_HEADER_LEN, VERSION_LEN, FILE_VERSION } from './file-framing';
import { SUB_DELETE, type SubsRecord } from './file-subs-replay';
import { CLIENT_ADD, type ClientsRecord } from './file-clients';
import { channelKey, masterKey, NonceSequence, sealEnvelope, type ReferenceCipher } from './reference-crypto';
import { encodeClientDelete, encodeClientInfo, encodeMsg, encodeServerInfo, encodeSubDelete, encodeSubState, encodeSubUpdate, type StoredServerInfo } from './records';

/** A message to append; `subject` defaults to the channel name. */
export interface WriterMessage {
  readonly seq: number;
  readonly timestamp: bigint;
  readonly data: Uint8Array;
  readonly subject?: string;
  readonly reply?: string;
}

export interface ReferenceWriterOptions {
  /** Reflected CRC polynomial (`file_crc_poly`); default IEEE. */
  readonly crcPolynomial?: number;
  /** Encrypt message payloads like `--encryption_key` with this cipher. */
  readonly encryption?: { readonly key: string | Uint8Array; readonly cipher: ReferenceCipher };
}

export interface ChannelWriterOptions {
  /** Nonce prefix (4 bytes) and starting counter; default random prefix, counter = 1. */
  readonly noncePrefix?: Uint8Array;
  readonly nonceCounter?: bigint;
  /** Number of the first slice (default 1). */
  readonly firstSlice?: number;
}

const FLUSH_AT = 1 << 20;

/** An append-only file written in large chunks. */
class BufferedFile {
  private readonly fd: number;
  private chunks: Buffer[] = [];
  private pending = 0;
  private written = 0;

  constructor(readonly path: string) {
    this.fd = fs.openSync(path, 'w');
    const v = Buffer.alloc(VERSION_LEN);
    v.writeUInt32LE(FILE_VERSION, 0);
    this.write(v);
  }

  /** Bytes written so far (including unflushed ones): the offset of the next write. */
  get size(): number {
    return this.written + this.pending;
  }

  write(b: Buffer): void {
    this.chunks.push(b);
    this.pending += b.length;
    if (this.pending >= FLUSH_AT) this.flush();
  }

  flush(): void {
    if (this.pending === 0) return;
    fs.writeSync(this.fd, Buffer.concat(this.chunks, this.pending));
    this.written += this.pending;
    this.chunks = [];
    this.pending = 0;
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}

function recordHeader(h: number, payload: Buffer, poly: number): Buffer {
  const head = Buffer.alloc(RECORD_HEADER_LEN);
  head.writeUInt32LE(h >>> 0, 0);
  head.writeUInt32LE(crc32(payload, poly), 4);
  return head;
}

function typedRecord(type: number, payload: Buffer, poly: number): Buffer {
  return Buffer.concat([recordHeader(((type << 24) | payload.length) >>> 0, payload, poly), payload]);
}

export class ReferenceFileStoreWriter {
  private readonly poly: number;
  private readonly master: Buffer | undefined;

  constructor(
    readonly dir: string,
    private readonly options: ReferenceWriterOptions = {},
  ) {
    this.poly = options.crcPolynomial ?? IEEE_POLY;
    this.master = options.encryption === undefined ? undefined : masterKey(options.encryption.key);
    fs.mkdirSync(dir, { recursive: true });
  }

  writeServerInfo(info: StoredServerInfo): void {
    const payload = encodeServerInfo(info);
    const f = new BufferedFile(path.join(this.dir, 'server.dat'));
    f.write(recordHeader(payload.length, payload, this.poly));
    f.write(payload);
    f.close();
  }

  writeClients(records: Iterable<ClientsRecord>): void {
    const f = new BufferedFile(path.join(this.dir, 'clients.dat'));
    for (const r of records) f.write(typedRecord(r.type, r.type === CLIENT_ADD ? encodeClientInfo(r.info) : encodeClientDelete(r.id), this.poly));
    f.close();
  }

  /** Creates the channel directory with an empty `subs.dat` (as the reference does). */
  channel(name: string, options: ChannelWriterOptions = {}): ReferenceChannelWriter {
    const cdir = path.join(this.dir, name);
    fs.mkdirSync(cdir, { recursive: true });
    const enc = this.options.encryption;
    const crypt = enc === undefined || this.master === undefined
      ? undefined
      : { cipher: enc.cipher, key: channelKey(this.master, name), nonces: new NonceSequence(options.noncePrefix ?? randomBytes(4), options.nonceCounter ?? 1n) };
    return new ReferenceChannelWriter(name, cdir, this.poly, crypt, options.firstSlice ?? 1);
  }
}

export class ReferenceChannelWriter {
  private subs: BufferedFile;
  private dat: BufferedFile | undefined;
  private idx: BufferedFile | undefined;
  private sliceNo: number;

  constructor(
    readonly name: string,
    readonly dir: string,
    private readonly poly: number,
    private readonly crypt: { cipher: ReferenceCipher; key: Buffer; nonces: NonceSequence } | undefined,
    firstSlice: number,
  ) {
    this.subs = new BufferedFile(path.join(dir, 'subs.dat'));
    this.sliceNo = firstSlice - 1;
  }

  /** Appends `subs.dat` records (types 1–5 of §2.6). */
  writeSubs(records: Iterable<SubsRecord>): void {
    for (const r of records) {
      let payload: Buffer;
      if ('state' in r) payload = encodeSubState(r.state);
      else if (r.type === SUB_DELETE) payload = encodeSubDelete(r.id);
      else payload = encodeSubUpdate({ id: r.id, seqno: r.seqno });
      this.subs.write(typedRecord(r.type, payload, this.poly));
    }
  }

  /** Closes the current slice; the next message opens slice `n` (default: current + 1). */
  newSlice(n?: number): void {
    this.closeSlice();
    if (n !== undefined) this.sliceNo = n - 1;
  }

  /** The current slice number (0 before the first message). */
  get currentSlice(): number {
    return this.dat === undefined ? 0 : this.sliceNo;
  }

  append(m: WriterMessage): void {
    if (this.dat === undefined) {
      this.sliceNo++;
      this.dat = new BufferedFile(path.join(this.dir, `msgs.${this.sliceNo}.dat`));
      this.idx = new BufferedFile(path.join(this.dir, `msgs.${this.sliceNo}.idx`));
    }
    const data = this.crypt === undefined || m.data.length === 0 ? m.data : sealEnvelope(this.crypt.cipher, this.crypt.key, this.crypt.nonces.next(), m.data);
    const payload = encodeMsg({ sequence: m.seq, subject: m.subject ?? this.name, reply: m.reply ?? '', data, timestamp: m.timestamp });
    const offset = this.dat.size;
    this.dat.write(recordHeader(payload.length, payload, this.poly));
    this.dat.write(payload);
    const e = Buffer.alloc(INDEX_ENTRY_LEN);
    e.writeBigUInt64LE(BigInt(m.seq), 0);
    e.writeBigInt64LE(BigInt(offset), 8);
    e.writeBigInt64LE(m.timestamp, 16);
    e.writeUInt32LE(payload.length, 24);
    e.writeUInt32LE(crc32(e.subarray(0, 28), this.poly), 28);
    this.idx?.write(e);
  }

  private closeSlice(): void {
    this.dat?.close();
    this.idx?.close();
    this.dat = undefined;
    this.idx = undefined;
  }

  close(): void {
    this.closeSlice();
    this.subs.close();
  }
}
