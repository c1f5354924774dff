/**
 * The /console web page in a real headless browser (Debian chromium via puppeteer-core)
 * against a real server after a known load from the real Node STAN client: pages load
 * without console errors or Content-Security-Policy violations, show the channels, counts,
 * subscriptions (stalled, pending) and clients; the message browser needs the token and then
 * shows a published payload; admin actions run end to end through their forms and
 * confirmation dialogs: Purge, Purge before (seq and time), durable Reset (the real durable
 * resumes from the new position). Named stan-* so that test/run-all.sh runs it on every store
 * and with an external nats-server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Dialog, Page } from 'puppeteer-core';
import type { ServerHandle } from '../../src/index';
import { freePort } from '../helpers/proc';
import { startTestServer } from '../helpers/server';
import { close, Collector, connect, endSub, opts, subscribe, until, type Stan } from '../helpers/stan';
import { launchBrowser, tableRows, watchedPage } from '../helpers/browser';
import { httpGet } from '../helpers/http';
import { CONSOLE_CSP } from '../../src/monitor/console';
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
    const d = acceptDialogs();
    try {
      await show('#/channels', '#channels', 3);
      const buttons = await page.$$eval('#channels button[data-action]', (x) => x.map((b) => b.getAttribute('data-action')));
      assert.deepEqual([...new Set(buttons)].sort(), ['deleteChannel', 'purgeBefore', 'purgeChannel'], 'the API offers them: the buttons are there');
      await clickAction('#channels', { 0: 'payments' }, 'purgeChannel');
      await page.waitForFunction(() => {
        const row = [...document.querySelectorAll('#channels tbody tr')].find((tr) => tr.querySelector('td')?.textContent === 'payments');
        return row?.querySelectorAll('td')[1]?.textContent === '0';
      });
      assert.deepEqual(d.dialogs, ['confirm: Drop all messages of channel payments?', `alert: Purge: done (channel: payments, removed: 3, first_seq: 4, last_seq: 3)`]);
      const z = (await httpGet(port, '/streaming/channelsz?channel=payments')).json() as { msgs: number; last_seq: number };
      assert.deepEqual([z.msgs, z.last_seq], [0, CONSOLE_LOAD.counts['payments']]);
    } finally {
      d.stop();
    }
  });

  /** Accepts every dialog and records it as `type: message`. */
  function acceptDialogs(): { dialogs: string[]; stop(): void } {
    const dialogs: string[] = [];
    const onDialog = (d: Dialog): void => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.accept();
    };
    page.on('dialog', onDialog);
    return { dialogs, stop: () => page.off('dialog', onDialog) };
  }

  /** Clicks the action button of the table row whose cells satisfy `cells` (text by column). */
  async function clickAction(table: string, cells: Record<number, string>, action: string): Promise<void> {
    const clicked = await page.evaluate(
      (sel: string, want: Record<number, string>, act: string) => {
        const row = [...document.querySelectorAll(`${sel} tbody tr`)].find((tr) => {
          const tds = tr.querySelectorAll('td');
          return Object.entries(want).every(([i, v]) => tds[Number(i)]?.textContent === v);
        });
        const b = row?.querySelector(`button[data-action="${act}"]`) as HTMLButtonElement | null | undefined;
        b?.click();
        return b !== null && b !== undefined;
      },
      table,
      cells,
      action,
    );
    assert.ok(clicked, `a ${action} button in ${table} on ${JSON.stringify(cells)}`);
  }

  /** Fills the open action form (field name → text) and submits it. */
  async function submitForm(action: string, values: Record<string, string>): Promise<void> {
    await page.waitForSelector(`#action-form[data-action="${action}"]`);
    for (const [name, v] of Object.entries(values)) await page.type(`#param-${name}`, v);
    await page.click('#action-submit');
  }

  test('durable reset: the form, its confirmation, and the real durable resumes from the new position', async () => {
    const sc = await connect(s.natsURL, s.clusterID, 'replayer');
    clients.push(sc);
    const durable = opts(sc, (o) => o.setDurableName('replay').setDeliverAllAvailable());
    const first = await subscribe(sc, 'orders.eu', durable);
    await new Collector(first).waitFor(CONSOLE_LOAD.counts['orders.eu']!);
    await endSub(first, 'close');
    // A durable queue group (listed as queue "dq:grp", no durable name), new messages only.
    const member = new Collector(await subscribe(sc, 'sensor.bin', opts(sc, (o) => o.setDurableName('dq')), 'grp'));
    const d = acceptDialogs();
    try {
      await show('#/subscriptions', '#subscriptions', 5);
      await page.waitForFunction(() => document.querySelectorAll('#subscriptions button[data-action="resetDurable"]').length === 3);
      await clickAction('#subscriptions', { 1: 'replayer', 2: 'replay' }, 'resetDurable');
      // Nothing typed: the form says what it needs, nothing is sent.
      await submitForm('resetDurable', {});
      await page.waitForFunction(() => document.querySelector('#action-error')?.textContent === 'give next seq or from time');
      assert.deepEqual(d.dialogs, []);
      await submitForm('resetDurable', { seq: '5' });
      await until(() => d.dialogs.length === 2, 10_000, 'confirmation and answer');
      assert.deepEqual(d.dialogs, [
        'confirm: Move durable replay of client replayer on channel orders.eu so that its next message is the one at seq 5?',
        'alert: Reset: done (channel: orders.eu, durable: replay, next_seq: 5)',
      ]);
      await page.waitForFunction(() => document.querySelector('#action-form') === null);

      // The group's row resets the group: its online member gets messages 1 and 2 at once.
      await clickAction('#subscriptions', { 0: 'sensor.bin', 3: 'dq:grp' }, 'resetDurable');
      await submitForm('resetDurable', { seq: '1' });
      await until(() => d.dialogs.length === 4, 10_000, 'confirmation and answer');
      assert.deepEqual(d.dialogs.slice(2), [
        'confirm: Move durable dq of client replayer on channel sensor.bin so that its next message is the one at seq 1?',
        'alert: Reset: done (channel: sensor.bin, durable: dq, queue: grp, next_seq: 1)',
      ]);
      await member.waitFor(2);
      assert.deepEqual(member.seqs(), [1, 2]);
    } finally {
      d.stop();
    }
    const resumed = new Collector(await subscribe(sc, 'orders.eu', durable));
    await resumed.waitFor(8);
    assert.deepEqual(resumed.seqs(), [5, 6, 7, 8, 9, 10, 11, 12]);
  });

  test('partial purges: before a sequence, then before a time, each through its form and confirmation', async () => {
    const d = acceptDialogs();
    try {
      await show('#/channels', '#channels', 3);
      await clickAction('#channels', { 0: 'orders.eu' }, 'purgeBefore');
      await submitForm('purgeBefore', { before_seq: '5' });
      await until(() => d.dialogs.length === 2, 10_000, 'confirmation and answer');
      assert.deepEqual(d.dialogs, [
        'confirm: Drop the messages of channel orders.eu before seq 5?',
        'alert: Purge before: done (channel: orders.eu, removed: 4, first_seq: 5, last_seq: 12)',
      ]);
      await page.waitForFunction(() => [...document.querySelectorAll('#channels tbody tr')].some((tr) => tr.querySelector('td')?.textContent === 'orders.eu' && tr.querySelectorAll('td')[1]?.textContent === '8'));
      const z = (await httpGet(port, '/streaming/channelsz?channel=orders.eu')).json() as { msgs: number; first_seq: number; last_seq: number };
      assert.deepEqual([z.msgs, z.first_seq, z.last_seq], [8, 5, 12]);

      // A time after both sensor readings: both go, the channel keeps its last sequence.
      const later = new Date(Date.now() + 3_600_000).toISOString();
      await clickAction('#channels', { 0: 'sensor.bin' }, 'purgeBefore');
      await submitForm('purgeBefore', { before_time: later });
      await until(() => d.dialogs.length === 4, 10_000, 'second confirmation and answer');
      assert.deepEqual(d.dialogs.slice(2), [
        `confirm: Drop the messages of channel sensor.bin before time ${later}?`,
        'alert: Purge before: done (channel: sensor.bin, removed: 2, first_seq: 3, last_seq: 2)',
      ]);
      const zb = (await httpGet(port, '/streaming/channelsz?channel=sensor.bin')).json() as { msgs: number; last_seq: number };
      assert.deepEqual([zb.msgs, zb.last_seq], [0, 2]);
    } finally {
      d.stop();
    }
  });

  test('every console file is served with the strict Content-Security-Policy, and the browser enforces it', async () => {
    for (const p of ['/console', '/console/console.js', '/console/console.css']) {
      assert.equal((await httpGet(port, p)).header('content-security-policy'), CONSOLE_CSP, p);
    }
    // An injected inline script is refused and reported as a violation: the watcher that the
    // "no console errors" check relies on does see violations.
    const probe = await watchedPage(browser);
    try {
      await probe.page.goto(`http://127.0.0.1:${port}/console#/server`);
      await probe.page.evaluate(() => {
        const el = document.createElement('script');
        el.textContent = 'document.title = "injected"';
        document.body.append(el);
      });
      await until(() => probe.errors.some((e) => /CSP violation: script-src-elem blocked inline/.test(e)), 5000, 'the violation report');
      assert.notEqual(await probe.page.title(), 'injected');
    } finally {
      await probe.page.close();
    }
  });

  test('no console errors or CSP violations on any page', () => {
    assert.deepEqual(errors, []);
  });
});
