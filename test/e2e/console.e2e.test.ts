/**
 * The /console web page in a real headless browser (Debian chromium via puppeteer-core)
 * against a real server after a known load from the real Node STAN client: pages load
 * without console errors, show the channels, counts, subscriptions (stalled, pending) and
 * clients; the message browser needs the token and then shows a published payload; an
 * admin action (Purge) runs end to end through its confirmation dialog.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Dialog, Page } from 'puppeteer-core';
import type { ServerHandle } from '../../src/index';
import { freePort } from '../helpers/proc';
import { startTestServer } from '../helpers/server';
import { close, type Stan } from '../helpers/stan';
import { launchBrowser, tableRows, watchedPage } from '../helpers/browser';
import { applyConsoleLoad, CONSOLE_LOAD } from '../helpers/console-load';

const TOKEN = 'console-e2e-token';

describe('console in a headless browser', () => {
  let s: ServerHandle;
  let port: number;
  let clients: Stan[] = [];
  let browser: Browser;
  let page: Page;
  let errors: string[];

  before(async () => {
    port = await freePort();
    s = await startTestServer({ streaming: { adminToken: TOKEN }, nats: { httpPort: port } });
    clients = await applyConsoleLoad(s);
    browser = await launchBrowser();
    ({ page, errors } = await watchedPage(browser));
  });
  after(async () => {
    await browser?.close();
    for (const c of clients) await close(c).catch(() => undefined);
    await s?.close();
  });

  /** Loads the console once, then moves between views by the URL fragment, as a user does. */
  async function open(hash: string): Promise<void> {
    if (!page.url().includes('/console')) {
      await page.goto(`http://127.0.0.1:${port}/console${hash}`);
      return;
    }
    await page.evaluate((h: string) => {
      location.hash = h;
    }, hash);
  }

  async function show(hash: string, rowsOf: string, rows: number): Promise<string[][]> {
    await open(hash);
    // Polling fills the tables: wait for the expected rows rather than for time.
    await page.waitForFunction((sel: string, n: number) => document.querySelectorAll(`${sel} tbody tr`).length === n, {}, rowsOf, rows);
    return tableRows(page, rowsOf);
  }

  test('channels: names and message counts after the load', async () => {
    const rows = await show('#/channels', '#channels', 3);
    const got = Object.fromEntries(rows.map((r) => [r[0], Number(r[1])]));
    assert.deepEqual(got, CONSOLE_LOAD.counts);
    const orders = rows.find((r) => r[0] === 'orders.eu');
    assert.equal(orders?.[5], '2', 'two subscriptions on orders.eu');
    assert.equal(orders?.[6], '1', 'one stalled');
    assert.equal(await page.$$eval('#channels svg.spark', (x) => x.length), 6, 'in/out sparklines per channel');
    assert.match(await page.$eval('#role', (e) => e.textContent ?? ''), /STANDALONE/);
    assert.match(await page.$eval('#health', (e) => e.textContent ?? ''), /store ok/);
  });

  test('subscriptions: pending counts and the stalled flag', async () => {
    const rows = await show('#/subscriptions', '#subscriptions', 3);
    const stalled = rows.find((r) => r[1] === 'billing-worker' && r[0] === 'orders.eu');
    assert.deepEqual([stalled?.[8], stalled?.[9]], ['2', 'stalled']);
    assert.ok(rows.some((r) => r[2] === 'audit'), 'the durable is listed');
    assert.ok(rows.some((r) => r[3] === 'billing'), 'the queue group is listed');
  });

  test('clients with their subscriptions', async () => {
    const rows = await show('#/clients', '#clients', 3);
    assert.deepEqual(rows.map((r) => r[0]), ['audit-log', 'billing-worker', 'orders-api']);
    assert.match(rows[1]?.[2] ?? '', /orders\.eu ×1 \(2 pending\)/);
  });

  test('server: role and store health', async () => {
    const rows = await show('#/server', '#server', 22);
    const kv = Object.fromEntries(rows.map((r) => [r[0], r[1]]));
    assert.equal(kv['state'], 'STANDALONE');
    assert.equal(kv['total_msgs'], '17');
    assert.equal(kv['store health (/readyz)'], 'ok');
  });

  test('message browser: hidden without a token, shows a published payload with it', async () => {
    await open('#/messages/payments');
    await page.waitForFunction(() => document.querySelector('#view h2')?.textContent === 'Messages');
    assert.equal(await page.$eval('#nav-messages', (e) => (e as HTMLElement).hidden), true);
    assert.match(await page.$eval('#view', (e) => e.textContent ?? ''), /Enter the admin token/);
    await page.type('#token', TOKEN);
    await page.click('#token-use');
    await page.waitForFunction(() => document.querySelector('#token-state')?.textContent === 'admin: ok');
    await page.waitForFunction(() => document.querySelectorAll('#messages tbody tr').length === 3);
    const rows = await tableRows(page, '#messages');
    assert.equal(rows[1]?.[0], '2');
    assert.deepEqual(JSON.parse(rows[1]?.[4] ?? ''), CONSOLE_LOAD.payment2);
    // Requeue is offered for dead-letter envelopes only: not for these payments.
    assert.equal(await page.$$eval('#messages button[data-action]', (x) => x.length), 0);
    // The token is in sessionStorage only: no cookie was set.
    assert.equal(await page.evaluate(() => document.cookie), '');
    // Binary payloads are shown as a hex dump.
    await open('#/messages/sensor.bin');
    await page.waitForFunction(() => document.querySelectorAll('#messages tbody tr').length === 2);
    const bin = await tableRows(page, '#messages');
    assert.match(bin[0]?.[4] ?? '', /^000000 {2}01 02 fe ff 00 41/);
    assert.equal(bin[1]?.[4], 'plain text reading 21.5C');
  });

  test('an admin action end to end: Purge asks for confirmation, shows the result, the count drops', async () => {
    const dialogs: string[] = [];
    const onDialog = (d: Dialog): void => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.accept();
    };
    page.on('dialog', onDialog);
    try {
      await show('#/channels', '#channels', 3);
      const buttons = await page.$$eval('#channels button[data-action]', (x) => x.map((b) => b.getAttribute('data-action')));
      assert.deepEqual([...new Set(buttons)].sort(), ['deleteChannel', 'purgeChannel'], 'the API offers them: the buttons are there');
      await page.evaluate(() => {
        const row = [...document.querySelectorAll('#channels tbody tr')].find((tr) => tr.querySelector('td')?.textContent === 'payments');
        (row?.querySelector('button[data-action="purgeChannel"]') as HTMLButtonElement | null)?.click();
      });
      await page.waitForFunction(() => {
        const row = [...document.querySelectorAll('#channels tbody tr')].find((tr) => tr.querySelector('td')?.textContent === 'payments');
        return row?.querySelectorAll('td')[1]?.textContent === '0';
      });
      assert.deepEqual(dialogs, ['confirm: Drop all messages of channel payments?', `alert: Purge: done (channel: payments, removed: 3, first_seq: 4, last_seq: 3)`]);
      const z = (await (await fetch(`http://127.0.0.1:${port}/streaming/channelsz?channel=payments`)).json()) as { msgs: number; last_seq: number };
      assert.deepEqual([z.msgs, z.last_seq], [0, CONSOLE_LOAD.counts['payments']]);
    } finally {
      page.off('dialog', onDialog);
    }
  });

  test('no console errors on any page', () => {
    assert.deepEqual(errors, []);
  });
});
