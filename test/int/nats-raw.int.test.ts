/** Exact wire bytes over a raw socket (spec §1, §2). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NatsServerOptions } from '../../src/config/options';
import { captureLogger, delay, rawConnected, RawClient, startServer } from '../helpers/nats-helpers';

test('INFO shape on accept', async () => {
  const s = await startServer({ maxPayload: 2048 });
  try {
    const c = await RawClient.connect(s.port);
    const data = await c.waitFor('\r\n');
    assert.match(data, /^INFO \{.*\} \r\n$/);
    const info = JSON.parse(data.slice(5, -3)) as Record<string, unknown>;
    assert.equal(typeof info.server_id, 'string');
    assert.match(info.server_id as string, /^N[A-Z2-7]{55}$/);
    assert.equal(info.server_name, info.server_id);
    assert.equal(info.version, '2.10.0');
    assert.equal(info.proto, 1);
    assert.equal(typeof info.go, 'string');
    assert.equal(info.host, '127.0.0.1');
    assert.equal(info.port, s.port);
    assert.equal(info.headers, true);
    assert.equal(info.max_payload, 2048);
    assert.equal(typeof info.client_id, 'number');
    assert.equal(info.client_ip, '127.0.0.1');
    assert.equal(info.auth_required, undefined);
    c.close();
  } finally {
    await s.close();
  }
});

test('CONNECT {} is verbose: +OK after CONNECT, SUB, PUB, UNSUB but not PING', async () => {
  const s = await startServer();
  try {
    const c = await RawClient.connect(s.port);
    await c.waitFor('\r\n');
    c.send('CONNECT {}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nUNSUB 1\r\nUNSUB 99\r\nPING\r\n');
    await c.waitFor('PONG\r\n');
    assert.equal(c.afterInfo, '+OK\r\n+OK\r\n+OK\r\nMSG foo 1 2\r\nhi\r\n+OK\r\n+OK\r\nPONG\r\n');
    c.close();
  } finally {
    await s.close();
  }
});

test('PING before CONNECT gets PONG', async () => {
  const s = await startServer();
  try {
    const c = await RawClient.connect(s.port);
    c.send('PING\r\n');
    await c.waitFor('PONG\r\n');
    assert.equal(c.afterInfo, 'PONG\r\n');
    c.close();
  } finally {
    await s.close();
  }
});

async function expectErrClose(send: string, errLine: string | null, overrides = {}): Promise<string> {
  const s = await startServer(overrides);
  try {
    const c = await RawClient.connect(s.port);
    await c.waitFor('\r\n');
    c.send(send);
    await c.waitClosed();
    if (errLine === null) assert.ok(!c.afterInfo.includes('-ERR'), `unexpected -ERR in ${JSON.stringify(c.afterInfo)}`);
    else assert.ok(c.afterInfo.endsWith(errLine), `${JSON.stringify(c.afterInfo)} should end with ${JSON.stringify(errLine)}`);
    return c.afterInfo;
  } finally {
    await s.close();
  }
}

test("-ERR 'Unknown Protocol Operation' and close", async () => {
  await expectErrClose('CONNECT {"verbose":false}\r\nFOO\r\n', "-ERR 'Unknown Protocol Operation'\r\n");
  await expectErrClose('UNSUB\r\n', "-ERR 'Unknown Protocol Operation'\r\n");
  await expectErrClose('CONNECT {"verbose":false}\r\nPUB foo 2\r\nabc\r\n', "-ERR 'Unknown Protocol Operation'\r\n");
});

test("-ERR 'Maximum Payload Violation' and close", async () => {
  const out = await expectErrClose('CONNECT {"verbose":false}\r\nPUB foo 2000\r\n', "-ERR 'Maximum Payload Violation'\r\n", {
    maxPayload: 1024,
  });
  assert.equal(out, "-ERR 'Maximum Payload Violation'\r\n");
});

test("-ERR 'maximum control line exceeded' and close", async () => {
  await expectErrClose(`CONNECT {"verbose":false}\r\nSUB ${'a'.repeat(5000)} 1\r\n`, "-ERR 'maximum control line exceeded'\r\n");
});

test('parse errors close without -ERR', async () => {
  await expectErrClose('CONNECT {"verbose":false}\r\nPUB foo abc\r\n', null);
  await expectErrClose('CONNECT {"verbose":false}\r\nSUB foo\r\n', null);
  await expectErrClose('CONNECT {bad\r\n', null);
  await expectErrClose('CONNECT {"verbose":false}\r\nHPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n', null);
});

test("-ERR 'invalid client protocol' and close", async () => {
  await expectErrClose('CONNECT {"protocol":2}\r\n', "-ERR 'invalid client protocol'\r\n");
});

test("-ERR 'no responders requires headers support' and close", async () => {
  await expectErrClose('CONNECT {"no_responders":true}\r\n', "-ERR 'no responders requires headers support'\r\n");
});

test("-ERR 'Invalid Subject' keeps the connection open", async () => {
  const s = await startServer();
  try {
    const c = await rawConnected(s.port);
    c.send('SUB foo.>.bar 1\r\nSUB foo..bar 2\r\n');
    await c.sync();
    assert.equal(c.afterInfo, "PONG\r\n-ERR 'Invalid Subject'\r\n-ERR 'Invalid Subject'\r\nPONG\r\n");
    assert.ok(!c.ended);
    c.close();
  } finally {
    await s.close();
  }
});

test("pedantic: -ERR 'Invalid Publish Subject', not closed, message still delivered", async () => {
  const s = await startServer();
  try {
    const c = await rawConnected(s.port, { verbose: true, pedantic: true });
    c.send('SUB foo.* 1\r\nPUB foo.* 1\r\nx\r\n');
    await c.waitFor('MSG');
    await c.sync();
    assert.equal(c.afterInfo, "+OK\r\nPONG\r\n+OK\r\n-ERR 'Invalid Publish Subject'\r\n+OK\r\nMSG foo.* 1 1\r\nx\r\nPONG\r\n");
    assert.ok(!c.ended);
    c.close();
  } finally {
    await s.close();
  }
});

test('non-pedantic wildcard publish is delivered literally', async () => {
  const s = await startServer();
  try {
    const c = await rawConnected(s.port);
    c.send('SUB foo.* 1\r\nSUB > 2\r\nSUB foo.bar 3\r\nPUB foo.* 1\r\nx\r\n');
    await c.sync();
    assert.ok(c.afterInfo.includes('MSG foo.* 1 1\r\nx\r\n'));
    assert.ok(c.afterInfo.includes('MSG foo.* 2 1\r\nx\r\n'));
    assert.ok(!c.afterInfo.includes('MSG foo.* 3'));
    c.close();
  } finally {
    await s.close();
  }
});

test('sid reuse keeps the old subscription', async () => {
  const s = await startServer();
  try {
    const c = await rawConnected(s.port);
    c.send('SUB foo 1\r\nSUB bar 1\r\nPUB bar 1\r\nb\r\nPUB foo 1\r\nf\r\n');
    await c.sync();
    assert.equal(c.afterInfo, 'PONG\r\nMSG foo 1 1\r\nf\r\nPONG\r\n');
    c.close();
  } finally {
    await s.close();
  }
});

test('one MSG per matching subscription, reply subject, wildcard sids', async () => {
  const s = await startServer();
  try {
    const c = await rawConnected(s.port);
    c.send('SUB a.* 1\r\nSUB a.> 2\r\nPUB a.b.c r.1 3\r\nabc\r\nPUB a.b 0\r\n\r\n');
    await c.sync();
    // Order among one connection's matching subscriptions is not specified.
    const out = c.afterInfo;
    assert.ok(out.startsWith('PONG\r\nMSG a.b.c 2 r.1 3\r\nabc\r\n'), out);
    assert.ok(out.includes('MSG a.b 1 0\r\n\r\n'), out);
    assert.ok(out.includes('MSG a.b 2 0\r\n\r\n'), out);
    assert.equal(out.length, 'PONG\r\nMSG a.b.c 2 r.1 3\r\nabc\r\nMSG a.b 1 0\r\n\r\nMSG a.b 2 0\r\n\r\nPONG\r\n'.length);
    c.close();
  } finally {
    await s.close();
  }
});

test('UNSUB with max auto-unsubscribes', async () => {
  const s = await startServer();
  try {
    const c = await rawConnected(s.port);
    c.send('SUB foo 1\r\nUNSUB 1 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\n');
    await c.sync();
    assert.equal(c.afterInfo, 'PONG\r\nMSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\nPONG\r\n');
    // max <= delivered removes at once.
    c.send('SUB bar 2\r\nPUB bar 1\r\nx\r\nUNSUB 2 1\r\nPUB bar 1\r\ny\r\n');
    await c.sync();
    assert.ok(c.afterInfo.endsWith('MSG bar 2 1\r\nx\r\nPONG\r\n'));
    assert.equal(s.stats().subscriptions, 0);
    c.close();
  } finally {
    await s.close();
  }
});

test('echo:false suppresses own messages', async () => {
  const s = await startServer();
  try {
    const a = await rawConnected(s.port, { verbose: false, pedantic: false, echo: false });
    const b = await rawConnected(s.port);
    a.send('SUB foo 1\r\n');
    b.send('SUB foo 1\r\n');
    await a.sync();
    await b.sync();
    a.send('PUB foo 1\r\nx\r\n');
    await a.sync();
    await b.waitFor('MSG foo 1 1\r\nx\r\n');
    assert.ok(!a.afterInfo.includes('MSG'));
    a.close();
    b.close();
  } finally {
    await s.close();
  }
});

test('HPUB → HMSG for header clients, MSG with headers stripped for others', async () => {
  const s = await startServer();
  try {
    const h = await rawConnected(s.port, { verbose: false, pedantic: false, headers: true });
    const p = await rawConnected(s.port);
    h.send('SUB foo 1\r\n');
    p.send('SUB foo 7\r\n');
    await h.sync();
    await p.sync();
    h.send('HPUB foo r 21 24\r\nNATS/1.0\r\nA: bcde\r\n\r\nxyz\r\n');
    await h.waitFor('xyz');
    await p.waitFor('xyz');
    assert.ok(h.afterInfo.includes('HMSG foo 1 r 21 24\r\nNATS/1.0\r\nA: bcde\r\n\r\nxyz\r\n'));
    assert.ok(p.afterInfo.includes('MSG foo 7 r 3\r\nxyz\r\n'));
    h.close();
    p.close();
  } finally {
    await s.close();
  }
});

test('no-responders 503 in the 2.9.10 form', async () => {
  const s = await startServer();
  try {
    const c = await rawConnected(s.port, { verbose: false, pedantic: false, headers: true, no_responders: true });
    c.send('SUB _INBOX.x.* 5\r\nPUB nobody _INBOX.x.1 2\r\nhi\r\n');
    await c.sync();
    assert.equal(c.afterInfo, 'PONG\r\nHMSG _INBOX.x.1 5 16 16\r\nNATS/1.0 503\r\n\r\n\r\nPONG\r\n');
    // Not sent when someone received it.
    c.send('SUB svc 6\r\nPUB svc _INBOX.x.2 0\r\n\r\n');
    await c.sync();
    assert.ok(!c.afterInfo.includes('_INBOX.x.2 5 16'));
    c.close();
  } finally {
    await s.close();
  }
});

test('queue groups: exactly one member per message', async () => {
  const s = await startServer();
  try {
    const members = await Promise.all([1, 2, 3].map(() => rawConnected(s.port)));
    for (const m of members) m.send('SUB job workers 1\r\n');
    for (const m of members) await m.sync();
    const pub = await rawConnected(s.port);
    let burst = '';
    for (let i = 0; i < 300; i++) burst += 'PUB job 1\r\nx\r\n';
    pub.send(burst);
    await pub.sync();
    await delay(50);
    for (const m of members) await m.sync();
    const counts = members.map((m) => (m.afterInfo.match(/MSG job 1 1/g) ?? []).length);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      300,
    );
    for (const n of counts) assert.ok(n > 30, `uneven distribution ${counts.join(',')}`);
    for (const m of [...members, pub]) m.close();
  } finally {
    await s.close();
  }
});

test('maximum subscriptions: -ERR, not closed', async () => {
  const s = await startServer({ maxSubscriptions: 2 });
  try {
    const c = await rawConnected(s.port);
    c.send('SUB a 1\r\nSUB b 2\r\nSUB c 3\r\n');
    await c.sync();
    assert.equal(c.afterInfo, "PONG\r\n-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n");
    c.close();
  } finally {
    await s.close();
  }
});

test('maximum connections: INFO then -ERR and close', async () => {
  const s = await startServer({ maxConnections: 1 });
  try {
    const a = await rawConnected(s.port);
    const b = await RawClient.connect(s.port);
    await b.waitClosed();
    assert.match(b.data, /^INFO \{.*\} \r\n-ERR 'maximum connections exceeded'\r\n$/);
    assert.ok(!a.ended);
    a.close();
  } finally {
    await s.close();
  }
});

test('stale connection after unanswered PINGs', async () => {
  const log = captureLogger();
  const s = await startServer({ pingInterval: 50, pingMax: 2 }, log);
  try {
    const c = await rawConnected(s.port);
    await c.waitClosed(3000);
    assert.equal(c.afterInfo, "PONG\r\nPING\r\nPING\r\n-ERR 'Stale Connection'\r\n");
    assert.equal(s.stats().staleConnections, 1);
    assert.equal(s.closedConnections()[0].reason, 'Stale Connection');
  } finally {
    await s.close();
  }
});

test('a client answering PINGs stays connected', async () => {
  const s = await startServer({ pingInterval: 40, pingMax: 1 });
  try {
    const c = await rawConnected(s.port);
    c.socket.on('data', (d: Buffer) => {
      if (d.toString().includes('PING')) c.send('PONG\r\n');
    });
    await delay(400);
    assert.ok(!c.ended);
    assert.ok(c.afterInfo.includes('PING'));
    c.close();
  } finally {
    await s.close();
  }
});

test('slow consumer: pending bytes over max_pending closes the subscriber', async () => {
  const log = captureLogger();
  const s = await startServer({ maxPending: 4096 }, log);
  try {
    const slow = await rawConnected(s.port);
    slow.send('SUB big 1\r\n');
    await slow.sync();
    slow.socket.pause();
    const pub = await rawConnected(s.port);
    const payload = 'x'.repeat(1000);
    let burst = '';
    for (let i = 0; i < 20; i++) burst += `PUB big ${payload.length}\r\n${payload}\r\n`;
    pub.send(burst);
    await pub.sync();
    slow.socket.resume();
    await slow.waitClosed();
    assert.ok(!slow.afterInfo.includes('-ERR'));
    assert.ok(log.lines.some((l) => l.includes('Slow Consumer Detected: MaxPending of 4096 Exceeded')), log.lines.join('\n'));
    assert.equal(s.stats().slowConsumers, 1);
    assert.ok(!pub.ended);
    pub.close();
  } finally {
    await s.close();
  }
});

test('-ERR from client closes the connection', async () => {
  await expectErrClose("CONNECT {}\r\n-ERR 'oops'\r\n", null);
});

test('counters and per-connection stats', async () => {
  const s = await startServer();
  try {
    const c = await rawConnected(s.port, { verbose: false, pedantic: false, name: 'me', lang: 'raw', version: '9' });
    c.send('SUB foo 1\r\nPUB foo 3\r\nabc\r\n');
    await c.waitFor('abc');
    const st = s.stats();
    assert.equal(st.connections, 1);
    assert.equal(st.totalConnections, 1);
    assert.equal(st.inMsgs, 1);
    assert.equal(st.outMsgs, 1);
    assert.equal(st.inBytes, 3);
    assert.equal(st.outBytes, 3);
    assert.equal(st.subscriptions, 1);
    const [conn] = s.connections();
    assert.equal(conn.name, 'me');
    assert.equal(conn.lang, 'raw');
    assert.equal(conn.version, '9');
    assert.equal(conn.ip, '127.0.0.1');
    assert.equal(conn.port, c.socket.localPort);
    assert.equal(conn.subscriptions, 1);
    assert.deepEqual(conn.subscriptionsList, [{ subject: 'foo', sid: '1', msgs: 1, max: 0 }]);
    assert.equal(conn.inMsgs, 1);
    assert.equal(conn.outMsgs, 1);
    c.close();
    await delay(50);
    assert.equal(s.stats().connections, 0);
    assert.equal(s.closedConnections().length, 1);
    assert.equal(s.closedConnections()[0].reason, 'Client Closed');
  } finally {
    await s.close();
  }
});

test('debug and trace logging', async () => {
  const log = captureLogger(true, true);
  const s = await startServer({}, log);
  try {
    const c = await rawConnected(s.port);
    c.send('SUB foo 1\r\nPUB foo 5\r\nhello\r\n');
    await c.waitFor('hello');
    c.close();
    await delay(50);
    const text = log.lines.join('\n');
    assert.ok(text.includes('INF Starting nats-server'));
    assert.ok(text.includes(`INF Listening for client connections on 127.0.0.1:${s.port}`));
    assert.ok(text.includes('INF Server is ready'));
    assert.match(text, /DBG 127\.0\.0\.1:\d+ - cid:\d+ - Client connection created/);
    assert.match(text, /TRC 127\.0\.0\.1:\d+ - cid:\d+ - <<- \[PUB foo 5\]/);
    assert.match(text, /TRC 127\.0\.0\.1:\d+ - cid:\d+ - ->> \[MSG foo 1 5\]/);
    assert.match(text, /DBG 127\.0\.0\.1:\d+ - cid:\d+ - Client connection closed: Client Closed/);
  } finally {
    await s.close();
  }
});

test('auth: token required, violation and timeout', async () => {
  const s = await startServer({ authorization: 's3cr3t', authTimeout: 100 });
  try {
    const ok = await RawClient.connect(s.port);
    const info = await ok.waitFor('\r\n');
    assert.ok(info.includes('"auth_required":true'));
    ok.send('CONNECT {"verbose":true,"auth_token":"s3cr3t"}\r\nPING\r\n');
    await ok.waitFor('PONG');
    assert.equal(ok.afterInfo, '+OK\r\nPONG\r\n');
    const bad = await RawClient.connect(s.port);
    bad.send('CONNECT {"auth_token":"nope"}\r\n');
    await bad.waitClosed();
    assert.ok(bad.afterInfo.endsWith("-ERR 'Authorization Violation'\r\n"));
    const early = await RawClient.connect(s.port);
    early.send('PING\r\n');
    await early.waitClosed();
    assert.equal(early.afterInfo, "-ERR 'Authorization Violation'\r\n");
    const slow = await RawClient.connect(s.port);
    await slow.waitClosed();
    assert.ok(slow.afterInfo.endsWith("-ERR 'Authentication Timeout'\r\n"));
    ok.close();
  } finally {
    await s.close();
  }
});

test('auth: single user/password, and a users list', async () => {
  for (const [opts, cases] of [
    [{ username: 'u', password: 'p' }, [['u', 'p', true], ['u', 'x', false], ['alice', 'p', false]]],
    [{ users: [{ user: 'alice', password: 'pw' }] }, [['alice', 'pw', true], ['alice', 'x', false], ['u', 'p', false]]],
  ] as const) {
    const s = await startServer(opts as Partial<NatsServerOptions>);
    try {
      for (const [user, pass, good] of cases) {
        const c = await RawClient.connect(s.port);
        await c.waitFor('\r\n');
        c.send(`CONNECT ${JSON.stringify({ verbose: false, user, pass })}\r\nPING\r\n`);
        if (good) await c.waitFor('PONG');
        else {
          await c.waitClosed();
          assert.ok(c.afterInfo.includes('Authorization Violation'));
        }
        c.close();
      }
    } finally {
      await s.close();
    }
  }
});

test('auth: a single user together with a users list is refused at start', async () => {
  await assert.rejects(
    startServer({ username: 'u', password: 'p', users: [{ user: 'alice', password: 'pw' }] }),
    /Can not have a single user\/pass and a users array/,
  );
});

test('close frees the port for an immediate restart', async () => {
  const s = await startServer();
  const port = s.port;
  const c = await rawConnected(port);
  await s.close();
  await c.waitClosed();
  const s2 = await startServer({ port });
  try {
    assert.equal(s2.port, port);
    const c2 = await rawConnected(port);
    c2.close();
  } finally {
    await s2.close();
  }
});

test('split writes from a client are reassembled', async () => {
  const s = await startServer();
  try {
    const c = await rawConnected(s.port);
    const stream = 'SUB foo 1\r\nPUB foo 5\r\nhello\r\nPUB foo 3\r\nabc\r\n';
    for (const ch of stream) {
      c.send(ch);
      await delay(1);
    }
    await c.sync();
    assert.equal(c.afterInfo, 'PONG\r\nMSG foo 1 5\r\nhello\r\nMSG foo 1 3\r\nabc\r\nPONG\r\n');
    c.close();
  } finally {
    await s.close();
  }
});

test('slow consumer: write deadline closes a subscriber that stops reading', async () => {
  const log = captureLogger();
  const s = await startServer({ writeDeadline: 200 }, log);
  const { connectInProcess } = await import('../../src/nats/embedded');
  const ip = connectInProcess(s, 'pub');
  try {
    const slow = await rawConnected(s.port);
    slow.send('SUB big 1\r\n');
    await slow.sync();
    slow.socket.pause();
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    // Far more than the kernel socket buffers hold, published over several loop turns.
    for (let i = 0; i < 200 && !slow.ended; i++) {
      ip.publish('big', chunk);
      if (i % 10 === 0) await delay(5);
    }
    // The paused socket sees no events, so poll the server's counter.
    for (let t = 0; t < 250 && s.stats().slowConsumers === 0; t++) await delay(20);
    assert.ok(
      log.lines.some((l) => /Slow Consumer Detected: WriteDeadline of 0\.2s exceeded with \d+ chunks of \d+ total bytes\./.test(l)),
      log.lines.join('\n'),
    );
    assert.equal(s.closedConnections()[0]?.reason, 'Slow Consumer (Write Deadline)');
    slow.close();
  } finally {
    await ip.close();
    await s.close();
  }
});

test('HPUB with an empty header block is delivered as MSG (like the reference)', async () => {
  const s = await startServer();
  try {
    const c = await rawConnected(s.port, { verbose: false, pedantic: false, headers: true });
    c.send('SUB foo 1\r\nHPUB foo 0 2\r\nhi\r\n');
    await c.sync();
    assert.equal(c.afterInfo, 'PONG\r\nMSG foo 1 2\r\nhi\r\nPONG\r\n');
    c.close();
  } finally {
    await s.close();
  }
});

test('trace redacts credentials in CONNECT', async () => {
  const log = captureLogger(false, true);
  const s = await startServer({ username: 'u', password: 'secretpw' }, log);
  try {
    const c = await rawConnected(s.port, { verbose: false, pedantic: false, user: 'u', pass: 'secretpw' });
    c.close();
    const line = log.lines.find((l) => l.includes('CONNECT'));
    assert.ok(line !== undefined && line.includes('"pass":"[REDACTED]"'), line);
    assert.ok(!log.lines.join('\n').includes('secretpw'));
  } finally {
    await s.close();
  }
});
