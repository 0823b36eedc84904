import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterOf, type RunningCluster, settled, startCluster } from '../http/cluster-connectors.js';

const chromiumPath = '/usr/bin/chromium';
const pgUrl = process.env.PG_URL;
/** Git-ignored (.gitignore: test-output/). */
const outputDir = fileURLToPath(new URL('../../test-output/dashboard/', import.meta.url));

/**
 * The overview's Cluster panel in a real browser (Debian's chromium driven by playwright-core) against two connectors
 * in a cluster on one PostgreSQL schema and the emulator: the dashboard of either shows both members, itself marked,
 * and the instance that runs each mailbox, as the database holds it.
 */
describe.skipIf(!existsSync(chromiumPath) || !pgUrl)('dashboard of a cluster in chromium', () => {
  let cluster: RunningCluster;
  let browser: Browser;
  const users = Array.from({ length: 6 }, (_, i) => `panel${i}@contoso.test`);

  beforeAll(async () => {
    cluster = await startCluster(pgUrl as string, ['exh-a', 'exh-b'], users);
    await settled(cluster);
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
    await cluster?.stop();
  });

  it('either instance shows both members, itself marked, and who runs every mailbox', async () => {
    for (const member of cluster.members) {
      const view = await clusterOf(member);
      if (!view.clustered) throw new Error(`${member.id} says it is not in a cluster`);
      const owners = new Map(view.leases.map((lease) => [lease.user, lease.instanceId]));
      const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
      await page.goto(`${member.url}/`);
      const memberRows = page.locator('#cluster-members tr[data-instance]');
      await expect.poll(() => memberRows.count(), { timeout: 15_000 }).toBe(2);
      expect(await memberRows.evaluateAll((rows) => rows.map((row) => row.getAttribute('data-instance')))).toEqual([
        'exh-a',
        'exh-b',
      ]);
      expect(await page.locator('#cluster .big').textContent()).toBe('2 of 2 members live');
      // The panel takes the page's width, between the cards and the Mailboxes table, with nothing stray around it.
      expect(
        await page
          .locator('#app')
          .evaluate((app) =>
            Array.from(app.childNodes, (node: { nodeName: string; id?: string }) => node.id || node.nodeName),
          ),
      ).toEqual(['H1', 'DIV', 'cluster', 'SECTION', 'recent-errors', 'SECTION']);
      // This instance: its row marked, the others not.
      const self = page.locator('#cluster-members tr.self');
      expect(await self.count()).toBe(1);
      expect(await self.getAttribute('data-instance')).toBe(member.id);
      expect(await self.locator('.self-mark').textContent()).toBe('this instance');
      for (const id of ['exh-a', 'exh-b']) {
        const row = page.locator(`#cluster-members tr[data-instance="${id}"]`);
        expect(await row.locator('.badge').textContent(), id).toBe('live');
        const port = view.members.find((m) => m.instanceId === id)?.port;
        expect(await row.locator('td.mono').textContent()).toMatch(new RegExp(`:${port}$`));
        expect(await row.locator('td').last().textContent()).toBe(
          String([...owners.values()].filter((o) => o === id).length),
        );
      }
      // Every mailbox with the instance that runs it; its own page is linked where this instance runs it.
      const ownerRows = page.locator('#cluster-owners tr[data-user]');
      expect(await ownerRows.count()).toBe(users.length);
      for (const user of users) {
        const row = page.locator(`#cluster-owners tr[data-user="${user}"]`);
        expect(await row.getAttribute('data-instance'), user).toBe(owners.get(user));
        expect(await row.locator('td').nth(1).textContent(), user).toBe(owners.get(user));
        expect(await row.locator('a').count(), user).toBe(owners.get(user) === member.id ? 1 : 0);
      }
      // The Mailboxes table lists the mailboxes this instance runs, and only those.
      await expect
        .poll(() =>
          page
            .locator('#mailboxes tr[data-user]')
            .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-user')).sort()),
        )
        .toEqual(users.filter((user) => owners.get(user) === member.id).sort());
      await mkdir(outputDir, { recursive: true });
      await page.screenshot({ path: `${outputDir}cluster-${member.id}.png`, fullPage: true });
      await page.close();
    }
  });
});
