import { connect } from 'nats';
import { startServer } from '../src/index';
import { rawStanConnect } from './helpers/raw';
void (async () => {
  const url = 'nats://127.0.0.1:25333';
  const srv = await startServer({ streaming: { clusterID: 'dbg', natsServerURL: url } });
  const nc = await connect({ servers: url, name: 'testraw' });
  await rawStanConnect(nc, 'dbg', 'dead1', { answerHB: false });
  try { await rawStanConnect(nc, 'dbg', 'dead1', { answerHB: false }); console.log('replaced ok'); } catch (e) { console.log('ERR', (e as Error).message); }
  await nc.close(); await srv.close();
})();
