/**
 * How the target records which source filled it and how far the import got.
 *
 *  - The *marker* (Store.readImportMarker/writeImportMarker, table stan_import) holds the
 *    source's fingerprint and 'running' | 'complete'. It is written 'running' before the
 *    first batch and 'complete' after the last.
 *  - *How far*: the target's own recovered state. The import writes everything but the
 *    messages (server info, clients, channels, subscriptions and their pending sets) in one
 *    first transaction, then each channel's messages in sequence order. So a recovered target
 *    either is empty (start again) or has all of that plus, per channel, a prefix of its
 *    messages up to its last sequence: resuming appends the rest. Nothing else is needed,
 *    and the result is the same rows and state as an uninterrupted run.
 *
 * The fingerprint identifies the reference deployment: its stored server info (the cluster ID
 * and request subjects, which hold a unique ID per deployment) and its channel names. It
 * leaves out what changes with the clock (MaxAge) so that a resume recognises its source.
 */
import { createHash } from 'node:crypto';
import type { ImportMarker, RecoveredState } from '../store/contract';
import type { ReferenceSnapshot } from './reference';
import { ImportError } from './errors';

export function sourceFingerprint(s: ReferenceSnapshot): string {
  const h = createHash('sha256');
  const srv = s.server;
  for (const v of [s.source === 'file' ? 'file' : 'sql', srv.clusterId, srv.discoverSubject, srv.publishSubject, srv.subscribeSubject, srv.unsubscribeSubject, srv.closeSubject, srv.ackSubject]) {
    h.update(v).update('\0');
  }
  for (const name of s.channels.map((c) => c.name).sort()) h.update(name).update('\0');
  return h.digest('hex');
}

export type ResumePlan =
  /** Nothing written yet: start from the beginning. */
  | { kind: 'fresh' }
  /** The first transaction is there: append the missing messages. */
  | { kind: 'continue' }
  /** A previous run of the same source finished. */
  | { kind: 'complete' };

/** A one-line description of what a non-empty target holds, for the refusal. */
export function describeContent(rec: RecoveredState): string {
  const names = rec.channels.map((c) => c.channel.name);
  const shown = names.slice(0, 5).join(', ') + (names.length > 5 ? `, … (${names.length - 5} more)` : '');
  const msgs = rec.channels.reduce((n, c) => n + c.channel.msgs.msgCount, 0);
  return `cluster "${rec.info.ClusterID}", ${rec.channels.length} channel(s)${names.length > 0 ? ` (${shown})` : ''}, ${msgs} message(s), ${rec.clients.length} client(s)`;
}

/**
 * Decides from the marker and the recovered target whether the import may run, and how.
 * @throws ImportError naming what is there and what to do.
 */
export function planImport(marker: ImportMarker | undefined, recovered: RecoveredState | null, fingerprint: string, resume: boolean): ResumePlan {
  if (marker === undefined) {
    if (recovered === null) return { kind: 'fresh' };
    throw new ImportError(`the target store is not empty: it holds ${describeContent(recovered)}; import into an empty store (a new -dir, or an empty database)`);
  }
  if (marker.fingerprint !== fingerprint) {
    throw new ImportError(
      `the target store was filled by an import of another reference store (${marker.source}); ` +
        'import into an empty store, or give the source that filled it',
    );
  }
  if (!resume) {
    throw new ImportError(
      marker.status === 'complete'
        ? `the target store already holds a complete import of this source (${marker.source}): nothing to do`
        : `the target store holds an interrupted import of this source (${marker.source}): rerun with --resume to continue it`,
    );
  }
  if (marker.status === 'complete') return { kind: 'complete' };
  return recovered === null ? { kind: 'fresh' } : { kind: 'continue' };
}
