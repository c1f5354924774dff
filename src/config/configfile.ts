/**
 * Applies a parsed configuration file ({@link ConfDocument}) to {@link ServerOptions}.
 *
 * Streaming keys are case-insensitive and accept every alias of the reference. If the file
 * has a `streaming { }` block, only that block is used for streaming keys. NATS keys are
 * read from the top level. Type errors are {@link ConfigError}s carrying `file:line:col`;
 * keys unknown to both the streaming server and nats-server are reported as warnings.
 *
 * Each block is applied by its own module in ./sections; this file only routes the
 * document to them and reports top-level keys nobody knows.
 */
import { ConfigError } from './errors';
import { ConfDocument, isConfMap } from './natsconf';
import type { ServerOptions } from './options';
import type { ApplyContext } from './sections/keyspec';
import { NATS_IGNORED_KEYS, NATS_USED_KEYS, STREAMING_KEYS } from './sections/known-keys';
import { applyNats } from './sections/nats';
import { ConfReader, describeValue } from './sections/reader';
import { applyStreaming } from './sections/streaming';

// Kept under its historical name for callers and tests of the config module; the rule
// itself lives in src/subject.
export { isValidChannelName as isChannelNameValid } from '../subject';

export interface ApplyConfigTargets {
  /** Apply streaming keys (the file was given with `-sc`, or it is the only file). */
  streaming: boolean;
  /** Apply embedded NATS server keys (the file was given with `-c`, or it is the only file). */
  nats: boolean;
}

/** The `streaming { }` block, if the file has one (keys are case-insensitive). */
function streamingBlock(root: ConfReader): ConfReader | undefined {
  let streamingKey: string | undefined;
  for (const k of root.keys()) if (k.toLowerCase() === 'streaming') streamingKey = k;
  if (streamingKey === undefined) return undefined;
  const v = root.get(streamingKey);
  if (!isConfMap(v)) {
    throw new ConfigError(`${root.where(streamingKey)}expected streaming section to be a map/struct, got ${describeValue(v)}`);
  }
  return root.sub(streamingKey);
}

/** Warns once about top-level keys unknown to both modules (or misplaced streaming keys). */
function warnTopLevel(root: ConfReader, hasBlock: boolean, targets: ApplyConfigTargets, warnings: string[]): void {
  for (const k of root.keys()) {
    const name = k.toLowerCase();
    if (name === 'streaming') continue;
    if (NATS_USED_KEYS.has(name) || NATS_IGNORED_KEYS.has(name) || root.isUsedVariable(k)) continue;
    if (STREAMING_KEYS.has(name)) {
      if (hasBlock && targets.streaming) {
        warnings.push(
          `${root.where(k)}streaming configuration key ${JSON.stringify(k)} is ignored: a "streaming" block exists, streaming options must be inside it`,
        );
      }
      continue;
    }
    warnings.push(`${root.where(k)}unknown configuration key ${JSON.stringify(k)} (ignored)`);
  }
}

/**
 * Applies `doc` to `opts` (mutated). Returns nothing; appends warnings (unknown keys…)
 * to `warnings`. Throws {@link ConfigError}.
 */
export function applyConfigDocument(
  doc: ConfDocument,
  opts: ServerOptions,
  targets: ApplyConfigTargets,
  warnings: string[],
): void {
  const root = new ConfReader(doc, doc.root, undefined);
  const ctx: ApplyContext = { opts, warnings };
  const block = streamingBlock(root);
  if (targets.streaming) applyStreaming(ctx, block ?? root, block !== undefined);
  if (targets.nats) applyNats(ctx, root);
  warnTopLevel(root, block !== undefined, targets, warnings);
}
