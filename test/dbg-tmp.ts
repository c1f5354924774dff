import { connect } from 'nats';
import { startServer } from '../src/index';
import { RealNatsServer } from './helpers/nats-server';
import { rawStanConnect } from './helpers/raw';
import { captureLogger } from './helpers/nats-helpers';
void (async () => {
  const n = await RealNatsServer.start();
  const log = captureLogger(true, true);
  const srv = await startServer({ streaming: { clusterID: 'dbg', natsServerURL: n.url, debug: true }, logger: log });
  const nc = await connect({ servers: n.url });
  const spy = await connect({ servers: n.url });
  //spy.subscribe('>', { callback: (_e, m) => console.log('SPY', m.subject, m.reply, m.data.length, m.headers ? JSON.stringify([m.headers.status, m.headers.code, m.headers.hasError]) : 'nohdr') });
  await spy.flush();
  const c = await rawStanConnect(nc, 'dbg', 'dead1', { answerHB: false });
  console.log('hb', c.hbInbox);
  try { await rawStanConnect(nc, 'dbg', 'dead1', { answerHB: false }); console.log('replaced ok'); } catch (e) { console.log('ERR', (e as Error).message); }
  console.log(log.lines.join('\n'));
  await nc.close(); await spy.close(); await srv.close(); await n.stop();
})();
