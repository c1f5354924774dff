/**
 * What a server run tells the launcher that loaded it (src/launch/launcher.ts) about its
 * progress, so that the V8 code cache is written with the code a start-up runs and nothing
 * else: V8 deserializes a cache whole before the first line runs, and a cache cannot be made
 * smaller by a later run that loaded it (it serializes everything it loaded).
 *
 * The launcher (loaded from dist/src) and the bundled server hold separate copies of this
 * module, so they meet through a global registered under Symbol.for. Without a launcher (the
 * compiled modules run directly, tests) runHints() is undefined and nothing is told.
 */
export interface RunHints {
  /** The server serves: its start-up code has run. */
  serving(): void;
  /** A graceful stop begins: what runs from here (the last snapshot, closing) is not start-up code. */
  stopping(): void;
  /**
   * Work that start-ups never wait for begins now (the SQL store's Knex, made in the
   * background after the first commit): a serving run writes its cache before it.
   */
  beyondStartup(): void;
  /**
   * This run did start-up work the next runs of its kind will not do (the schema created or
   * migrated through Knex and Umzug): what it compiled is not what a start-up needs.
   */
  oneOff(why: string): void;
}

const KEY = Symbol.for('nats-streaming-server.run-hints');

type HintHolder = { [KEY]?: RunHints };

/** Installs (or, with undefined, removes) the receiver of the hints: the launcher does. */
export function setRunHints(hints: RunHints | undefined): void {
  (globalThis as HintHolder)[KEY] = hints;
}

/** The launcher's receiver, if the server was started by it. */
export function runHints(): RunHints | undefined {
  return (globalThis as HintHolder)[KEY];
}
