/**
 * docker-compose.yml cannot be run in CI (no Docker engine), so check it statically: every
 * service built on the `x-stan` anchor runs `node bin/nats-streaming-server.js ARGS`, and ARGS
 * must be accepted by the same checks the executable does before it starts (flag parsing,
 * "not supported yet" guard, FT option validation).
 *
 * No YAML library is installed: the reader below understands exactly the subset the file
 * uses (top-level `services:`, two-space indented service keys, `command:` as a JSON-style
 * flow list or a block list whose items may be `>-` folded scalars) and throws on anything
 * else, so a change of style fails the test instead of silently skipping a service.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadOptions } from '../../src/config/load';
import { checkSupported } from '../../src/stan/unsupported';
import { validateFtOptions } from '../../src/ft/setup';

const COMPOSE = path.resolve(__dirname, '..', '..', 'docker-compose.yml');

interface Service {
  name: string;
  lines: string[]; // the service's body lines (indent >= 4), comments and blanks removed
}

const indentOf = (l: string): number => l.length - l.trimStart().length;

function readServices(text: string): Service[] {
  const lines = text.split('\n').map((l) => l.replace(/\s+$/, ''));
  const start = lines.indexOf('services:');
  if (start < 0) throw new Error('no top-level "services:"');
  const services: Service[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l === '' || l.trimStart().startsWith('#')) continue;
    const ind = indentOf(l);
    if (ind === 0) break; // next top-level key
    if (ind === 2) {
      const m = /^ {2}([A-Za-z0-9_.-]+):$/.exec(l);
      if (!m) throw new Error(`unexpected service line ${i + 1}: ${l}`);
      services.push({ name: m[1] as string, lines: [] });
    } else {
      const cur = services[services.length - 1];
      if (!cur) throw new Error(`line ${i + 1} outside a service: ${l}`);
      cur.lines.push(l);
    }
  }
  return services;
}

/** The service's `command:` as a list of strings, or undefined when it has none. */
function readCommand(svc: Service): string[] | undefined {
  const idx = svc.lines.findIndex((l) => /^ {4}command:/.test(l));
  if (idx < 0) return undefined;
  const head = (svc.lines[idx] as string).slice('    command:'.length).trim();
  if (head.startsWith('[')) return JSON.parse(head) as string[];
  if (head !== '') throw new Error(`${svc.name}: unsupported command style: ${head}`);
  const items: string[] = [];
  let i = idx + 1;
  while (i < svc.lines.length && indentOf(svc.lines[i] as string) > 4) {
    const l = svc.lines[i] as string;
    const m = /^ {6}- (.*)$/.exec(l);
    if (!m) throw new Error(`${svc.name}: unexpected command line: ${l}`);
    const v = (m[1] as string).trim();
    i++;
    if (v === '>-' || v === '>') {
      // Folded scalar: the more-indented lines that follow, joined with spaces.
      const parts: string[] = [];
      while (i < svc.lines.length && indentOf(svc.lines[i] as string) > 6) parts.push((svc.lines[i++] as string).trim());
      items.push(parts.join(' '));
    } else if (/^[|>]/.test(v) || v.startsWith("'")) {
      throw new Error(`${svc.name}: unsupported scalar style: ${v}`);
    } else {
      items.push(v.startsWith('"') ? (JSON.parse(v) as string) : v);
    }
  }
  return items;
}

/** Splits shell words: whitespace-separated, double quotes group (no escapes used in the file). */
function shellWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (const ch of s) {
    if (ch === '"') {
      quoted = !quoted;
      inWord = true;
    } else if (!quoted && /\s/.test(ch)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (quoted) throw new Error(`unterminated quote in: ${s}`);
  if (inWord) words.push(cur);
  return words;
}

const LAUNCH = 'node bin/nats-streaming-server.js';

/** The server's arguments from an `sh -c` script (`... && exec node bin/nats-streaming-server.js ARGS`). */
function serverArgs(script: string): string[] {
  const at = script.indexOf(LAUNCH);
  if (at < 0) throw new Error(`no "${LAUNCH}" in: ${script}`);
  const rest = script.slice(at + LAUNCH.length);
  if (/&&|;|\|/.test(rest.replace(/"[^"]*"/g, ''))) throw new Error(`something runs after the server in: ${script}`);
  return shellWords(rest);
}

/** What the executable checks before it starts anything; throws when the invocation is invalid. */
function validateInvocation(args: string[]): void {
  const loaded = loadOptions(args, {});
  if (loaded.kind !== 'run') throw new Error(`not a server run (${loaded.kind}): ${args.join(' ')}`);
  if (loaded.positionals.length > 0) throw new Error(`stray arguments: ${loaded.positionals.join(' ')}`);
  checkSupported(loaded.options);
  validateFtOptions(loaded.options.streaming);
}

const services = readServices(fs.readFileSync(COMPOSE, 'utf8'));
const byName = new Map(services.map((s) => [s.name, s]));
const usesStanAnchor = (s: Service): boolean => s.lines.some((l) => /^ {4}<<: \*stan$/.test(l));

test('docker-compose.yml: the expected services exist', () => {
  for (const name of ['stan', 'stan-pg', 'stan-mysql', 'stan-ft-a', 'stan-ft-b', 'postgres', 'mysql', 'nats']) {
    assert.ok(byName.has(name), `service ${name} missing; have ${[...byName.keys()].join(', ')}`);
  }
  assert.deepEqual(
    services.filter(usesStanAnchor).map((s) => s.name).sort(),
    ['stan', 'stan-ft-a', 'stan-ft-b', 'stan-mysql', 'stan-pg'],
  );
});

for (const svc of services.filter(usesStanAnchor)) {
  test(`docker-compose.yml: service ${svc.name} runs a valid server invocation`, () => {
    const cmd = readCommand(svc);
    assert.ok(cmd, `${svc.name} has no command`);
    assert.equal(cmd.length, 3, JSON.stringify(cmd));
    assert.deepEqual(cmd.slice(0, 2), ['sh', '-c']);
    const script = cmd[2] as string;
    assert.match(script, /npm run build && exec node bin\/nats-streaming-server\.js /);
    const args = serverArgs(script);
    assert.ok(args.length > 0);
    assert.ok(args.includes('-cid'), `${svc.name}: cluster id set`);
    validateInvocation(args);
  });
}

test('docker-compose.yml: per-service expectations', () => {
  const args = (n: string): string[] => serverArgs((readCommand(byName.get(n) as Service) as string[])[2] as string);
  const opts = (n: string) => {
    const r = loadOptions(args(n), {});
    assert.equal(r.kind, 'run');
    return r.kind === 'run' ? r.options : (undefined as never);
  };
  assert.equal(opts('stan').streaming.storeType, 'MEMORY');
  for (const n of ['stan-pg', 'stan-mysql', 'stan-ft-a', 'stan-ft-b']) assert.equal(opts(n).streaming.storeType, 'SQL', n);
  assert.match(args('stan-pg').join(' '), /user=stan password=stan dbname=stan host=postgres port=5432 sslmode=disable/);
  assert.ok(args('stan-pg').includes('user=stan password=stan dbname=stan host=postgres port=5432 sslmode=disable'), 'quoted DSN is one word');
  assert.ok(args('stan-mysql').includes('stan:stan@tcp(mysql:3306)/stan'));
  // Both FT members are in the same group and share the external NATS.
  assert.equal(opts('stan-ft-a').streaming.ftGroupName, 'ft-pg');
  assert.equal(opts('stan-ft-b').streaming.ftGroupName, 'ft-pg');
  assert.equal(opts('stan-ft-a').streaming.natsServerURL, opts('stan-ft-b').streaming.natsServerURL);
});

test('the checks reject bad invocations (so the test above can fail)', () => {
  assert.throws(() => validateInvocation(serverArgs(`${LAUNCH} -p 4222 --sql_drvier postgres`)));
  assert.throws(() => validateInvocation(serverArgs(`${LAUNCH} -cid c --ft_group g`))); // FT + MEMORY
  assert.throws(() => validateInvocation(serverArgs(`${LAUNCH} -cid c -sl quit`))); // not a run
  assert.throws(() => validateInvocation(serverArgs(`${LAUNCH} -cid c stray`)));
  assert.throws(() => serverArgs(`${LAUNCH} -cid "c`));
  assert.deepEqual(shellWords('-a "b c" d'), ['-a', 'b c', 'd']);
  assert.throws(() => readServices('x: 1\n'));
});
