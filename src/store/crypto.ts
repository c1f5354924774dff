/**
 * Encryption at rest of message payloads (`--encrypt`, `--encryption_cipher`,
 * `--encryption_key` / NATS_STREAMING_ENCRYPTION_KEY): the cipher and the record format, with
 * no knowledge of the database. The SQL store calls `seal` when it turns a message into a
 * `stan_messages` row and `open` when it reads one back (docs/encryption.md).
 *
 * Record format (version 1), the whole `data` column of an encrypted row:
 *
 *   byte 0      0xEC  magic
 *   byte 1      0x01  format version
 *   byte 2      cipher id: 1 = AES-256-GCM, 2 = ChaCha20-Poly1305
 *   bytes 3-14  nonce (12 random bytes, new for every record)
 *   …           ciphertext of the marshalled MsgProto (same length as the plaintext)
 *   last 16     authentication tag
 *
 * Why this recognises plaintext: an unencrypted row is a marshalled MsgProto, and a protobuf
 * message starts with a field tag; 0xEC as the first byte of a tag means wire type 4 (end of
 * group), which no message can start with (ours always start with 0x08, the sequence field).
 * So rows written before encryption was turned on are read as they are, and encrypted rows
 * are recognised when no key is configured (a clear error instead of garbage).
 *
 * The header bytes and a caller-given context (the store passes the channel ID and sequence
 * of the row) are authenticated as additional data: a row copied to another position, or a
 * header altered to pick another cipher, fails authentication like a wrong key does.
 *
 * Key derivation: the user key (its UTF-8 bytes, any length) is stretched with scrypt
 * (N=2^15, r=8, p=1, fixed salt) into a 32-byte master key, and one 32-byte key per cipher is
 * expanded from it with HKDF-SHA256 (info names the cipher). scrypt makes guessing a weak key
 * from stolen rows expensive; it runs once per process start (~0.1 s). Both cipher keys are
 * always derived: rows are opened with the cipher their header names, whichever cipher is
 * currently selected for writing (as in the reference server).
 */
import * as crypto from 'node:crypto';
import { StanServerError, errorText } from '../errors';

export type CipherName = 'AES' | 'CHACHA';

/** Cipher ids stored in byte 2 of a record: never renumber (rows on disk carry them). */
const CIPHER_IDS: Record<CipherName, number> = { AES: 1, CHACHA: 2 };
const CIPHER_BY_ID = new Map<number, CipherName>([
  [1, 'AES'],
  [2, 'CHACHA'],
]);
/** AEAD encrypt/decrypt objects; both ciphers share the GCM-shaped API (setAAD, auth tag). */
function createCipher(name: CipherName, key: crypto.KeyObject, nonce: Uint8Array): crypto.CipherGCM {
  if (name === 'AES') return crypto.createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LEN });
  return crypto.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN }) as unknown as crypto.CipherGCM;
}
function createDecipher(name: CipherName, key: crypto.KeyObject, nonce: Uint8Array): crypto.DecipherGCM {
  if (name === 'AES') return crypto.createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LEN });
  return crypto.createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN }) as unknown as crypto.DecipherGCM;
}
/** Human-readable names for logs and docs. */
export const CIPHER_LABEL: Record<CipherName, string> = { AES: 'AES-256-GCM', CHACHA: 'ChaCha20-Poly1305' };

export const RECORD_MAGIC = 0xec;
export const RECORD_VERSION = 1;
const HEADER_LEN = 3;
const NONCE_LEN = 12;
const TAG_LEN = 16;
/** Bytes an encrypted record adds to its plaintext. */
export const RECORD_OVERHEAD = HEADER_LEN + NONCE_LEN + TAG_LEN;

const SCRYPT_SALT = Buffer.from('nats-streaming-ts/encryption-at-rest/v1', 'utf8');
const SCRYPT_PARAMS: crypto.ScryptOptions = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LEN = 32;

/** Where to tell the operator to put the key (used by several messages). */
export const KEY_HINT = 'start with --encryption_key or NATS_STREAMING_ENCRYPTION_KEY';

/** Why a record could not be opened; the store turns it into a message naming the row. */
export type PayloadErrorReason = 'no-key' | 'auth' | 'unknown-cipher' | 'unknown-version' | 'truncated';

export class PayloadCipherError extends StanServerError {
  override readonly kind = 'store' as const;
  constructor(
    readonly reason: PayloadErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'PayloadCipherError';
  }
}

/** Thrown for bad configuration (unknown cipher, --encrypt without a key). */
export class EncryptionConfigError extends StanServerError {
  override readonly kind = 'configuration' as const;
  constructor(message: string) {
    super(message);
    this.name = 'EncryptionConfigError';
  }
}

/**
 * `--encryption_cipher` value → cipher. "" is the reference's auto selection: AES where the
 * CPU has AES instructions, else ChaCha. Node gives no portable view of CPU features, and
 * the platforms it runs the server on (x86-64, arm64 with ARMv8 crypto extensions) have them,
 * so auto is AES-256-GCM. Case-insensitive, like the reference.
 */
export function parseCipherName(value: string): CipherName {
  const v = value.trim().toUpperCase();
  if (v === '' || v === 'AES') return 'AES';
  if (v === 'CHACHA' || v === 'CHACHAPOLY' || v === 'CHACHA20' || v === 'CHACHA20-POLY1305') return 'CHACHA';
  throw new EncryptionConfigError(`unsupported encryption cipher "${value}": use AES or CHACHA (or leave --encryption_cipher empty for AES)`);
}

/** True when `record` is in the encrypted record format (whatever its cipher or version). */
export function isEncryptedRecord(record: Uint8Array): boolean {
  return record.length > 0 && record[0] === RECORD_MAGIC;
}

/** The cipher named by an encrypted record's header, or undefined when unknown/plaintext. */
export function recordCipher(record: Uint8Array): CipherName | undefined {
  if (!isEncryptedRecord(record) || record.length < HEADER_LEN) return undefined;
  return CIPHER_BY_ID.get(record[2]);
}

let derivedCache: { key: string; keys: Record<CipherName, crypto.KeyObject> } | undefined;

/** scrypt master key, then one HKDF-SHA256 subkey per cipher (see top). Cached per key. */
function deriveKeys(userKey: string): Record<CipherName, crypto.KeyObject> {
  if (derivedCache?.key === userKey) return derivedCache.keys;
  const master = crypto.scryptSync(Buffer.from(userKey, 'utf8'), SCRYPT_SALT, KEY_LEN, SCRYPT_PARAMS);
  // KeyObjects: the key material is handed to OpenSSL once, not converted on every record.
  const sub = (name: CipherName): crypto.KeyObject =>
    crypto.createSecretKey(Buffer.from(crypto.hkdfSync('sha256', master, Buffer.alloc(0), `stan payload key v1 ${CIPHER_LABEL[name]}`, KEY_LEN)));
  const keys = { AES: sub('AES'), CHACHA: sub('CHACHA') };
  master.fill(0);
  derivedCache = { key: userKey, keys };
  return keys;
}

/**
 * Seals and opens payload records with keys derived from one user key. `writeCipher`
 * undefined makes a read-only cipher: it opens encrypted records but `seal` refuses (the
 * store then writes plaintext; used when a key is known but encryption is off).
 */
export class PayloadCipher {
  private readonly keys: Record<CipherName, crypto.KeyObject>;

  constructor(
    userKey: string,
    readonly writeCipher: CipherName | undefined,
  ) {
    if (userKey === '') throw new EncryptionConfigError(`the encryption key is empty: ${KEY_HINT}`);
    this.keys = deriveKeys(userKey);
  }

  /** True when new records are encrypted. */
  get encrypting(): boolean {
    return this.writeCipher !== undefined;
  }

  /**
   * Encrypts `plain` into a record. `context` (e.g. the row's position) is authenticated but
   * not stored: `open` must be given the same bytes.
   */
  seal(plain: Uint8Array, context: Uint8Array = EMPTY): Buffer {
    const name = this.writeCipher;
    if (name === undefined) throw new Error('PayloadCipher.seal on a read-only cipher');
    const out = Buffer.allocUnsafe(RECORD_OVERHEAD + plain.length);
    sealInto(name, this.keys[name], plain, context, out);
    return out;
  }

  /**
   * The cipher and key new records are sealed with, for the sealing worker thread
   * (src/store/seal-pool.ts): a KeyObject is cloned into the worker by postMessage, so the
   * key is derived once, here. Undefined for a read-only cipher.
   */
  sealingKey(): { name: CipherName; key: crypto.KeyObject } | undefined {
    const name = this.writeCipher;
    return name === undefined ? undefined : { name, key: this.keys[name] };
  }

  /**
   * The plaintext of a record: a plaintext (legacy) record is returned as it is, an
   * encrypted one decrypted with the cipher its header names. Throws PayloadCipherError.
   */
  open(record: Uint8Array, context: Uint8Array = EMPTY): Uint8Array {
    if (!isEncryptedRecord(record)) return record;
    const name = checkHeader(record);
    const nonce = record.subarray(HEADER_LEN, HEADER_LEN + NONCE_LEN);
    const body = record.subarray(HEADER_LEN + NONCE_LEN, record.length - TAG_LEN);
    const tag = record.subarray(record.length - TAG_LEN);
    const d = createDecipher(name, this.keys[name], nonce);
    d.setAAD(additionalData(record.subarray(0, HEADER_LEN), context), { plaintextLength: body.length });
    d.setAuthTag(tag);
    const out = Buffer.allocUnsafe(body.length);
    let pos = d.update(body).copy(out, 0);
    try {
      pos += d.final().copy(out, pos);
    } catch {
      // Node reports "Unsupported state or unable to authenticate data" for both.
      throw new PayloadCipherError('auth', `authentication failed (${CIPHER_LABEL[name]}): wrong encryption key, or the record was altered`);
    }
    return pos === out.length ? out : out.subarray(0, pos);
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Seals `plain` into `out`, which must be exactly RECORD_OVERHEAD + plain.length bytes: the
 * one implementation of the record format's writing side, used by `PayloadCipher.seal` on
 * the main thread and by the sealing worker thread (src/store/seal-worker.ts) alike.
 */
export function sealInto(name: CipherName, key: crypto.KeyObject, plain: Uint8Array, context: Uint8Array, out: Buffer): void {
  if (out.length !== RECORD_OVERHEAD + plain.length) throw new Error(`sealInto: output is ${out.length} bytes, ${RECORD_OVERHEAD + plain.length} expected`);
  out[0] = RECORD_MAGIC;
  out[1] = RECORD_VERSION;
  out[2] = CIPHER_IDS[name];
  const nonce = out.subarray(HEADER_LEN, HEADER_LEN + NONCE_LEN);
  nextNonce(nonce);
  const c = createCipher(name, key, nonce);
  c.setAAD(additionalData(out.subarray(0, HEADER_LEN), context), { plaintextLength: plain.length });
  let pos = HEADER_LEN + NONCE_LEN;
  pos += c.update(plain).copy(out, pos);
  pos += c.final().copy(out, pos);
  c.getAuthTag().copy(out, pos);
}

/**
 * Random nonces are taken from a pool filled by the CSPRNG 4 KiB at a time: one OpenSSL call
 * per 341 records instead of one per record (a per-call cost of about 2 µs on the publish
 * path). Every pool byte is used once; a 96-bit random nonce per record keeps the GCM
 * collision bound far beyond any store's lifetime at one key (2^32 records at < 2^-32).
 */
const NONCE_POOL_SIZE = 4096;
let noncePool = Buffer.alloc(0);
let noncePos = 0;

function nextNonce(into: Buffer): void {
  if (noncePos + NONCE_LEN > noncePool.length) {
    noncePool = crypto.randomBytes(NONCE_POOL_SIZE);
    noncePos = 0;
  }
  noncePool.copy(into, 0, noncePos, noncePos + NONCE_LEN);
  // Wipe what was handed out so the pool never yields the same bytes twice.
  noncePool.fill(0, noncePos, noncePos + NONCE_LEN);
  noncePos += NONCE_LEN;
}

function additionalData(header: Uint8Array, context: Uint8Array): Buffer {
  return Buffer.concat([header, context]);
}

/** Validates an encrypted record's header and size; returns its cipher. */
function checkHeader(record: Uint8Array): CipherName {
  if (record.length < RECORD_OVERHEAD) {
    throw new PayloadCipherError('truncated', `encrypted record too short (${record.length} bytes, at least ${RECORD_OVERHEAD} expected)`);
  }
  if (record[1] !== RECORD_VERSION) {
    throw new PayloadCipherError(
      'unknown-version',
      `encrypted record format version ${record[1]} is not supported (this server reads version ${RECORD_VERSION}): it was written by a newer release`,
    );
  }
  const name = CIPHER_BY_ID.get(record[2]);
  if (name === undefined) throw new PayloadCipherError('unknown-cipher', `encrypted record names an unknown cipher (id ${record[2]})`);
  return name;
}

/**
 * Opens a record when the store may have no cipher at all (encryption never configured):
 * plaintext passes, an encrypted record is refused with the "start with a key" error.
 */
export function openRecord(cipher: PayloadCipher | undefined, record: Uint8Array, context?: Uint8Array): Uint8Array {
  if (cipher !== undefined) return cipher.open(record, context);
  if (!isEncryptedRecord(record)) return record;
  throw new PayloadCipherError('no-key', `messages are encrypted: ${KEY_HINT}`);
}

/** The context the SQL store authenticates with each row: channel ID and sequence (2 × uint64 BE). */
export function rowContext(channelID: number, seq: number): Buffer {
  const b = Buffer.allocUnsafe(16);
  // Two 32-bit halves each: no BigInt on the publish path (both stay below 2^53).
  b.writeUInt32BE(Math.floor(channelID / 0x1_0000_0000), 0);
  b.writeUInt32BE(channelID >>> 0, 4);
  b.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 8);
  b.writeUInt32BE(seq >>> 0, 12);
  return b;
}

/**
 * A startup check found stored messages this configuration cannot read (encrypted with
 * another key, or encrypted while no key is configured). The message says what to do.
 */
export class EncryptionKeyError extends StanServerError {
  override readonly kind = 'store' as const;
  constructor(message: string) {
    super(message);
    this.name = 'EncryptionKeyError';
  }
}

/**
 * The operator-facing message for a record of channel `channel` that could not be opened
 * (startup check and read path use the same words).
 */
export function describeOpenFailure(err: unknown, channel: string, seq: number): string {
  if (err instanceof PayloadCipherError) {
    switch (err.reason) {
      case 'no-key':
        return `messages are encrypted: ${KEY_HINT} (channel "${channel}" holds encrypted messages and no key is configured)`;
      case 'auth':
        return (
          `wrong encryption key: cannot decrypt stored messages of channel "${channel}" (message ${seq}: ${err.message}); ` +
          'start with the key the messages were encrypted with (NATS_STREAMING_ENCRYPTION_KEY or --encryption_key): ' +
          'the key cannot change while messages encrypted with it are stored'
        );
      default:
        return `cannot read message ${seq} of channel "${channel}": ${err.message}`;
    }
  }
  return `cannot read message ${seq} of channel "${channel}": ${errorText(err)}`;
}

export interface EncryptionSettings {
  encrypt: boolean;
  encryptionCipher: string;
  encryptionKey: string;
}

export interface CipherSetup {
  /** undefined: no key known, records are written and expected in plaintext. */
  cipher: PayloadCipher | undefined;
  /** Lines for the log (what is encrypted, with which cipher). */
  notices: string[];
  warnings: string[];
}

/**
 * The cipher for the configured options (after config loading, where the environment
 * variable already replaced the key). Throws EncryptionConfigError for --encrypt without a
 * key or an unknown cipher. A key without --encrypt (possible only through the environment
 * variable, or `encrypt: false` after `encryption_key` in a file) gives a read-only cipher:
 * existing encrypted messages stay readable, new ones are stored in plaintext.
 */
export function cipherFromOptions(o: EncryptionSettings, persistent: boolean): CipherSetup {
  const notices: string[] = [];
  const warnings: string[] = [];
  const name = o.encrypt || o.encryptionCipher !== '' ? parseCipherName(o.encryptionCipher) : undefined;
  if (o.encrypt && o.encryptionKey === '') {
    throw new EncryptionConfigError(`encryption is enabled (--encrypt) but no key is given: set NATS_STREAMING_ENCRYPTION_KEY (recommended) or --encryption_key`);
  }
  if (!persistent) {
    if (o.encrypt) notices.push('Encryption at rest is enabled, but the MEMORY store writes nothing to disk: there is nothing to encrypt');
    return { cipher: undefined, notices, warnings };
  }
  if (o.encryptionKey === '') return { cipher: undefined, notices, warnings };
  if (o.encrypt && name !== undefined) {
    notices.push(`Message payloads are encrypted at rest with ${CIPHER_LABEL[name]}`);
    return { cipher: new PayloadCipher(o.encryptionKey, name), notices, warnings };
  }
  warnings.push(
    'an encryption key is set (NATS_STREAMING_ENCRYPTION_KEY) but encryption is not enabled: new messages are stored ' +
      'UNENCRYPTED; the key is only used to read messages stored encrypted. Add --encrypt to encrypt new messages',
  );
  return { cipher: new PayloadCipher(o.encryptionKey, undefined), notices, warnings };
}
