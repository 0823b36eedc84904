import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { generateScript, installBaseProject, installInto, writeScripts } from '../../src/db/commands.js';
import { createDatabase } from '../../src/db/create-database.js';
import { isExhError } from '../../src/errors.js';
import { inSchema } from './pg-schema.js';

const url = process.env.PG_URL;
const temporary: string[] = [];
afterAll(async () => {
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function temporaryDirectory(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'exh-db-'));
  temporary.push(dir);
  return dir;
}

describe('db commands', () => {
  it('writes every dialect’s scripts where the repository keeps them', async () => {
    const dir = await temporaryDirectory();
    const { written } = await writeScripts(dir);
    expect(written).toEqual([
      'sql/postgres/base-project.sql',
      'sql/postgres/example-app.sql',
      'sql/postgres/sync-sender.sql',
      'sql/mssql/base-project.sql',
      'sql/mssql/example-app.sql',
      'sql/db2/base-project.sql',
    ]);
    const [db2] = generateScript('db2').files;
    expect(await readFile(join(dir, 'sql/db2/base-project.sql'), 'utf8')).toBe(db2?.content);
  });

  it('installs into a PGlite data directory twice, and the base project is there when it is opened again', async () => {
    const dataDir = join(await temporaryDirectory(), 'pglite');
    const config = { type: 'pglite' as const, dataDir };
    const expected = { applied: ['sql/postgres/base-project.sql', 'sql/postgres/example-app.sql'] };
    expect(await installBaseProject(config, { exampleApp: true })).toEqual(expected);
    expect(await installBaseProject(config, { exampleApp: true })).toEqual(expected);
    const db = createDatabase(config);
    await db.connect();
    try {
      await db.applyChanges({ user: 'ann@example.com', itemType: 'task', changes: [], watermark: 'w' });
      expect(await db.getUsers()).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it.skipIf(!url)('installs into a fresh PostgreSQL schema twice (needs PG_URL)', async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const schema = `exh_test_${randomBytes(6).toString('hex')}`;
    await admin.query(`CREATE SCHEMA ${schema}`);
    try {
      const config = { type: 'postgres' as const, connectionString: inSchema(url ?? '', schema) };
      await installBaseProject(config);
      expect(await installBaseProject(config, { exampleApp: true })).toEqual({
        applied: ['sql/postgres/base-project.sql', 'sql/postgres/example-app.sql'],
      });
      const tables = await admin.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
        [schema],
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual([
        'app_user',
        'calendar_item',
        'contact_item',
        'email_item',
        'exh_item_version',
        'exh_lease',
        'exh_log',
        'exh_meeting',
        'exh_member',
        'exh_outbox',
        'exh_set_up',
        'exh_user_source',
        'exh_watermark',
        'task_item',
      ]);
    } finally {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
    }
  });

  it('has no example application for DB2 and says so before touching the database', async () => {
    const db = createDatabase({ type: 'db2', connectionString: 'DATABASE=app;HOSTNAME=127.0.0.1;PORT=1' });
    const error = await installInto(db, { exampleApp: true }).catch((e: unknown) => e);
    expect(isExhError(error, 'EXH_DB_UNSUPPORTED')).toBe(true);
    expect((error as Error).message).toContain('--example-app');
  });
});
