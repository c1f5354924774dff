/**
 * Golden tests of the option loader: every `test/golden/config/<case>.args` (one argument
 * per line; `$GOLDEN` = that directory) is loaded with the environment of `<case>.env`
 * (KEY=VALUE lines, optional) and compared with `<case>.expected.json`.
 *
 * Options are serialized as the flattened differences from the defaults (`"streaming.
 * clusterID": "x"`), `explicit` as a sorted array; the `defaults` case serializes all options.
 * `UPDATE_GOLDEN=1` rewrites the expected files (review them by hand).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadOptions, LoadResult } from '../../src/config/load';
import { ConfigError } from '../../src/config/errors';
import { defaultServerOptions, ServerOptions } from '../../src/config/options';

const GOLDEN = path.resolve(__dirname, '../golden/config');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

function toJson(v: unknown): Json {
  if (v === undefined) return null;
  return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (x instanceof Set ? [...x].sort() : x))) as Json;
}

function isPlainObject(v: Json | undefined): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Flattened differences of `actual` from `base`. */
function diff(base: Json | undefined, actual: Json | undefined, prefix: string, out: { [k: string]: Json }): void {
  if (isPlainObject(base) && isPlainObject(actual) && Object.keys(base).length > 0) {
    const keys = new Set([...Object.keys(base), ...Object.keys(actual)]);
    for (const k of [...keys].sort()) diff(base[k], actual[k], prefix === '' ? k : `${prefix}.${k}`, out);
    return;
  }
  if (JSON.stringify(base) !== JSON.stringify(actual)) out[prefix] = actual === undefined ? null : actual;
}

function serializeOptions(o: ServerOptions, full: boolean): Json {
  const actual = toJson({ streaming: o.streaming, nats: o.nats });
  if (full) return actual;
  const d = defaultServerOptions();
  const out: { [k: string]: Json } = {};
  diff(toJson({ streaming: d.streaming, nats: d.nats }), actual, '', out);
  return out;
}

function normalize(s: string): string {
  return s.split(GOLDEN).join('$GOLDEN');
}

function run(name: string): Json {
  const argsText = fs.readFileSync(path.join(GOLDEN, `${name}.args`), 'utf8');
  const args = argsText === '' ? [] : argsText.replace(/\n$/, '').split('\n').map((a) => a.split('$GOLDEN').join(GOLDEN));
  const env: NodeJS.ProcessEnv = {};
  const envFile = path.join(GOLDEN, `${name}.env`);
  if (fs.existsSync(envFile)) {
    for (const line of fs.readFileSync(envFile, 'utf8').split('\n')) {
      const eq = line.indexOf('=');
      if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }
  let r: LoadResult;
  try {
    r = loadOptions(args, env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { error: normalize(e.message) };
  }
  switch (r.kind) {
    case 'run':
      return {
        kind: 'run',
        options: serializeOptions(r.options, name === 'defaults'),
        explicit: [...r.options.explicit].sort(),
        positionals: r.positionals,
        warnings: r.warnings.map(normalize),
      };
    case 'help':
      return { kind: 'help', text: r.text.split('\n') };
    case 'version':
      return { kind: 'version' };
    case 'signal':
      return toJson(r);
  }
}

const cases = fs
  .readdirSync(GOLDEN)
  .filter((f) => f.endsWith('.args'))
  .map((f) => f.slice(0, -'.args'.length))
  .sort();

test('golden config cases exist', () => {
  assert.ok(cases.length >= 40, `only ${cases.length} cases`);
});

for (const name of cases) {
  test(`golden config: ${name}`, () => {
    const actual = run(name);
    const expectedFile = path.join(GOLDEN, `${name}.expected.json`);
    if (UPDATE) {
      fs.writeFileSync(expectedFile, JSON.stringify(actual, null, 2) + '\n');
      return;
    }
    assert.ok(fs.existsSync(expectedFile), `missing ${expectedFile} (run with UPDATE_GOLDEN=1 and review)`);
    const expected = JSON.parse(fs.readFileSync(expectedFile, 'utf8')) as Json;
    assert.deepEqual(actual, expected);
  });
}
