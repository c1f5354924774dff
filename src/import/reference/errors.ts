/**
 * Errors of the reference-store readers. Every damage error names where the damage is (file and
 * byte offset, or table and row) so an operator can inspect it, and says what to do.
 */
import { StanServerError } from '../../errors';

/** What kind of damage was found; also used in the list of skipped records. */
export type DamageKind =
  | 'bad-crc'
  | 'truncated'
  | 'index-mismatch'
  | 'bad-record'
  | 'bad-header'
  | 'undecryptable';

/** Where a damaged record is: a file and byte offset, or an SQL table and row key. */
export type DamageLocation =
  | { readonly kind: 'file'; readonly file: string; readonly offset: number }
  | { readonly kind: 'row'; readonly table: string; readonly row: string };

export function describeLocation(at: DamageLocation): string {
  return at.kind === 'file' ? `${at.file} at offset ${at.offset}` : `table ${at.table}, row ${at.row}`;
}

/** A store that cannot be read at all (not initialised, wrong layout, clustered sub-state...). */
export class ReferenceStoreError extends StanServerError {
  override readonly kind = 'import' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ReferenceStoreError';
  }
}

/** A damaged record. `seq` is set when the damaged record is a known message sequence. */
export class ReferenceDamageError extends ReferenceStoreError {
  constructor(
    readonly damage: DamageKind,
    readonly at: DamageLocation,
    readonly detail: string,
    readonly seq?: number,
  ) {
    super(`damaged reference store: ${detail} (${describeLocation(at)}${seq !== undefined ? `, message seq ${seq}` : ''}). ` +
      'Restore the store from a backup, or import with skipping of damaged message records enabled to leave them out');
    this.name = 'ReferenceDamageError';
  }
}

/** Encrypted payloads with no key, or a key that does not open them. */
export class ReferenceKeyError extends ReferenceStoreError {
  constructor(
    readonly reason: 'missing-key' | 'wrong-key',
    readonly at: DamageLocation,
    readonly channel: string,
    readonly seq: number,
  ) {
    super(
      reason === 'missing-key'
        ? `channel "${channel}" message seq ${seq} (${describeLocation(at)}) is encrypted but no key was given: pass the key the reference ran with (--encryption_key or NATS_STREAMING_ENCRYPTION_KEY)`
        : `channel "${channel}" message seq ${seq} (${describeLocation(at)}) could not be decrypted: the key is wrong (give the key the reference ran with) or the record is corrupt`,
    );
    this.name = 'ReferenceKeyError';
  }
}

/** A damaged message record left out in skip mode. */
export interface SkippedRecord {
  readonly channel: string;
  readonly damage: DamageKind;
  readonly at: DamageLocation;
  readonly detail: string;
  readonly seq?: number;
}
