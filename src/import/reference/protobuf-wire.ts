/**
 * Minimal proto3 wire-format reader and writer for the reference's store records.
 *
 * Why not the project's protobufjs codecs: they map 64-bit integers to JS numbers, which loses
 * the low bits of nanosecond timestamps (the importer must carry them over exactly), and the
 * reference-format writer must reproduce gogo's output byte for byte (ascending field numbers,
 * default values omitted), which is simplest to guarantee with an explicit writer.
 */
import { StanServerError } from '../../errors';
import { readBigVarint, VARINT_TRUNCATED, varintEnd } from '../../protocol/varint';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/** Thrown for bytes that are not a valid protobuf message; callers add the file/offset. */
export class ProtoDecodeError extends StanServerError {
  override readonly kind = 'import' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ProtoDecodeError';
  }
}

export interface ProtoField {
  readonly num: number;
  readonly wire: number;
  /** Varint value (wire type 0). */
  readonly varint: bigint;
  /** Bytes of a length-delimited field (wire type 2); empty otherwise. */
  readonly bytes: Uint8Array;
}

const EMPTY = new Uint8Array(0);
const TRUNCATED = BigInt(VARINT_TRUNCATED);

/** The varint at `buf[pos]` and the position after it. */
function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  const v = readBigVarint(buf, pos, buf.length);
  if (v === TRUNCATED) throw new ProtoDecodeError('varint runs past the end of the record');
  if (v < 0n) throw new ProtoDecodeError('varint longer than 10 bytes');
  return [v, varintEnd.pos];
}

/** Every field of a message in stored order (unknown fields included; callers skip them). */
export function* protoFields(buf: Uint8Array): Generator<ProtoField> {
  let pos = 0;
  while (pos < buf.length) {
    const [key, p1] = readVarint(buf, pos);
    pos = p1;
    const num = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (num === 0) throw new ProtoDecodeError('field number 0');
    switch (wire) {
      case WIRE_VARINT: {
        const [v, p2] = readVarint(buf, pos);
        pos = p2;
        yield { num, wire, varint: v, bytes: EMPTY };
        break;
      }
      case WIRE_I64:
        if (pos + 8 > buf.length) throw new ProtoDecodeError('fixed64 runs past the end of the record');
        pos += 8;
        yield { num, wire, varint: 0n, bytes: EMPTY };
        break;
      case WIRE_LEN: {
        const [len, p2] = readVarint(buf, pos);
        const end = p2 + Number(len);
        if (len > BigInt(buf.length) || end > buf.length) throw new ProtoDecodeError(`field ${num} length ${len} runs past the end of the record`);
        yield { num, wire, varint: 0n, bytes: buf.subarray(p2, end) };
        pos = end;
        break;
      }
      case WIRE_I32:
        if (pos + 4 > buf.length) throw new ProtoDecodeError('fixed32 runs past the end of the record');
        pos += 4;
        yield { num, wire, varint: 0n, bytes: EMPTY };
        break;
      default:
        throw new ProtoDecodeError(`unsupported wire type ${wire} for field ${num}`);
    }
  }
}

const utf8 = new TextDecoder('utf-8');

export function fieldString(f: ProtoField): string {
  return utf8.decode(f.bytes);
}

/** uint64 field as a number; sequences and IDs stay far below 2^53 in any real store. */
export function fieldUint(f: ProtoField): number {
  if (f.varint > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtoDecodeError(`field ${f.num} value ${f.varint} is larger than 2^53`);
  return Number(f.varint);
}

/** int32 field (negative values are 10-byte two's complement varints). */
export function fieldInt32(f: ProtoField): number {
  return Number(BigInt.asIntN(32, f.varint));
}

/** int64 field, exact. */
export function fieldInt64(f: ProtoField): bigint {
  return BigInt.asIntN(64, f.varint);
}

/** Appends fields in the order called; callers call in ascending field order like gogo does. */
export class ProtoWriter {
  private readonly parts: number[] = [];
  private chunks: Uint8Array[] = [];
  private size = 0;

  private flushBytes(): void {
    if (this.parts.length > 0) {
      this.chunks.push(Uint8Array.from(this.parts));
      this.size += this.parts.length;
      this.parts.length = 0;
    }
  }

  private varint(v: bigint): void {
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
  }

  /** Varint field, omitted when zero (proto3 default). */
  uint(num: number, v: number | bigint): this {
    const b = BigInt(v);
    if (b === 0n) return this;
    this.varint(BigInt(num << 3) | BigInt(WIRE_VARINT));
    this.varint(b);
    return this;
  }

  bool(num: number, v: boolean): this {
    return this.uint(num, v ? 1 : 0);
  }

  /** Length-delimited field, omitted when empty. */
  bytes(num: number, v: Uint8Array): this {
    if (v.length === 0) return this;
    this.varint(BigInt((num << 3) | WIRE_LEN));
    this.varint(BigInt(v.length));
    this.flushBytes();
    this.chunks.push(v);
    this.size += v.length;
    return this;
  }

  string(num: number, v: string): this {
    return this.bytes(num, Buffer.from(v, 'utf8'));
  }

  finish(): Buffer {
    this.flushBytes();
    const out = Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    this.size = 0;
    return out;
  }
}
