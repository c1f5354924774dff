import { startServer, rawConnected, captureLogger } from './helpers/nats-helpers';
import { connect, StringCodec } from 'nats';
(async () => {
  const log = captureLogger(true, true);
  const s = await startServer({}, log);
  const c = await rawConnected(s.port);
  console.log(JSON.stringify(c.data));
  c.send('SUB foo 1\r\nPUB foo 5\r\nhello\r\n');
  await c.waitFor('hello');
  console.log(JSON.stringify(c.data));
  const nc = await connect({ port: s.port });
  const sc = StringCodec();
  nc.subscribe('svc', { callback: (_e, m) => m.respond(sc.encode('pong:' + sc.decode(m.data))) });
  const r = await nc.request('svc', sc.encode('x'));
  console.log(sc.decode(r.data));
  try { await nc.request('nobody', sc.encode('x'), { timeout: 500 }); } catch (e) { console.log('err', (e as any).code); }
  await nc.close(); c.close();
  await s.close();
  console.log(log.lines.join('\n'));
})();
