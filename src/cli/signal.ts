/**
 * `-sl/--signal <signal>[=<pid>]`: send a signal to a running nats-streaming-server (spec §9,
 * reference README "Process Signaling").
 *
 * Mapping (the reference delegates to nats-server's `ProcessSignal`, server/signal.go):
 *   stop   → SIGKILL  kills the process at once (no graceful shutdown, PID file left behind)
 *   quit   → SIGINT   graceful shutdown (exit code 0)
 *   reopen → SIGUSR1  reopen the log file (log rotation)
 *   reload → SIGHUP   configuration reload (embedded NATS authorization and -D/-V; see server/reload.ts)
 *
 * Without `=<pid>` the target is looked up like the reference's `pgrep nats-streaming-server`:
 * it must be exactly one running process. `=<pid>` may also name a PID file (`-P`); that is
 * resolved by `loadOptions` (`parseSignal`) before we get here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StanServerError } from '../errors';

export const PROCESS_NAME = 'nats-streaming-server';

export const SIGNAL_MAP: Readonly<Record<string, NodeJS.Signals>> = {
  stop: 'SIGKILL',
  quit: 'SIGINT',
  reopen: 'SIGUSR1',
  reload: 'SIGHUP',
};

export class SignalError extends StanServerError {
  override readonly kind = 'configuration' as const;
}

/** argv[0] or argv[1] (the script run by node) is our executable, and it is not itself a `-sl` call. */
function isServerCmdline(argv: string[]): boolean {
  const isOurs = argv.slice(0, 2).some((a) => {
    const base = path.basename(a);
    return base === PROCESS_NAME || base === `${PROCESS_NAME}.js`;
  });
  if (!isOurs) return false;
  return !argv.some((a) => /^--?(sl|signal)(=|$)/.test(a));
}

/** Pids of running nats-streaming-server processes other than this one (Linux /proc). */
export function findServerPids(procDir = '/proc', self = process.pid): number[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(procDir);
  } catch (err) {
    throw new SignalError(`unable to list processes (${procDir}): ${(err as Error).message}`);
  }
  const pids: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === self) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(path.join(procDir, e, 'cmdline'), 'utf8');
    } catch {
      continue; // exited meanwhile, or not readable
    }
    if (!cmdline.includes(PROCESS_NAME)) continue;
    const argv = cmdline.split('\0').filter((a) => a !== '');
    if (isServerCmdline(argv)) pids.push(pid);
  }
  return pids.sort((a, b) => a - b);
}

/** Resolves the target and sends the signal; throws SignalError with a user-facing message. */
export function sendSignal(signal: string, pid?: number): number {
  const sig = SIGNAL_MAP[signal];
  if (sig === undefined) throw new SignalError(`unknown signal ${JSON.stringify(signal)}`);
  let target = pid;
  if (target === undefined) {
    const pids = findServerPids();
    if (pids.length === 0) throw new SignalError(`no ${PROCESS_NAME} process running`);
    if (pids.length > 1) {
      throw new SignalError(
        `multiple ${PROCESS_NAME} processes running: ${pids.join(', ')}; specify one with -sl ${signal}=<pid>`,
      );
    }
    target = pids[0] as number;
  }
  if (!Number.isSafeInteger(target) || target <= 0) throw new SignalError(`invalid pid: ${String(target)}`);
  try {
    process.kill(target, sig);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') throw new SignalError(`unable to send signal ${signal} to pid ${target}: no such process`);
    if (code === 'EPERM') throw new SignalError(`unable to send signal ${signal} to pid ${target}: operation not permitted`);
    throw new SignalError(`unable to send signal ${signal} to pid ${target}: ${(err as Error).message}`);
  }
  return target;
}
