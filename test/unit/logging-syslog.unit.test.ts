/**
 * Syslog formatting and option parsing (src/logging/syslog.ts): the -r URL rules, the tag,
 * the severity mapping and the record layout of the reference's Go log/syslog writer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatRemoteRecord,
  formatRFC3339,
  messageLines,
  parseRemoteSyslogURL,
  priority,
  SyslogURLError,
  syslogTag,
} from '../../src/logging/syslog';
import { SYSLOG_SEVERITY } from '../../src/logging/factory';
import { loadOptions } from '../../src/config/load';
import { ConfigError } from '../../src/config/errors';

test('parseRemoteSyslogURL: schemes, default port, bare host', () => {
  assert.deepEqual(parseRemoteSyslogURL('udp://localhost:514'), { kind: 'udp', host: 'localhost', port: 514 });
  assert.deepEqual(parseRemoteSyslogURL('tcp://10.1.2.3:1514'), { kind: 'tcp', host: '10.1.2.3', port: 1514 });
  assert.deepEqual(parseRemoteSyslogURL('TCP://logs.example.com'), { kind: 'tcp', host: 'logs.example.com', port: 514 });
  assert.deepEqual(parseRemoteSyslogURL('udp://[::1]:5514'), { kind: 'udp', host: '::1', port: 5514 });
  assert.deepEqual(parseRemoteSyslogURL('udp://127.0.0.1:514/'), { kind: 'udp', host: '127.0.0.1', port: 514 });
  assert.deepEqual(parseRemoteSyslogURL('unix:///var/run/syslog'), { kind: 'unix', path: '/var/run/syslog' });
  assert.deepEqual(parseRemoteSyslogURL('unix:///tmp/a%20b.sock'), { kind: 'unix', path: '/tmp/a b.sock' });
  // No scheme: UDP (an extension; the reference needs the scheme).
  assert.deepEqual(parseRemoteSyslogURL('loghost'), { kind: 'udp', host: 'loghost', port: 514 });
  assert.deepEqual(parseRemoteSyslogURL('loghost:10514'), { kind: 'udp', host: 'loghost', port: 10514 });
});

test('parseRemoteSyslogURL: clear errors', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty address/],
    ['ftp://host:21', /unsupported network type "ftp"/],
    ['https://host', /unsupported network type "https"/],
    ['udp://host:99999', /not a valid URL|invalid port/],
    ['udp://host:0', /invalid port "0"/],
    ['tcp://:514', /not a valid URL|missing host/],
    ['udp://host:514/path', /unexpected path "\/path"/],
    ['udp://user@host:514', /unexpected user/],
    ['unix://', /missing socket path|not a valid URL/],
    ['unix://host/path', /no host/],
  ];
  for (const [raw, re] of cases) {
    assert.throws(
      () => parseRemoteSyslogURL(raw),
      (e: unknown) => e instanceof SyslogURLError && re.test(e.message) && e.message.includes(`--remote_syslog ${JSON.stringify(raw)}`),
      raw,
    );
  }
});

test('loadOptions turns a bad -r into a ConfigError; a good one passes', () => {
  assert.throws(() => loadOptions(['-r', 'ftp://x'], {}), (e: unknown) => e instanceof ConfigError && /unsupported network type/.test(e.message));
  const r = loadOptions(['-r', 'tcp://127.0.0.1:1514', '-s', '--syslog_name', 'svc'], {});
  assert.equal(r.kind, 'run');
  if (r.kind !== 'run') return;
  assert.equal(r.options.nats.remoteSyslog, 'tcp://127.0.0.1:1514');
  assert.equal(r.options.nats.syslog, true);
  assert.equal(r.options.streaming.syslogName, 'svc');
});

test('syslogTag: executable base name, --syslog_name wins, header-breaking characters replaced', () => {
  assert.equal(syslogTag('', '/opt/x/bin/nats-streaming-server.js'), 'nats-streaming-server');
  assert.equal(syslogTag('', '/usr/local/bin/nats-streaming-server'), 'nats-streaming-server');
  assert.equal(syslogTag('', '/usr/local/bin/stan'), 'stan');
  assert.equal(syslogTag('', ''), 'nats-streaming-server');
  assert.equal(syslogTag('nss1', '/usr/bin/nats-streaming-server'), 'nss1');
  assert.equal(syslogTag('my svc:[1]', 'x'), 'my_svc__1_');
});

test('severities follow the reference SysLogger; facility daemon', () => {
  assert.deepEqual(SYSLOG_SEVERITY, { INF: 5, WRN: 4, ERR: 3, FTL: 2, DBG: 7, TRC: 5 });
  assert.equal(priority(SYSLOG_SEVERITY.INF), 29);
  assert.equal(priority(SYSLOG_SEVERITY.WRN), 28);
  assert.equal(priority(SYSLOG_SEVERITY.ERR), 27);
  assert.equal(priority(SYSLOG_SEVERITY.FTL), 26);
  assert.equal(priority(SYSLOG_SEVERITY.DBG), 31);
  assert.equal(priority(5, 16), 133);
});

test('formatRFC3339 is Go time.RFC3339 in local time', () => {
  const d = new Date(2024, 0, 2, 3, 4, 5, 678);
  const s = formatRFC3339(d);
  assert.match(s, /^2024-01-02T03:04:05(Z|[+-]\d\d:\d\d)$/);
  const off = -d.getTimezoneOffset();
  if (off === 0) assert.ok(s.endsWith('Z'));
  else {
    const m = /([+-])(\d\d):(\d\d)$/.exec(s);
    assert.ok(m);
    assert.equal((m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])), off);
  }
});

test('formatRemoteRecord: <PRI>timestamp hostname tag[pid]: message + newline', () => {
  const d = new Date(2024, 5, 7, 8, 9, 10);
  assert.equal(
    formatRemoteRecord(29, d, 'host1', 'nats-streaming-server', 4242, 'STREAM: Streaming Server is ready'),
    `<29>${formatRFC3339(d)} host1 nats-streaming-server[4242]: STREAM: Streaming Server is ready\n`,
  );
});

test('messageLines: one record per line, trailing newlines dropped, CRLF handled', () => {
  assert.deepEqual(messageLines('one'), ['one']);
  assert.deepEqual(messageLines('a\nb\r\nc\n\n'), ['a', 'b', 'c']);
  assert.deepEqual(messageLines(''), ['']);
});
