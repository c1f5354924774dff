/**
 * Screenshots of the console for the README and docs/console.md: starts a server (MEMORY
 * store) with an admin token, applies the console test's known load, keeps publishing and
 * consuming at a varying rate so the sparklines have a shape, then captures each page with
 * headless chromium into docs/images/console-*.png.
 *
 *   npx tsc -p tsconfig.json && node --import tsx scripts/console-screenshots.ts [--seconds 50]
 */
import * as path from 'node:path';
import { startServer } from '../src/index';
import { freePort } from '../test/helpers/proc';
import { close, connect, publish, subscribe } from '../test/helpers/stan';
import { launchBrowser, watchedPage } from '../test/helpers/browser';
import { applyConsoleLoad } from '../test/helpers/console-load';

const OUT = path.resolve(__dirname, '..', 'docs', 'images');
const TOKEN = 'screenshot-token';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

async function main(): Promise<void> {
  const seconds = arg('seconds', 50);
  const port = await freePort();
  const s = await startServer({ streaming: { clusterID: 'prod-cluster', adminToken: TOKEN }, nats: { port: 0, httpPort: port } });
  const clients = await applyConsoleLoad(s);
  const feeder = await connect(s.natsURL, s.clusterID, 'telemetry-gw');
  const reader = await connect(s.natsURL, s.clusterID, 'dashboard');
  await subscribe(reader, 'telemetry', reader.subscriptionOptions().setStartWithLastReceived());
  // A dead-letter envelope, as the server writes one after max_deliveries: Requeue is offered on it.
  const envelope = { channel: 'orders.eu', seq: 3, timestamp: new Date().toISOString(), subject: 'orders.eu', reply: '', client_id: 'billing-worker', durable: '', queue: 'billing', deliveries: 5, data_base64: Buffer.from('{"order":3,"sku":"A-103"}').toString('base64') };
  await publish(feeder, 'dlq.orders.eu', JSON.stringify(envelope));
  const browser = await launchBrowser();
  const { page, errors } = await watchedPage(browser);
  await page.setViewport({ width: 1280, height: 640 });
  await page.goto(`http://127.0.0.1:${port}/console#/channels`);

  // A rate that rises and falls, so that the sparklines show it.
  const end = Date.now() + seconds * 1000;
  let tick = 0;
  while (Date.now() < end) {
    const n = Math.round(20 + 15 * Math.sin(tick / 4));
    for (let i = 0; i < n; i++) await publish(feeder, 'telemetry', JSON.stringify({ t: tick, i, temp: 20 + Math.random() }));
    if (tick % 3 === 0) await publish(feeder, 'orders.eu', JSON.stringify({ order: 100 + tick, sku: 'B-7' }));
    tick++;
    await new Promise((r) => setTimeout(r, 500));
  }

  const shots: Array<[string, string]> = [
    ['#/channels', 'console-channels.png'],
    ['#/subscriptions', 'console-subscriptions.png'],
    ['#/clients', 'console-clients.png'],
    ['#/server', 'console-server.png'],
  ];
  for (const [hash, file] of shots) {
    await page.evaluate((h: string) => { location.hash = h; }, hash);
    await page.waitForFunction(() => document.querySelectorAll('#view tbody tr').length > 0);
    await page.screenshot({ path: path.join(OUT, file) });
    console.log(`wrote docs/images/${file}`);
  }
  await page.type('#token', TOKEN);
  await page.click('#token-use');
  await page.waitForFunction(() => document.querySelector('#token-state')?.textContent === 'admin: ok');
  await page.evaluate(() => { location.hash = '#/messages/payments'; });
  await page.waitForFunction(() => document.querySelectorAll('#messages tbody tr').length > 0);
  await page.screenshot({ path: path.join(OUT, 'console-messages.png') });
  console.log('wrote docs/images/console-messages.png');
  await page.evaluate(() => { location.hash = '#/messages/sensor.bin'; });
  await page.waitForFunction(() => document.querySelector('#messages tbody tr td')?.textContent === '1');
  await page.screenshot({ path: path.join(OUT, 'console-messages-binary.png') });
  console.log('wrote docs/images/console-messages-binary.png');
  // With the token: the admin actions in the channel list and on a dead-letter envelope.
  await page.evaluate(() => { location.hash = '#/channels'; });
  await page.waitForFunction(() => document.querySelectorAll('#channels button[data-action]').length > 0);
  await page.screenshot({ path: path.join(OUT, 'console-channels-admin.png') });
  console.log('wrote docs/images/console-channels-admin.png');
  await page.evaluate(() => { location.hash = '#/messages/dlq.orders.eu'; });
  await page.waitForFunction(() => document.querySelectorAll('#messages button[data-action]').length > 0);
  await page.screenshot({ path: path.join(OUT, 'console-dead-letters.png') });
  console.log('wrote docs/images/console-dead-letters.png');

  // The parameter forms: durable reset (Subscriptions view) and purge before (Channels view).
  await page.evaluate(() => { location.hash = '#/subscriptions'; });
  await page.waitForSelector('#subscriptions button[data-action="resetDurable"]');
  await page.click('#subscriptions button[data-action="resetDurable"]');
  await page.type('#param-seq', '5');
  await page.screenshot({ path: path.join(OUT, 'console-durable-reset.png') });
  console.log('wrote docs/images/console-durable-reset.png');
  await page.click('#action-cancel');
  await page.evaluate(() => { location.hash = '#/channels'; });
  await page.waitForSelector('#channels button[data-action="purgeBefore"]');
  await page.evaluate(() => {
    const row = [...document.querySelectorAll('#channels tbody tr')].find((tr) => tr.querySelector('td')?.textContent === 'telemetry');
    (row?.querySelector('button[data-action="purgeBefore"]') as HTMLButtonElement | null)?.click();
  });
  await page.waitForSelector('#action-form');
  await page.type('#param-before_time', '2026-12-06T00:00:00Z');
  await page.screenshot({ path: path.join(OUT, 'console-purge-before.png') });
  console.log('wrote docs/images/console-purge-before.png');

  await browser.close();
  for (const c of [...clients, feeder, reader]) await close(c).catch(() => undefined);
  await s.close();
  if (errors.length > 0) {
    console.error(`console errors:\n${errors.join('\n')}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
