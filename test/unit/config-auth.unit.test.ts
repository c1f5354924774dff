/** The `authorization { }` block and `no_auth_user` of the NATS configuration file (spec nats-core §5.1). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadOptions } from '../../src/config/load';
import type { ServerOptions } from '../../src/config/options';
import { checkSupported } from '../../src/stan/unsupported';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conf-auth-'));
let n = 0;

function load(conf: string, extraArgs: string[] = []): { options: ServerOptions; warnings: string[] } {
  const file = path.join(dir, `c${++n}.conf`);
  fs.writeFileSync(file, conf);
  const r = loadOptions(['-c', file, ...extraArgs], {});
  assert.equal(r.kind, 'run');
  if (r.kind !== 'run') throw new Error('unreachable');
  return { options: r.options, warnings: r.warnings };
}

function loadError(conf: string): string {
  try {
    load(conf);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a configuration error');
}

test('users with every permission form, default_permissions, timeout, no_auth_user', () => {
  const { options, warnings } = load(`
    authorization {
      default_permissions: { publish: "public.>", subscribe: ["public.>", "_INBOX.>"] }
      users: [
        { user: alice, password: "$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG",
          permissions: {
            pub: { allow: ["foo.>", "bar"], deny: "foo.secret" }
            sub: { allow: ["foo.*", "jobs workers"], deny: [] }
            allow_responses: { max: 3, expires: "30s" }
          } }
        { username: bob, pass: pw2 }
        { user: svc, password: pw3, permissions: { subscribe: { allow: [] }, allow_responses: true } }
      ]
      timeout: 0.5
    }
    no_auth_user: bob
  `);
  const o = options.nats;
  assert.deepEqual(warnings, []);
  assert.equal(o.authTimeout, 500);
  assert.equal(o.noAuthUser, 'bob');
  assert.deepEqual(o.defaultPermissions, {
    publish: { allow: ['public.>'], deny: [] },
    subscribe: { allow: ['public.>', '_INBOX.>'], deny: [] },
  });
  assert.deepEqual(o.users, [
    {
      user: 'alice',
      password: '$2a$11$W2zko751KUvVy59mUTWmpOdWjpEm5qhcCZRd05GjI/sSOT.xtiHyG',
      permissions: {
        publish: { allow: ['foo.>', 'bar'], deny: ['foo.secret'] },
        subscribe: { allow: ['foo.*', 'jobs workers'], deny: [] },
        allowResponses: { max: 3, expires: 30_000 },
      },
    },
    { user: 'bob', password: 'pw2' },
    {
      user: 'svc',
      password: 'pw3',
      // An empty allow list is no allow list; allow_responses alone allows only responses.
      permissions: { subscribe: { allow: null, deny: [] }, allowResponses: { max: 1, expires: 120_000 }, publish: { allow: [], deny: [] } },
    },
  ]);
  assert.ok(options.explicit.has('auth'));
  assert.doesNotThrow(() => checkSupported(options), 'the authorization block is supported');
});

test('single user and token blocks; CLI --user/--pass/--auth are supported', () => {
  const u = load('authorization { user: natsuser, password: natspass, timeout: "3s" }').options.nats;
  assert.equal(u.username, 'natsuser');
  assert.equal(u.password, 'natspass');
  assert.equal(u.authTimeout, 3000);
  const t = load('authorization { token: "s3cr3t" }').options.nats;
  assert.equal(t.authorization, 's3cr3t');
  const cli = loadOptions(['--user', 'u', '--pass', 'p', '--auth', 'tok'], {});
  assert.equal(cli.kind, 'run');
  if (cli.kind === 'run') assert.doesNotThrow(() => checkSupported(cli.options));
});

test("combinations nats-server refuses are refused, with the block's position", () => {
  assert.match(loadError('authorization {\n  user: a, password: b\n  users: [ {user: x, password: y} ]\n}'), /:2:3: Can not have a single user\/pass and a users array$/);
  assert.match(loadError('authorization { token: t, users: [ {user: x, password: y} ] }'), /:1:17: Can not have a token and a users array$/);
  assert.match(loadError('authorization { user: a, password: b, token: t }'), /Cannot have a user\/pass and token$/);
});

test('bad permissions and users are errors naming the place', () => {
  assert.match(loadError('authorization { users: [ {user: a, password: b, permissions: { publish: { allow: ["ok", "foo..bar"] } } } ] }'), /:1:\d+: subject "foo\.\.bar" is not a valid subject$/);
  assert.match(loadError('authorization { users: [ {user: a, password: b, permissions: { publish: "a b" } } ] }'), /publish permission "a b" must be a single subject/);
  assert.match(loadError('authorization { users: [ {user: a, password: b, permissions: { publush: "a" } } ] }'), /unknown field "publush" parsing permissions/);
  assert.match(loadError('authorization { users: [ {user: a, password: b, permissions: { publish: { allows: "a" } } } ] }'), /unknown field "allows" parsing publish permissions/);
  assert.match(loadError('authorization { users: [ {password: b} ] }'), /authorization users\[0\] has no "user"/);
  assert.match(loadError('authorization { users: [ "alice" ] }'), /authorization users\[0\] is expected to be a map/);
  assert.match(loadError('authorization { users: [ {nkey: UABC} ] }'), /nkey users are not supported/);
  assert.match(loadError('authorization { timeout: 0 }'), /authorization timeout must be a positive number/);
});

test('unknown keys inside the block are warnings', () => {
  const { warnings } = load('authorization { user: a, password: b, frobnicate: 1 }');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /unknown authorization key "frobnicate" \(ignored\)/);
});
