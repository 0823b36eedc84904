import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startEmulator } from '../../../emulator/index.js';
import { fetchToken, immutable } from './support.js';

/** With --data, delta links and immutable ids handed out before a restart keep working after it. */

describe('a restart with a data file', () => {
  it('keeps delta tokens and immutable ids valid', async () => {
    const dataFile = join(mkdtempSync(join(tmpdir(), 'exh-graph-')), 'mailboxes.json');
    const first = await startEmulator({ port: 0, dataFile });
    const token = await fetchToken(first);
    const auth = { authorization: `Bearer ${token}`, ...immutable };
    const created = await fetch(`${first.graphUrl}/users/alice@contoso.test/contacts`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ displayName: 'Kept' }),
    });
    const contact = (await created.json()) as { id: string };
    const round = await fetch(`${first.graphUrl}/users/alice@contoso.test/contacts/delta`, { headers: auth });
    const deltaLink = ((await round.json()) as { '@odata.deltaLink': string })['@odata.deltaLink'];
    await first.close();

    const second = await startEmulator({ port: 0, dataFile });
    try {
      const again = { authorization: `Bearer ${await fetchToken(second)}`, ...immutable };
      second.admin.createItem('alice@contoso.test', { kind: 'Contact', DisplayName: 'After' });
      const link = deltaLink.replace(first.graphUrl, second.graphUrl);
      const changes = await fetch(link, { headers: again });
      expect(changes.status).toBe(200);
      const body = (await changes.json()) as { value: { displayName: string }[] };
      expect(body.value.map((c) => c.displayName)).toEqual(['After']);
      const read = await fetch(`${second.graphUrl}/users/alice@contoso.test/contacts/${contact.id}`, {
        headers: again,
      });
      expect(read.status).toBe(200);
      expect(((await read.json()) as { id: string }).id).toBe(contact.id);
    } finally {
      await second.close();
    }
  });
});
