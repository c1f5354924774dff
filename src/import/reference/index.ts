/**
 * Reading side of `nats-streaming-server import` (issue 10): this folder owns everything needed
 * to read the persisted state of a reference nats-streaming-server (v0.23–v0.25) and to present
 * it as the reference would restore it at its next start (shared/docs/reference-stores.md).
 * It never writes to our store and never modifies the reference's files or tables.
 *
 *   model.ts              the intermediate model (plain readonly records) and read options
 *   file-reader.ts        FILE store directory → model (server.dat, clients.dat, channels)
 *   file-framing.ts       version header, record headers, index entries; read-only windowed file
 *   file-slices.ts        msgs.N.dat/.idx slices: trusted index or scan, as the reference decides
 *   file-channel.ts       a channel's logical range after limits; its messages streamed
 *   file-batches.ts       the import's fast path: a channel's messages as column batches
 *   msg-batch.ts          column batches of rows (the MsgProto our store keeps), built without objects
 *   msg-fields.ts         fast MsgProto field-offset decoder (falls back to records.ts)
 *   file-subs-replay.ts   subs.dat records and their replay
 *   file-clients.ts       clients.dat records and their replay
 *   sql-reader.ts         reference SQL tables (PostgreSQL, MySQL/MariaDB) via a caller's Knex
 *   sql-values.ts         driver value normalisation for the SQL reader
 *   subscription-rules.ts the §2.7 interpretation of recovered subscriptions (both stores)
 *   payload-opener.ts     decryption of message payloads with wrong-key detection
 *   reference-crypto.ts   the reference's key derivation and envelope (§3)
 *   records.ts            the stored protobuf records: decode, and gogo-identical encode
 *   protobuf-wire.ts      minimal exact (64-bit) protobuf wire reader/writer
 *   crc32.ts              CRC-32 with a configurable polynomial (file_crc_poly)
 *   errors.ts             damage/key errors naming file+offset or table+row; skipped records
 *   writer.ts             a reference-format FILE store writer (tests, benchmark data)
 */
export * from './model';
export * from './errors';
export { openReferenceFileStore, type FileStoreReadOptions } from './file-reader';
export { openReferenceSqlStore, type SqlStoreReadOptions } from './sql-reader';
export { ReferenceFileStoreWriter, ReferenceChannelWriter, type WriterMessage, type ReferenceWriterOptions, type ChannelWriterOptions } from './writer';
export type { ClientsRecord } from './file-clients';
export type { SubsRecord } from './file-subs-replay';
export type { StoredClientInfo, StoredServerInfo, StoredSubState } from './records';
export { IEEE_POLY } from './crc32';
export type { ReferenceCipher } from './reference-crypto';
