import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Locator } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { supervisorMachine } from '../../machines/supervisor.machine.js';
import { type ChartState, statecharts, transitionId } from '../../src/statecharts/graph.js';
import { allLive, type RunningConnector, startConnector, users } from '../http/connector.js';

const chromiumPath = '/usr/bin/chromium';
const adminToken = 'dashboard-admin-token-1234';
/** Git-ignored (.gitignore: test-output/). */
const outputDir = fileURLToPath(new URL('../../test-output/dashboard/', import.meta.url));
const alice = users[0] as string;

/** The transitions of a machine's definition, by their ids (`connected#1`), with the event each is taken on. */
const definedTransitions = (() => {
  const byMachine = new Map<string, Map<string, string>>();
  for (const chart of statecharts(supervisorMachine)) {
    const ids = new Map<string, string>();
    const visit = (state: ChartState) => {
      for (const [index, transition] of state.transitions.entries()) {
        ids.set(transitionId(state.path, index), `${state.path || '(machine)'}: ${transition.event}`);
      }
      for (const child of state.states) visit(child);
    };
    visit(chart.root);
    byMachine.set(chart.id, ids);
  }
  return (machine: string) => byMachine.get(machine) ?? new Map<string, string>();
})();

/**
 * A chart drawn as a diagram: one arrow for every transition of its machine's definition (a loop for one without a
 * target), each named by its transition and drawn with some length, on an SVG that says what it shows.
 */
async function expectArrowsForEveryTransition(chart: Locator): Promise<void> {
  const machine = (await chart.getAttribute('data-machine')) ?? '';
  const defined = definedTransitions(machine);
  expect(defined.size, `${machine}: its definition has transitions`).toBeGreaterThan(0);
  const edges = chart.locator('svg.diagram .edge[data-transition]');
  expect(await edges.count(), machine).toBe(defined.size);
  const drawn = await edges.evaluateAll((elements) =>
    elements.map((element) => {
      const edge = element as unknown as SvgElement;
      const lines = Array.from(edge.querySelectorAll('.edge-line'));
      return {
        id: edge.getAttribute('data-transition') ?? '',
        lines: lines.length,
        length: Math.min(...lines.map((line) => line.getTotalLength())),
      };
    }),
  );
  expect(drawn.map((edge) => edge.id).sort(), machine).toEqual([...defined.keys()].sort());
  for (const edge of drawn) {
    expect(edge.lines, `${machine} ${defined.get(edge.id)}`).toBeGreaterThan(0);
    expect(edge.length, `${machine} ${defined.get(edge.id)}`).toBeGreaterThan(10);
  }
  expect(await chart.locator('.edge-label[data-label-of]').count(), machine).toBe(defined.size);
  expect(await chart.locator('svg.diagram').getAttribute('role')).toBe('img');
  expect(await chart.locator('svg.diagram > title').textContent()).toMatch(/^Statechart of /);
}

/** What the test uses of the page's globals (the project compiles without the DOM library). */
interface BrowserGlobals {
  marked: string[];
  /** Arrows marked as the latest transition, with the CSS animation running on their line at that moment. */
  arrows: Array<{ id: string; animation: string }>;
  MutationObserver: new (
    callback: (
      mutations: Array<{
        target: { getAttribute(name: string): string | null; querySelector(selector: string): unknown };
        oldValue: string | null;
      }>,
    ) => void,
  ) => { observe(target: unknown, options: Record<string, unknown>): void };
  getComputedStyle(element: unknown): { animationName: string; stroke: string };
}

/** What the test reads of an SVG element in the page. */
interface SvgElement {
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): ArrayLike<{ getTotalLength(): number }>;
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
    // One instance (no `cluster` configuration): the Cluster panel says so, with no members or owners to list.
    await expect.poll(() => page.locator('#cluster .big').textContent()).toBe('single instance');
    expect(await page.locator('#cluster table').count()).toBe(0);
    // Nothing but sections on the page: no stray text between them (a null written out by replaceChildren).
    expect(
      await page
        .locator('#app')
        .evaluate((app) =>
          Array.from(app.childNodes, (node: { nodeName: string }) => node.nodeName).filter((name) => name === '#text'),
        ),
    ).toEqual([]);
    // The service's own machines are drawn on the overview, each with its current state lit.
    const serviceCharts = page.locator('#service-statecharts .chart');
    await expect
      .poll(() => serviceCharts.evaluateAll((charts) => charts.map((chart) => chart.getAttribute('data-machine'))))
      .toEqual(['supervisor', 'database', 'mailboxes']);
    for (const chart of await serviceCharts.all()) await expectArrowsForEveryTransition(chart);
    // Lit where the service is: the supervisor running, the database ready; the mailboxes' supervisor has no states.
    const lit = (machine: string) =>
      page
        .locator(`#service-statecharts .chart[data-machine="${machine}"] .state[data-active="true"]`)
        .evaluateAll((boxes) => boxes.map((box) => box.getAttribute('data-path')));
    await expect.poll(() => lit('supervisor')).toContain('running');
    await expect.poll(() => lit('database')).toContain('ready');
    expect(
      await page
        .locator('#service-statecharts .chart[data-machine="mailboxes"] .state[data-path]:not([data-path=""])')
        .count(),
    ).toBe(0);
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
    // Drawn as diagrams: one arrow for every transition of the definition (a loop for one without a target).
    for (const chart of [mailboxChart, ...(await itemTypeCharts.all())]) await expectArrowsForEveryTransition(chart);
    // The current state is lit (drawn in the active colour, not only flagged), in the diagram and in the text view.
    const stroke = (path: string) =>
      mailboxChart
        .locator(`.state[data-path="${path}"] > .state-box`)
        .evaluate((box) => (globalThis as unknown as BrowserGlobals).getComputedStyle(box).stroke);
    expect(await stroke('connected.live')).toBe('rgb(21, 128, 61)');
    expect(await stroke('backingOff')).not.toBe('rgb(21, 128, 61)');
    expect(
      await mailboxChart
        .locator('.chart-text li[aria-current="true"]')
        .evaluateAll((items) => items.map((item) => item.getAttribute('data-text-path'))),
    ).toEqual(['connected', 'connected.live']);
    await page.locator('#statecharts').screenshot({ path: `${outputDir}statecharts.png` });
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
    // Every arrow marked as the latest transition from now on, and whether it was animated when it was.
    await chart.evaluate((element) => {
      const page = globalThis as unknown as BrowserGlobals;
      const arrows: BrowserGlobals['arrows'] = [];
      page.arrows = arrows;
      new page.MutationObserver((mutations) => {
        for (const mutation of mutations) {
          const edge = mutation.target;
          if (edge.getAttribute('data-last') !== 'true' || edge.getAttribute('data-transition') === null) continue;
          const line = edge.querySelector('.edge-line');
          arrows.push({
            id: edge.getAttribute('data-transition') ?? '',
            animation: page.getComputedStyle(line).animationName,
          });
        }
      }).observe(element, { subtree: true, attributes: true, attributeFilter: ['data-last'] });
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
    // The arrows of those transitions were animated as they arrived: idle → syncing on sync.requested first.
    const itemType = definedTransitions('itemType');
    const wake = [...itemType].find(([, name]) => name === 'idle: sync.requested')?.[0];
    const done = [...itemType].find(([, name]) => name === 'syncing: done syncFolders')?.[0];
    const arrows = await page.evaluate(() => (globalThis as unknown as BrowserGlobals).arrows);
    expect(arrows).toEqual(
      expect.arrayContaining([
        { id: wake, animation: 'exh-edge-flow' },
        { id: done, animation: 'exh-edge-flow' },
      ]),
    );
    // The latest transition stays marked: back into idle by an eventless transition of synced.
    const latest = await chart
      .locator('.edge[data-last="true"]')
      .evaluateAll((edges) => edges.map((edge) => edge.getAttribute('data-transition') ?? ''));
    expect(latest.length).toBeGreaterThan(0);
    expect(latest.map((id) => itemType.get(id))).toContain(itemType.get(done ?? ''));
    await page.close();
  });
});
