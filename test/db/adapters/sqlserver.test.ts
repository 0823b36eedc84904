import { randomBytes } from 'node:crypto';
import mssql, { type ConnectionPool } from 'mssql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstallableDatabase } from '../../../src/db/adapters/installable.js';
import { encodeAttachmentInfo } from '../../../src/db/attachment-info.js';
import { installInto } from '../../../src/db/commands.js';
import { createDatabase } from '../../../src/db/create-database.js';
import { isExhError } from '../../../src/errors.js';

/**
 * SQL Server integration, run when MSSQL_URL is set (an ADO.NET connection string of a login that may create
 * databases, e.g. "Server=127.0.0.1,1433;User Id=sa;Password=...;Encrypt=false"). Each run uses a fresh database.
 */
const url = process.env.MSSQL_URL;

describe.skipIf(!url)('SQL Server (needs MSSQL_URL)', () => {
  const database = `exh_test_${randomBytes(6).toString('hex')}`;
  const connectionString = `${url};Database=${database}`;
  let admin: ConnectionPool;
  let raw: ConnectionPool;
  let db: InstallableDatabase;
  const sql = async (text: string) => (await raw.request().query(text)).recordset;

  beforeAll(async () => {
    admin = await new mssql.ConnectionPool(url ?? '').connect();
    await admin.request().batch(`CREATE DATABASE ${database}`);
    raw = await new mssql.ConnectionPool(connectionString).connect();
    db = createDatabase({ type: 'sqlserver', connectionString });
    await db.connect();
  }, 120_000);

  afterAll(async () => {
    await db?.close();
    await raw?.close();
    await admin
      ?.request()
      .batch(`ALTER DATABASE ${database} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${database};`);
    await admin?.close();
  });

  it('names the missing object before the base project is installed', async () => {
    const error = await db.getUsers().catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_DB_BASE_PROJECT_MISSING')).toBe(true);
    expect((error as Error).message).toContain('exh_get_users');
  });

  it('installs the base project and the example application twice', async () => {
    await installInto(db, { exampleApp: true });
    await installInto(db, { exampleApp: true });
    const procedures = await sql(`SELECT COUNT(*) AS n FROM sys.procedures WHERE name LIKE 'exh[_]%'`);
    expect(procedures[0]?.n).toBe(4 * 7 + 4);
  });

  it('applies changes with case-sensitive item ids, NULL leaving and empty clearing values', async () => {
    const user = 'ann@example.com';
    await db.applyChanges({
      user,
      itemType: 'calendar',
      changes: [
        { action: 'add', fields: { item_id: 'AAMk=', subject: 'Upper', location: 'Room' } },
        { action: 'add', fields: { item_id: 'aamk=', subject: 'Lower' } },
        { action: 'chg', fields: { item_id: 'AAMk=', subject: null, location: '' } },
      ],
      watermark: 'w1',
    });
    expect(await sql(`SELECT exh_item_id, exh_subject, exh_location FROM calendar_item ORDER BY id`)).toEqual([
      { exh_item_id: 'AAMk=', exh_subject: 'Upper', exh_location: null },
      { exh_item_id: 'aamk=', exh_subject: 'Lower', exh_location: null },
    ]);
    await sql(`INSERT INTO app_user (exh_user) VALUES (N'${user}')`);
    expect((await db.getUsers())[0]).toMatchObject({ user, watermarks: { calendar: 'w1' }, sync: { calendar: true } });
    // Rows the connector wrote did not go back to Exchange.
    expect(await db.readOutbox(10)).toEqual([]);
  });

  it('keeps neither rows nor the watermark when a change fails half-way', async () => {
    const user = 'half@example.com';
    await sql(`ALTER TABLE calendar_item ADD CONSTRAINT refuse_boom CHECK (exh_subject <> N'boom')`);
    try {
      const error = await db
        .applyChanges({
          user,
          itemType: 'calendar',
          changes: [
            { action: 'add', fields: { item_id: 'H1', subject: 'first' } },
            { action: 'add', fields: { item_id: 'H2', subject: 'boom' } },
          ],
          watermark: 'w2',
        })
        .catch((e: unknown) => e);
      expect(isExhError(error, 'EXH_DB_PROCEDURE_FAILED')).toBe(true);
    } finally {
      await sql('ALTER TABLE calendar_item DROP CONSTRAINT refuse_boom');
    }
    expect(await sql(`SELECT exh_item_id FROM calendar_item WHERE exh_user = N'${user}'`)).toEqual([]);
    expect(await sql(`SELECT exh_user FROM exh_watermark WHERE exh_user = N'${user}'`)).toEqual([]);
  });

  it("sends the application's changes to the outbox and splits attachment info like TypeScript", async () => {
    const user = 'app@example.com';
    await sql(`INSERT INTO task_item (exh_app_item_id, exh_user, exh_subject) VALUES (N'app-1', N'${user}', N'Call')`);
    const [entry] = (await db.readOutbox(10)).filter((e) => e.user === user);
    expect(entry).toMatchObject({ itemType: 'task', action: 'add', fields: { app_item_id: 'app-1', subject: 'Call' } });

    const attachments = [
      { name: 'a: b; c%.txt', id: 'AAMk/+=' },
      { name: ' edge ', id: 'x' },
    ];
    const info = encodeAttachmentInfo(attachments).replaceAll("'", "''");
    expect(
      await sql(
        `SELECT exh_attachment_name AS name, exh_attachment_id AS id FROM exh_split_attachment_info(N'${info}') ORDER BY exh_attachment_position`,
      ),
    ).toEqual(attachments);
  });
});

/**
 * getItems without a server: the adapter's driver handles (pool, mssql) replaced by a double that answers the
 * procedure call with what SQL Server's driver gives — no result set at all, or columns named as a template wrote them.
 */
describe('SQL Server getItems (no server needed)', () => {
  function adapterAnswering(recordset: Array<Record<string, unknown>> | undefined) {
    const db = createDatabase({ type: 'sqlserver', connectionString: 'Server=127.0.0.1,1;User Id=sa;Password=x' });
    const request = {
      input: () => request,
      execute: async () => ({ recordset, recordsets: recordset ? [recordset] : [] }),
    };
    const type = () => ({});
    Object.assign(db, { pool: { request: () => request }, mssql: { NVarChar: type, DateTimeOffset: type } });
    return db;
  }

  it('gives no items when the procedure returns no result set', async () => {
    expect(await adapterAnswering(undefined).getItems('email', 'ann@example.com', {})).toEqual([]);
  });

  it('reads columns whatever their case, as the DB2 adapter does', async () => {
    const items = await adapterAnswering([
      { EXH_APP_ITEM_ID: 'app-1', Exh_Subject: 'Upper', exh_item_id: 'AAMk=' },
    ]).getItems('email', 'ann@example.com', {});
    expect(items).toEqual([{ app_item_id: 'app-1', subject: 'Upper', item_id: 'AAMk=' }]);
  });
});
