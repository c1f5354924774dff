/**
 * The number of frames in the FILE store's WAL now, read from the wal-index header at the start
 * of the `-shm` file (SQLite's documented WAL-index format: a 48-byte header, `iVersion`
 * 3007000 at offset 0, `isInit` at 12, `mxFrame` — the last valid frame — at 16, in the host's
 * byte order; a second copy follows it).
 *
 * Why not an estimate from the bytes written: the write thread's checkpoint bound was such an
 * estimate, and the review measured what it misses: a channel at its message limit deletes as
 * many rows as each batch inserts (the WAL reached 112-169 MB against a ~66 MB bound), the main
 * connection's inline commits and an FT lease's renewals are written by other connections, and
 * a checkpoint that another connection's commit overlapped answers "complete" while the WAL
 * cannot start again from its beginning (it grew by another bound each time). The header says
 * how long the WAL really is after every transaction, for one 48-byte read.
 *
 * The file descriptor is never closed: SQLite holds POSIX advisory locks on the `-shm` file,
 * and closing any descriptor of a file releases every such lock the process holds on it
 * (SQLite's "How To Corrupt An SQLite Database File", 2.2), so the main thread's connection
 * would lose its locks while another process (an FT standby) uses the same WAL. One descriptor
 * per write thread started stays open until the process exits (after the store closed and
 * SQLite removed the file, it holds only that unlinked file's few KB).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';

const HEADER_BYTES = 48;
/** SQLite writes the header twice (the second copy first), readers take it when both agree. */
const BOTH_COPIES = 2 * HEADER_BYTES;
const WAL_INDEX_VERSION = 3007000;
const IS_INIT_OFFSET = 12;
const MX_FRAME_OFFSET = 16;

export class WalFrameCount {
  private fd: number | undefined;
  private readonly header = Buffer.alloc(BOTH_COPIES);
  private readonly littleEndian = os.endianness() === 'LE';

  /** `dbFile`: the database file (its wal-index is `dbFile`-shm). */
  constructor(private readonly dbFile: string) {}

  /** Frames in the WAL now; undefined when the wal-index cannot be read (not created yet, another layout). */
  frames(): number | undefined {
    try {
      this.fd ??= fs.openSync(`${this.dbFile}-shm`, 'r');
      if (fs.readSync(this.fd, this.header, 0, BOTH_COPIES, 0) < BOTH_COPIES) return undefined;
    } catch {
      return undefined;
    }
    const u32 = (at: number): number => (this.littleEndian ? this.header.readUInt32LE(at) : this.header.readUInt32BE(at));
    // Read while SQLite rewrites it: unknown this time (the next answers read it again).
    if (this.header.compare(this.header, HEADER_BYTES, BOTH_COPIES, 0, HEADER_BYTES) !== 0) return undefined;
    if (u32(0) !== WAL_INDEX_VERSION || this.header[IS_INIT_OFFSET] !== 1) return undefined;
    return u32(MX_FRAME_OFFSET);
  }
}
