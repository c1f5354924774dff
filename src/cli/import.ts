/**
 * `nats-streaming-server import …`: the process side of src/import/command.ts (standard
 * streams, environment, exit status).
 */
import { runImport } from '../import/command';

export async function runImportCommand(args: readonly string[]): Promise<number> {
  return runImport(args, {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    env: process.env,
    isTTY: process.stderr.isTTY === true,
  });
}
