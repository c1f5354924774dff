/**
 * Builds the process loggers from the logging options (-l, -T, -D/-V, -SD/-SV, --log_json,
 * -s/-r syslog).
 *
 * Default output is the reference's text line, which operators' scripts grep:
 *   [1234] 2018/10/17 14:11:24.641146 [INF] STREAM: Streaming Server is ready
 * (without -T=false's timestamp: `[1234] [INF] STREAM: ...`). `--log_json` switches to pino's
 * JSON lines. Both write through pino's SonicBoom destination: buffered, non-blocking, and
 * reopenable for log rotation (SIGUSR1).
 *
 * Output precedence, as the reference's configureLogger: a log file (-l) first, else the
 * remote syslog (-r), else the local syslog (-s), else stderr. Syslog records carry the bare
 * message (with the "STREAM: " prefix) at the mapped severity; see ./syslog.ts.
 */
import type * as Pino from 'pino';
import type { Logger } from './logger';
import { logDestination } from './destination';
import { createSyslogSink, SEVERITY, type SyslogChoice, type SyslogSink, type Reporter } from './syslog';

export interface LogSettings {
  file: string;
  logtime: boolean;
  json: boolean;
  natsDebug: boolean;
  natsTrace: boolean;
  stanDebug: boolean;
  stanTrace: boolean;
  /** Syslog output instead of stderr (ignored when `file` is set). */
  syslog?: SyslogChoice;
  /** Syslog tag (the executable name or --syslog_name). */
  syslogTag?: string;
  /** Where the syslog sink reports its own trouble (default: stderr). */
  syslogReport?: Reporter;
}

export interface LogOutput {
  /** Where the lines go. */
  readonly kind: 'stderr' | 'file' | 'syslog';
  /** Logger of the embedded NATS server (no prefix; -D/-V). */
  nats: Logger;
  /** Logger of the streaming server ("STREAM: " prefix; -SD/-SV). */
  stan: Logger;
  /** Reopens the log file (SIGUSR1); a no-op on stderr. */
  reopen(): void;
  /** Flushes buffered lines synchronously (before exit). */
  flushSync(): void;
  /**
   * Flushes everything, syslog included (the `logger` child, the remote connection), bounded
   * in time; call before process.exit. Later lines are dropped.
   */
  close(): Promise<void>;
}

type Level = 'INF' | 'WRN' | 'ERR' | 'FTL' | 'DBG' | 'TRC';
const PINO_LEVEL: Record<Level, string> = { INF: 'info', WRN: 'warn', ERR: 'error', FTL: 'fatal', DBG: 'debug', TRC: 'trace' };
/** The reference's SysLogger: Noticef→Notice, Warnf→Warning, Errorf→Err, Fatalf→Crit, Debugf→Debug, Tracef→Notice. */
export const SYSLOG_SEVERITY: Record<Level, number> = {
  INF: SEVERITY.notice,
  WRN: SEVERITY.warning,
  ERR: SEVERITY.err,
  FTL: SEVERITY.crit,
  DBG: SEVERITY.debug,
  TRC: SEVERITY.notice,
};

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

/** `2018/10/17 14:11:24.641146` in local time, as Go's log package with microseconds. */
export function formatLogTime(d: Date, micros: number): string {
  return (
    `${d.getFullYear()}/${pad(d.getMonth() + 1, 2)}/${pad(d.getDate(), 2)} ` +
    `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.${pad(micros, 6)}`
  );
}

export function createLogOutput(s: LogSettings): LogOutput {
  if (s.file === '' && s.syslog) return createSyslogOutput(s, s.syslog);
  const dest = logDestination({ dest: s.file || 2, mkdir: true });
  const pid = process.pid;
  let write: (level: Level, prefix: string, msg: string) => void;
  if (s.json) {
    // pino only for JSON lines: loading it costs every start-up (./destination.ts).
    const { pino } = require('pino') as typeof Pino;
    const p = pino({ level: 'trace', base: { pid }, timestamp: pino.stdTimeFunctions.isoTime }, dest);
    write = (level, prefix, msg) => {
      const fn = PINO_LEVEL[level] as 'info';
      p[fn]({ component: prefix ? 'stan' : 'nats' }, msg);
    };
  } else {
    write = (level, prefix, msg) => {
      let line: string;
      if (s.logtime) {
        const ms = performance.timeOrigin + performance.now();
        const d = new Date(Math.floor(ms));
        const micros = Math.floor((ms % 1000) * 1000);
        line = `[${pid}] ${formatLogTime(d, micros)} [${level}] ${prefix}${msg}\n`;
      } else {
        line = `[${pid}] [${level}] ${prefix}${msg}\n`;
      }
      dest.write(line);
    };
  }
  return {
    kind: s.file ? 'file' : 'stderr',
    ...makeLoggers(s, write),
    reopen: () => {
      if (s.file) dest.reopen();
    },
    flushSync: () => {
      try {
        dest.flushSync();
      } catch {
        // Nothing buffered, or the destination is not ready yet: nothing to flush.
      }
    },
    close: () => {
      try {
        dest.flushSync();
      } catch {
        // As above.
      }
      return Promise.resolve();
    },
  };
}

/** -s / -r: every line goes to syslog; -T and --log_json do not apply (syslog stamps records). */
function createSyslogOutput(s: LogSettings, choice: SyslogChoice): LogOutput {
  const sink: SyslogSink = createSyslogSink(choice, { tag: s.syslogTag ?? 'nats-streaming-server', report: s.syslogReport });
  return {
    kind: 'syslog',
    ...makeLoggers(s, (level, prefix, msg) => sink.write(SYSLOG_SEVERITY[level], prefix + msg)),
    // SIGUSR1: nothing to reopen.
    reopen: () => {},
    flushSync: () => {},
    close: () => sink.close(),
  };
}

function makeLoggers(s: LogSettings, write: (level: Level, prefix: string, msg: string) => void): { nats: Logger; stan: Logger } {
  const make = (prefix: string, debug: boolean, trace: boolean): Logger => {
    const write2 = (level: Level) => (m: string) => write(level, prefix, m);
    const off = (): void => {};
    const logger = {
      notice: write2('INF'),
      warn: write2('WRN'),
      error: write2('ERR'),
      fatal: write2('FTL'),
      debug: debug ? write2('DBG') : off,
      trace: trace ? write2('TRC') : off,
      isDebug: debug,
      isTrace: trace,
      // SIGHUP reload of -D/-V: swap the methods, so disabled levels stay free.
      setLevels(d: boolean, t: boolean): void {
        logger.debug = d ? write2('DBG') : off;
        logger.trace = t ? write2('TRC') : off;
        logger.isDebug = d;
        logger.isTrace = t;
      },
    };
    return logger;
  };
  return {
    nats: make('', s.natsDebug, s.natsTrace),
    stan: make('STREAM: ', s.stanDebug, s.stanTrace),
  };
}
