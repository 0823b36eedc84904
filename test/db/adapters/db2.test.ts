import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installInto } from '../../../src/db/commands.js';
import { createDatabase } from '../../../src/db/create-database.js';

/**
 * DB2 integration, run when DB2_URL is set (a CLI connection string, e.g.
 * "DATABASE=testdb;HOSTNAME=127.0.0.1;PORT=50000;PROTOCOL=TCPIP;UID=db2inst1;PWD=..."). Each run uses a fresh schema.
 * Needs the ibm_db package with IBM's CLI driver.
 */
const url = process.env.DB2_URL;

describe.skipIf(!url)('DB2 (needs DB2_URL and a working ibm_db)', () => {
  const schema = `EXH_TEST_${randomBytes(4).toString('hex').toUpperCase()}`;
  const db = createDatabase({ type: 'db2', connectionString: `${url};CurrentSchema=${schema}` });

  beforeAll(async () => {
    await db.connect();
    await db.runScript(`CREATE SCHEMA ${schema}\n@\n`);
  }, 120_000);

  afterAll(async () => {
    await db.close();
  });

  it('installs the base project twice and reports users with watermarks', async () => {
    await installInto(db);
    await installInto(db);
    await db.applyChanges({ user: 'ann@example.com', itemType: 'email', changes: [], watermark: 'w1' });
    // The default exh_user_source is empty until the application defines it.
    expect(await db.getUsers()).toEqual([]);
  });

  it('calls the from_exh templates and keeps the watermark in the same transaction', async () => {
    await db.applyChanges({
      user: 'ann@example.com',
      itemType: 'task',
      changes: [{ action: 'add', fields: { item_id: 'A', subject: 'S', reminder_set: true, due: new Date() } }],
      watermark: 'w2',
    });
    await db.writeSetUp({ ipAddress: '127.0.0.1', port: 9988, token: 't' });
    await db.logError({ code: 'EXH_TEST', message: 'logged' });
    expect(await db.readOutbox(10)).toEqual([]);
  });
});
