import { spawn } from 'node:child_process';
/**
 * Wire comparison with a reference nats-server binary (not a test: CI may lack the binary).
 * Sends the same raw byte streams to both servers and prints any difference in the replies.
 * Run: node --import tsx test/helpers/nats-wirecompare.ts [/path/to/nats-server]
 */
import { RawClient, startServer, delay } from './nats-helpers';
const cases: string[] = [
  'CONNECT {}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nUNSUB 1\r\nUNSUB 99\r\nPING\r\n',
  'CONNECT {"verbose":false,"pedantic":true}\r\nSUB foo.* 1\r\nPUB foo.* 1\r\nx\r\nPING\r\n',
  'CONNECT {"verbose":false}\r\nSUB foo.>.bar 1\r\nSUB a\tb  2\r\nPING\r\n',
  'CONNECT {"verbose":false}\r\nSUB foo 1\r\nSUB bar 1\r\nPUB bar 1\r\nb\r\nPUB foo 1\r\nf\r\nPING\r\n',
  'CONNECT {"verbose":false}\r\nSUB foo 1\r\nUNSUB 1 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\nPING\r\n',
  'CONNECT {"verbose":false,"headers":true,"no_responders":true}\r\nSUB _INBOX.x.* 5\r\nPUB nobody _INBOX.x.1 2\r\nhi\r\nPING\r\n',
  'CONNECT {"verbose":false,"headers":true}\r\nSUB foo 1\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n',
  'CONNECT {"verbose":false}\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n',
  'CONNECT {"verbose":false}\r\nFOO\r\n',
  'CONNECT {"verbose":false}\r\nPUB foo 2\r\nabc\r\n',
  'CONNECT {"protocol":2}\r\n',
  'CONNECT {bad\r\n',
  'UNSUB\r\n',
  'PING\r\n',
  'CONNECT {"verbose":false}\r\nPUB  foo   2 \r\nab\r\nSUB foo 1\r\nPUB foo 2\r\nab\r\nPING\r\n',
  'CONNECT {"verbose":false}\r\nPUB foo\r\n',
  'CONNECT {"verbose":false}\r\nUNSUB 1 2 3\r\n',
  'CONNECT {"verbose":true}\r\nSUB foo q 1\r\nPUB foo 1\r\nx\r\nPING\r\n',
  'CONNECT {"verbose":false}\r\nsub foo 1\r\npub foo 1\r\nx\r\nping\r\n',
  'CONNECT {"verbose":false}\r\n\r\nPING\r\n',
  "CONNECT {\"verbose\":false}\r\n-ERR 'x'\r\nPING\r\n",
  'CONNECT {"verbose":false}\r\nPINGX\r\n',

  'SUB foo 1\r\nPUB foo 1\r\nx\r\nPING\r\n',
  'CONNECT {}\r\nPUB foo..bar 1\r\nx\r\nPUB foo.> 1\r\nx\r\nPING\r\n',
  'CONNECT {"verbose":false}\r\nPUB foo 2000000\r\n',
  'CONNECT {"verbose":false}\r\nSUB ' + 'a'.repeat(5000) + ' 1\r\n',
  'CONNECT {"verbose":false}\r\nSUB foo 1\r\nPUB foo 0\r\n\r\nPUB foo r 0\r\n\r\nPING\r\n',
  'CONNECT {"verbose":false,"echo":false}\r\nSUB foo 1\r\nPUB foo 1\r\nx\r\nPING\r\n',
  'CONNECT {"verbose":false}\r\nSUB foo 1\r\nUNSUB 1 0\r\nPUB foo 1\r\nx\r\nPING\r\n',
  'CONNECT {"verbose":false}\r\nINFO {}\r\nPING\r\n',
  'CONNECT {"verbose":false}\r\nXYZ',
  'CONNECT {"verbose":false, "no_responders":true, "headers":true}\r\nPUB nobody _INBOX.y 1\r\nx\r\nPING\r\n',
  'CONNECT {"verbose":false}\r\nPUB foo 1\r\nx\n',
  'CONNECT {"verbose":false}\r\nSUB foo 1\r\nPUB foo 1\nx\r\nPING\n',
  'CONNECT {"verbose":false,"headers":true}\r\nSUB foo 1\r\nHPUB foo 0 2\r\nhi\r\nPING\r\n',
  'CONNECT {"verbose":false,"headers":true}\r\nSUB foo 1\r\nHPUB foo r 12 12\r\nNATS/1.0\r\n\r\n\r\nPING\r\n',
];
async function run(port: number, input: string): Promise<string> {
  const c = await RawClient.connect(port);
  await c.waitFor('\r\n');
  c.send(input);
  await delay(150);
  const r = c.afterInfo + (c.ended ? '<CLOSED>' : '');
  c.close();
  return r;
}
(async () => {
  const p = spawn(process.argv[2] ?? '/usr/sbin/nats-server', ['-p', '14999', '-a', '127.0.0.1'], { stdio: 'ignore' });
  await delay(500);
  const s = await startServer();
  let diffs = 0;
  for (const cs of cases) {
    const a = await run(14999, cs);
    const b = await run(s.port, cs);
    if (a !== b) { diffs++; console.log('DIFF', JSON.stringify(cs), '\n  ref:', JSON.stringify(a), '\n  our:', JSON.stringify(b)); }
  }
  console.log('diffs', diffs, 'of', cases.length);
  p.kill();
  await s.close();
  process.exitCode = diffs === 0 ? 0 : 1;
})();
