/**
 * Normalises column values from the pg and mysql2 drivers: BIGINT comes back as a string (pg)
 * or a number (mysql2), BOOL as a boolean (pg) or 0/1 (MySQL), blobs as Buffers.
 */

export function num(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  const n = Number(String(v));
  if (!Number.isSafeInteger(n)) throw new Error(`column value ${String(v)} is not a safe integer`);
  return n;
}

export function big(v: unknown): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'bigint') return v;
  return BigInt(String(v));
}

export function bool(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 't';
}

export function bytes(v: unknown): Buffer | undefined {
  if (v === null || v === undefined) return undefined;
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  throw new Error(`unexpected blob value of type ${typeof v}`);
}

export function text(v: unknown): string {
  return v === null || v === undefined ? '' : String(v);
}

/** A SubsPending JSON array column (`[3]`, `[5,3,4]`); NULL or empty means none. */
export function seqList(v: unknown): number[] {
  const b = bytes(v);
  if (b === undefined || b.length === 0) return [];
  const parsed: unknown = JSON.parse(b.toString('utf8'));
  if (parsed === null) return [];
  if (!Array.isArray(parsed)) throw new Error(`expected a JSON array, got ${b.toString('utf8').slice(0, 40)}`);
  return parsed.map((x) => num(x));
}
