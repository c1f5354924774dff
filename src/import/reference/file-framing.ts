/**
 * FILE-store framing (reference-stores.md §2.2, §2.5): the version header, 8-byte record
 * headers (typed and untyped) and 32-byte index entries, read strictly read-only through a
 * windowed reader so memory stays bounded whatever the file size.
 */
import * as fs from 'node:fs';
import { ReferenceDamageError } from './errors';

export const FILE_VERSION = 1;
export const VERSION_LEN = 4;
export const RECORD_HEADER_LEN = 8;
export const INDEX_ENTRY_LEN = 32;
const WINDOW = 1 << 20;

/** Positioned reads through a cached window. Opened with flag 'r': never creates or changes. */
export class RandomAccessFile {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  private constructor(
    readonly path: string,
    private readonly fh: fs.promises.FileHandle,
    readonly size: number,
  ) {}

  static async open(path: string): Promise<RandomAccessFile> {
    const fh = await fs.promises.open(path, 'r');
    try {
      const st = await fh.stat();
      return new RandomAccessFile(path, fh, st.size);
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  /** Up to `len` bytes at `offset` (fewer at EOF). The buffer is valid until the next read. */
  async read(offset: number, len: number): Promise<Buffer> {
    const end = Math.min(offset + len, this.size);
    if (offset >= this.windowStart && end <= this.windowStart + this.window.length) {
      return this.window.subarray(offset - this.windowStart, end - this.windowStart);
    }
    const want = Math.max(end - offset, 0);
    const buf = Buffer.alloc(Math.max(want, Math.min(WINDOW, this.size - offset)));
    let got = 0;
    while (got < buf.length) {
      const { bytesRead } = await this.fh.read(buf, got, buf.length - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    this.window = buf.subarray(0, got);
    this.windowStart = offset;
    return this.window.subarray(0, Math.min(want, got));
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Synchronous positioned reads through one reusable window; opened read-only. */
export class WindowedFile {
  private readonly fd: number;
  readonly size: number;
  private window: Buffer;
  private start = 0;
  private len = 0;

  constructor(readonly path: string, windowBytes: number) {
    this.fd = fs.openSync(path, 'r');
    this.size = fs.fstatSync(this.fd).size;
    this.window = Buffer.allocUnsafeSlow(windowBytes);
  }

  /** Up to `len` bytes at `offset` (fewer at EOF), valid until the next read. */
  read(offset: number, len: number): Buffer {
    const end = Math.min(offset + len, this.size);
    if (offset < this.start || end > this.start + this.len) {
      if (len > this.window.length) this.window = Buffer.allocUnsafeSlow(len);
      let got = 0;
      const want = Math.min(this.window.length, this.size - offset);
      while (got < want) {
        const n = fs.readSync(this.fd, this.window, got, want - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      this.start = offset;
      this.len = got;
    }
    return this.window.subarray(offset - this.start, Math.max(offset - this.start, end - this.start));
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Runs `f` on the file opened read-only, closing it afterwards. */
export async function withFile<T>(p: string, f: (file: RandomAccessFile) => Promise<T>): Promise<T> {
  const file = await RandomAccessFile.open(p);
  try {
    return await f(file);
  } finally {
    await file.close();
  }
}

/** Checks the 4-byte file version; false for a zero-length file (nothing written yet). */
export async function checkVersion(f: RandomAccessFile): Promise<boolean> {
  return f.size === 0 ? false : versionOk(await f.read(0, VERSION_LEN), f.path);
}

export function versionOk(head: Buffer, path: string): boolean {
  if (head.length < VERSION_LEN) throw new ReferenceDamageError('truncated', { kind: 'file', file: path, offset: 0 }, `file version header cut short (${head.length} of 4 bytes)`);
  const v = head.readUInt32LE(0);
  if (v !== FILE_VERSION) throw new ReferenceDamageError('bad-header', { kind: 'file', file: path, offset: 0 }, `unsupported file version ${v} (expected 1)`);
  return true;
}

export interface RawRecord {
  readonly kind: 'record';
  readonly offset: number;
  /** Record type for typed files (clients.dat, subs.dat); 0 for untyped ones. */
  readonly type: number;
  readonly size: number;
  readonly crc: number;
  /** Valid until the next iteration step: decode it at once. */
  readonly payload: Buffer;
}

/** An incomplete record at the end of the file (§2.11 "unexpected EOF"). */
export interface TruncatedTail {
  readonly kind: 'truncated';
  readonly offset: number;
  readonly detail: string;
}

/**
 * Every record from offset 4 in file order, stopping at EOF or a zero header (§2.2). A cut-short
 * last record is reported as a `TruncatedTail` item (always the last one).
 */
export async function* scanRecords(f: RandomAccessFile, typed: boolean): AsyncGenerator<RawRecord | TruncatedTail> {
  if (!(await checkVersion(f))) return;
  let off = VERSION_LEN;
  while (off < f.size) {
    const head = await f.read(off, RECORD_HEADER_LEN);
    if (head.length < RECORD_HEADER_LEN) {
      yield { kind: 'truncated', offset: off, detail: `record header cut short (${head.length} of 8 bytes)` };
      return;
    }
    const h = head.readUInt32LE(0);
    const crc = head.readUInt32LE(4);
    if (h === 0 && crc === 0) return;
    const type = typed ? h >>> 24 : 0;
    const size = typed ? h & 0xffffff : h;
    if (off + RECORD_HEADER_LEN + size > f.size) {
      yield { kind: 'truncated', offset: off, detail: `record of ${size} bytes cut short by the end of the file (${f.size - off - RECORD_HEADER_LEN} bytes present)` };
      return;
    }
    const payload = await f.read(off + RECORD_HEADER_LEN, size);
    yield { kind: 'record', offset: off, type, size, crc, payload };
    off += RECORD_HEADER_LEN + size;
  }
}

export interface IndexEntry {
  readonly seq: number;
  /** Offset of the record header in the .dat file. */
  readonly offset: number;
  readonly timestamp: bigint;
  readonly size: number;
  readonly crc: number;
  /** Offset of this entry in the .idx file. */
  readonly entryOffset: number;
  /** Bytes 0–27 of the entry, for the CRC check (valid until the next step). */
  readonly covered: Buffer;
}

/** The entry read at `off` (32 bytes, or fewer at EOF); undefined for an all-zero entry (the end). */
function indexEntryAt(e: Buffer, off: number): IndexEntry | TruncatedTail | undefined {
  if (e.length < INDEX_ENTRY_LEN) return { kind: 'truncated', offset: off, detail: `index entry cut short (${e.length} of 32 bytes)` };
  const seq = e.readBigUInt64LE(0);
  const offset = e.readBigInt64LE(8);
  const crc = e.readUInt32LE(28);
  if (seq === 0n && offset === 0n && crc === 0 && e.readBigInt64LE(16) === 0n && e.readUInt32LE(24) === 0) return undefined;
  return {
    seq: Number(seq),
    offset: Number(offset),
    timestamp: e.readBigInt64LE(16),
    size: e.readUInt32LE(24),
    crc,
    entryOffset: off,
    covered: e.subarray(0, 28),
  };
}

/** Index entries up to EOF or an all-zero entry; a partial trailing entry is reported as such. */
export async function* readIndexEntries(f: RandomAccessFile): AsyncGenerator<IndexEntry | TruncatedTail> {
  if (!(await checkVersion(f))) return;
  for (let off = VERSION_LEN; off < f.size; off += INDEX_ENTRY_LEN) {
    const e = indexEntryAt(await f.read(off, INDEX_ENTRY_LEN), off);
    if (e === undefined) return;
    yield e;
    if (isTruncated(e)) return;
  }
}

/** True for an all-zero index entry (the end of the index, §2.5). */
export function isZeroEntry(e: Buffer, at = 0): boolean {
  for (let i = at; i < at + INDEX_ENTRY_LEN; i++) if (e[i] !== 0) return false;
  return true;
}

export function isTruncated(x: object): x is TruncatedTail {
  return (x as { kind?: string }).kind === 'truncated';
}
