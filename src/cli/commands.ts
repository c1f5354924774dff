/**
 * Words on the command line that are not flags. The reference ignores them silently, so a
 * mistyped command (`nats-streaming-server imprt …`) started a server on the default port:
 * here any argument left after the flags must be a known command, or the start is refused.
 * `migrate` is dispatched before the server's flags are read (cli/migrate.ts), `import` when it
 * is the first argument (cli/import.ts: its flags are its own); `help` and `version` by
 * loadOptions, like -h and -v.
 */

const HINT = 'commands: migrate, import, help, version; run "nats-streaming-server -h" for the options';

/**
 * The error for the arguments left after the flags, or undefined when there are none (a
 * run of the server). `migrate`, `help` and `version` never get here.
 */
export function unexpectedArguments(positionals: readonly string[]): string | undefined {
  if (positionals.length === 0) return undefined;
  const first = positionals[0] as string;
  if (first === 'import') {
    // Its flags (--from_dir, the target's store flags) are parsed by the import command itself.
    return 'the "import" command must come first: nats-streaming-server import --from_dir DIR (or --from_sql_driver D --from_sql_source S) <target store flags>; nothing was started';
  }
  // An argument that looks like a flag comes after "--" (or after a lone "-"): say so.
  const what = first.startsWith('-') ? 'argument after the flags' : 'command or argument';
  return `unknown ${what} "${first}" (${HINT})`;
}
