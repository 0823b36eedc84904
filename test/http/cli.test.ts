import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exhOutput } from '../support/exh-process.js';
import { allLive, type RunningConnector, startConnector, users } from './connector.js';

/** A connector without an admin token; exh status reads its HTTP API as a real process. */
describe('exh status and admin actions without a token', () => {
  let connector: RunningConnector;

  beforeAll(async () => {
    connector = await startConnector({});
    await allLive(connector);
  }, 60_000);

  afterAll(async () => {
    await connector?.stop();
  });

  it('exh status prints the database, the pool and every mailbox of a running connector', async () => {
    const { code, stdout } = await exhOutput(['status', '--url', connector.url]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^database {3}ready\.\w+ \(/m);
    expect(stdout).toContain('mailboxes  3 of 3 live (3 live)');
    for (const user of users) expect(stdout).toMatch(new RegExp(`${user.replace('.', '\\.')} +live +4/4 caught up`));
    expect(stdout).toContain('calendar:idle');
    expect(stdout).toContain('\ncluster    single instance\n');
  });

  it('refuses every admin action when no admin token is configured, naming the key to set', async () => {
    for (const path of ['/api/users/sync', '/api/outbox/retry', `/api/mailboxes/${users[0]}/resync`]) {
      const response = await fetch(`${connector.url}${path}`, {
        method: 'POST',
        headers: { authorization: 'Bearer anything-at-all-here', 'content-type': 'application/json' },
        body: '{}',
      });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({
        error: {
          code: 'EXH_HTTP_ADMIN_DISABLED',
          message: expect.stringContaining('set listeners.http.adminToken (EXH_LISTENERS_HTTP_ADMIN_TOKEN'),
        },
      });
    }
  });
});
