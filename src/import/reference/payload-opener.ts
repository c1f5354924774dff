/**
 * Decrypts message payloads for both readers (reference-stores.md §3): one derived key per
 * channel, the cipher chosen by each record's code byte, plaintext passed through.
 *
 * A record that does not open is a wrong key unless an earlier record of the same channel
 * opened with this key: only then can it be damage, and skip mode may leave it out. So a wrong
 * key is always a clear error and never silently skips a whole store.
 */
import { ReferenceKeyError, type DamageLocation, type SkippedRecord } from './errors';
import { channelKey, envelopeCipher, masterKey, openEnvelope } from './reference-crypto';

export class PayloadOpener {
  private readonly master: Buffer | undefined;
  private readonly keys = new Map<string, { key: Buffer; verified: boolean }>();

  constructor(
    key: string | Uint8Array | undefined,
    private readonly skipDamaged: boolean,
  ) {
    this.master = key === undefined ? undefined : masterKey(key);
  }

  /** The plaintext (a copy), or undefined when the record was skipped. */
  open(channel: string, seq: number, data: Uint8Array, at: DamageLocation, skipped: SkippedRecord[]): Uint8Array | undefined {
    // new Uint8Array(typed array) is a memcpy; Uint8Array.from would iterate byte by byte.
    if (envelopeCipher(data) === undefined) return new Uint8Array(data);
    if (this.master === undefined) throw new ReferenceKeyError('missing-key', at, channel, seq);
    let k = this.keys.get(channel);
    if (k === undefined) {
      k = { key: channelKey(this.master, channel), verified: false };
      this.keys.set(channel, k);
    }
    try {
      const plain = openEnvelope(k.key, data);
      k.verified = true;
      return new Uint8Array(plain.buffer, plain.byteOffset, plain.length);
    } catch {
      if (!this.skipDamaged || !k.verified) throw new ReferenceKeyError('wrong-key', at, channel, seq);
      skipped.push({ channel, damage: 'undecryptable', at, detail: 'encrypted payload does not open although earlier records of the channel did', seq });
      return undefined;
    }
  }
}
