/** `file`/`file_options { }` and `sql`/`sql_options { }` (spec stan §5.4, §5.5). */
import { asBool as bool, asNumber as num, asString as str } from '../values';
import { checkedCommitDepth, commitDepthError } from '../sql-commit-depth';
import { applyKeys, handled, key, mark, warnUnknown, type ApplyContext } from './keyspec';
import { describeValue, type ConfReader } from './reader';

const FILE_KEYS = [
  key(['compact', 'compact_enabled'], 'bool', 'file_compact_enabled', (o, v) => { o.streaming.file.compactEnabled = bool(v); }),
  key(['compact_frag', 'compact_fragmentation'], 'int', 'file_compact_frag', (o, v) => { o.streaming.file.compactFragmentation = num(v); }),
  key(['compact_interval'], 'int', 'file_compact_interval', (o, v) => { o.streaming.file.compactInterval = num(v); }),
  key(['compact_min_size'], 'size', 'file_compact_min_size', (o, v) => { o.streaming.file.compactMinSize = num(v); }),
  key(['buffer_size'], 'size', 'file_buffer_size', (o, v) => { o.streaming.file.bufferSize = num(v); }),
  key(['crc', 'do_crc'], 'bool', 'file_crc', (o, v) => { o.streaming.file.doCRC = bool(v); }),
  key(['crc_poly'], 'int', 'file_crc_poly', (o, v) => { o.streaming.file.crcPolynomial = num(v); }),
  key(['sync', 'do_sync', 'sync_on_flush'], 'bool', 'file_sync', (o, v) => { o.streaming.file.doSync = bool(v); }),
  key(['slice_max_msgs', 'slice_max_count', 'slice_msgs', 'slice_count'], 'int', 'file_slice_max_msgs', (o, v) => {
    o.streaming.file.sliceMaxMsgs = num(v);
  }),
  key(['slice_max_bytes', 'slice_max_size', 'slice_bytes', 'slice_size'], 'size', 'file_slice_max_bytes', (o, v) => {
    o.streaming.file.sliceMaxBytes = num(v);
  }),
  key(['slice_max_age', 'slice_age', 'slice_max_time', 'slice_time_limit'], 'duration', 'file_slice_max_age', (o, v) => {
    o.streaming.file.sliceMaxAge = num(v);
  }),
  key(['slice_archive_script', 'slice_archive', 'slice_script'], 'string', 'file_slice_archive_script', (o, v) => {
    o.streaming.file.sliceArchiveScript = str(v);
  }),
  key(['file_descriptors_limit', 'fds_limit'], 'int', 'file_fds_limit', (o, v) => { o.streaming.file.fileDescriptorsLimit = num(v); }),
  key(['parallel_recovery'], 'int', 'file_parallel_recovery', (o, v) => { o.streaming.file.parallelRecovery = num(v); }),
  key(['file_read_buffer_size', 'read_buffer_size'], 'size', 'file_read_buffer_size', (o, v) => { o.streaming.file.readBufferSize = num(v); }),
  key(['file_auto_sync', 'auto_sync'], 'duration', 'file_auto_sync', (o, v) => { o.streaming.file.autoSync = num(v); }),
];

const SQL_KEYS = [
  key(['driver'], 'string', 'sql_driver', (o, v) => { o.streaming.sql.driver = str(v); }),
  key(['source'], 'string', 'sql_source', (o, v) => { o.streaming.sql.source = str(v); }),
  key(['no_caching'], 'bool', 'sql_no_caching', (o, v) => { o.streaming.sql.noCaching = bool(v); }),
  key(['max_open_conns', 'max_conns'], 'int', 'sql_max_open_conns', (o, v) => { o.streaming.sql.maxOpenConns = num(v); }),
  key(['bulk_insert_limit'], 'int', 'sql_bulk_insert_limit', (o, v) => { o.streaming.sql.bulkInsertLimit = num(v); }),
  key(['auto_migrate'], 'bool', 'sql_auto_migrate', (o, v) => { o.streaming.sql.autoMigrate = bool(v); }),
  // Our extension (`--sql_commit_depth`): its range is checked here, with the key's position.
  handled(['commit_depth'], (ctx, sec, k) => {
    const v = sec.get(k);
    const what = `parameter ${JSON.stringify(k)}`;
    if (typeof v !== 'number') throw commitDepthError(describeValue(v), what, sec.where(k));
    ctx.opts.streaming.sql.commitDepth = checkedCommitDepth(v, what, sec.where(k));
    mark(ctx, 'sql_commit_depth');
  }),
];

export function applyFileOptions(ctx: ApplyContext, sec: ConfReader): void {
  applyKeys(ctx, sec, FILE_KEYS, (k) => warnUnknown(ctx, sec, k, 'file options '));
}

export function applySqlOptions(ctx: ApplyContext, sec: ConfReader): void {
  applyKeys(ctx, sec, SQL_KEYS, (k) => warnUnknown(ctx, sec, k, 'SQL options '));
}
