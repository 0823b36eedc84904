import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allLive, type RunningConnector, startConnector, users } from '../http/connector.js';

const chromiumPath = '/usr/bin/chromium';
const adminToken = 'dashboard-admin-token-1234';
/** Git-ignored (.gitignore: test-output/). */
const outputDir = fileURLToPath(new URL('../../test-output/dashboard/', import.meta.url));
const alice = users[0] as string;

/** What the test uses of the page's globals (the project compiles without the DOM library). */
interface BrowserGlobals {
  marked: string[];
  MutationObserver: new (
    callback: (
      mutations: Array<{ target: { getAttribute(name: string): string | null }; oldValue: string | null }>,
    ) => void,
  ) => { observe(target: unknown, options: Record<string, unknown>): void };
}

/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core) against a running connector
 * (emulator, PGlite, the actor tree): the overview lists the mailboxes, a mailbox page draws the statecharts from
 * the machine definitions with the current states marked, and a resync runs with the admin token.
 */
describe.skipIf(!existsSync(chromiumPath))('dashboard in chromium', () => {
  let connector: RunningConnector;
  let browser: Browser;

  beforeAll(async () => {
    connector = await startConnector({ adminToken });
    await allLive(connector);
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await connector?.stop();
  });

  it('opens a mailbox from the overview, shows its statecharts with the current states, and resyncs it', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    const failedRequests: string[] = [];
    page.on('requestfailed', (request) => {
      // The event stream is cut when the page closes; anything else failing (an asset, a CDN) is a fault.
      if (!request.url().endsWith('/api/events')) failedRequests.push(request.url());
    });
    // Everything the page asks for comes from the connector itself (no CDN: it works offline), and is there.
    const requested: string[] = [];
    const refused: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    page.on('response', (response) => {
      if (response.status() >= 400)
        refused.push(`${response.status()} ${response.request().method()} ${response.url()}`);
    });
    await page.goto(`${connector.url}/`);
    const rows = page.locator('#mailboxes tr[data-user]');
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(3);
    for (const user of users) {
      await expect
        .poll(() => page.locator(`#mailboxes tr[data-user="${user}"] .badge`).first().textContent(), {
          timeout: 15_000,
        })
        .toBe('live');
    }
    await expect.poll(() => page.locator('#database').textContent()).toContain('ready');
    await mkdir(outputDir, { recursive: true });
    await page.screenshot({ path: `${outputDir}overview.png`, fullPage: true });

    await page.locator(`#mailboxes a:text-is("${alice}")`).click();
    await page.waitForURL(`**/mailboxes/${encodeURIComponent(alice)}`);
    const mailboxChart = page.locator('#statecharts .chart[data-machine="mailbox"]');
    await mailboxChart.waitFor();
    // Drawn from the machine: every state of mailbox.machine.ts is there, the current one marked.
    for (const path of [
      'discovering',
      'connected',
      'connected.subscribing',
      'connected.catchingUp',
      'backingOff',
      'disabled',
    ]) {
      expect(await mailboxChart.locator(`.state[data-path="${path}"]`).count()).toBe(1);
    }
    const current = mailboxChart.locator('.state[data-active="true"]');
    await expect
      .poll(() => current.evaluateAll((boxes) => boxes.map((box) => box.getAttribute('data-path'))))
      .toEqual(['connected', 'connected.live']);
    // One chart per item-type child, each with its current state marked.
    const itemTypeCharts = page.locator('#statecharts .chart[data-machine="itemType"]');
    await expect.poll(() => itemTypeCharts.count()).toBe(4);
    for (const chart of await itemTypeCharts.all()) {
      expect(await chart.locator('.state[data-active="true"]').count()).toBeGreaterThan(0);
    }
    await expect.poll(() => page.locator('#catch-up').textContent()).toContain('4 of 4 item types caught up');

    // A wrong token is refused with the server's message; the right one starts the resync.
    await page.fill('#admin-token', 'wrong-token');
    await page.click('#resync');
    await expect.poll(() => page.locator('#action-result').textContent()).toContain('admin token is wrong');
    await page.fill('#admin-token', adminToken);
    await page.selectOption('#resync-type', 'calendar');
    await page.click('#resync');
    await expect.poll(() => page.locator('#action-result').textContent()).toBe('Resync: accepted');
    // Its end arrives over the event stream: what it added, changed, deleted.
    await expect
      .poll(() => page.locator('#resync-progress').textContent(), { timeout: 15_000 })
      .toMatch(/Resync done: \d+ added, \d+ changed, 0 deleted, 0 failed/);

    await page.screenshot({ path: `${outputDir}mailbox.png`, fullPage: true });
    expect(existsSync(`${outputDir}mailbox.png`)).toBe(true);
    expect(failedRequests).toEqual([]);
    expect(requested.length).toBeGreaterThan(5);
    expect(requested.filter((url) => !url.startsWith(`${connector.url}/`))).toEqual([]);
    // The one refusal is the resync asked for with the wrong token above.
    expect(refused).toEqual([`403 POST ${connector.url}/api/mailboxes/${encodeURIComponent(alice)}/resync`]);
    await page.close();
  });

  it('moves the marked state live when a mailbox changes state, over the event stream alone', async () => {
    const page = await browser.newPage();
    // The HTTP API answers every read after the first with that first answer, frozen: whatever moves on the page
    // from here on can only have come over the event stream (/api/events).
    const frozen = new Map<string, { status: number; headers: Record<string, string>; body: Buffer }>();
    await page.route(/\/api\/(mailboxes|status)/, async (route) => {
      const key = route.request().url();
      let answer = frozen.get(key);
      if (!answer) {
        const response = await route.fetch();
        answer = { status: response.status(), headers: response.headers(), body: await response.body() };
        frozen.set(key, answer);
      }
      await route.fulfill(answer);
    });
    await page.goto(`${connector.url}/mailboxes/${encodeURIComponent(alice)}`);
    const chart = page.locator('#statecharts .chart[data-actor="itemType:calendar"]');
    await chart.waitFor();
    await expect.poll(() => page.locator('#live-indicator').textContent()).toContain('live');
    await expect.poll(() => chart.locator('.state[data-path="idle"]').getAttribute('data-active')).toBe('true');
    const calendarRows = page.locator('#transitions tbody tr', { hasText: 'itemType:calendar' });
    const rowsBefore = await calendarRows.count();
    // Every state of the calendar chart that becomes marked from now on.
    await chart.evaluate((element) => {
      const marked: string[] = [];
      const page = globalThis as unknown as BrowserGlobals;
      page.marked = marked;
      new page.MutationObserver((mutations) => {
        for (const mutation of mutations) {
          const box = mutation.target;
          if (box.getAttribute('data-active') === 'true' && mutation.oldValue !== 'true') {
            marked.push(box.getAttribute('data-path') ?? '');
          }
        }
      }).observe(element, {
        subtree: true,
        attributes: true,
        attributeFilter: ['data-active'],
        attributeOldValue: true,
      });
    });
    // A change in Exchange wakes the calendar item type: idle → syncing → idle, told over the event stream.
    connector.emulator.admin.createItem(alice, {
      kind: 'CalendarItem',
      Subject: 'Seen live',
      Start: '2026-12-02T09:00:00Z',
      End: '2026-12-02T10:00:00Z',
    });
    await expect.poll(() => calendarRows.count(), { timeout: 15_000 }).toBeGreaterThan(rowsBefore);
    await expect
      .poll(() => page.locator('#transitions tbody tr').first().textContent(), { timeout: 15_000 })
      .toMatch(/itemType:calendar.*(idle → syncing|syncing → idle)/);
    // The highlight moved to syncing and back, which the frozen API (calendar idle) could not have done.
    await expect
      .poll(() => page.evaluate(() => (globalThis as unknown as BrowserGlobals).marked), { timeout: 15_000 })
      .toEqual(expect.arrayContaining(['syncing', 'idle']));
    expect(await chart.locator('.state[data-path="idle"]').getAttribute('data-active')).toBe('true');
    await page.close();
  });
});
