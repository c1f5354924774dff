/** Small utilities of the database test helpers (db.ts): names, quoting, commands, binaries. */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

// ---------------------------------------------------------------------------------------------
// small utilities

export function randomSecret(): string {
  return randomBytes(12).toString('hex');
}

let nameCounter = 0;
/** A unique lower-case identifier for databases and roles: `<prefix>_<pid>_<n>_<random>`. */
export function uniqueName(prefix = 't'): string {
  nameCounter++;
  return `${prefix}_${process.pid}_${nameCounter}_${randomBytes(3).toString('hex')}`;
}

const IDENT_RE = /^[a-z_][a-z0-9_]{0,62}$/;
export function checkIdent(kind: string, name: string): void {
  if (!IDENT_RE.test(name)) throw new Error(`invalid ${kind} name ${JSON.stringify(name)}: use [a-z_][a-z0-9_]*`);
}

export function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

export function pgString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export interface OsUser {
  uid: number;
  gid: number;
}

export function lookupUser(name: string): OsUser | undefined {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (line === undefined) return undefined;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function tail(file: string, lines: number): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Runs a command to completion (asynchronously, so several instances can start at once). */
export function run(cmd: string, args: string[], opts: { user?: OsUser; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      {
        cwd: opts.cwd,
        env: opts.env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' },
        uid: opts.user?.uid,
        gid: opts.user?.gid,
        encoding: 'utf8',
        timeout: 60000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function findExecutable(names: string[], dirs: string[]): string | undefined {
  for (const d of dirs) {
    for (const n of names) {
      const p = path.join(d, n);
      try {
        fs.accessSync(p, fs.constants.X_OK);
        return p;
      } catch {
        // next
      }
    }
  }
  return undefined;
}

export function pathDirs(): string[] {
  return (process.env.PATH ?? '').split(':').filter((d) => d !== '');
}
