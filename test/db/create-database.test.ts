import { describe, expect, it } from 'vitest';
import { createDatabase } from '../../src/db/create-database.js';
import { isExhError } from '../../src/errors.js';

const ibmDbLoads = await import('ibm_db').then(
  () => true,
  () => false,
);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('createDatabase', () => {
  it('builds every adapter without loading a driver or opening a connection', () => {
    expect(
      createDatabase({ type: 'db2', connectionString: 'DATABASE=app;HOSTNAME=h;PORT=50000;UID=u;PWD=p' }),
    ).toMatchObject({
      type: 'db2',
      target: 'db2://u@h:50000/app',
    });
    expect(
      createDatabase({ type: 'sqlserver', connectionString: 'Server=h;Database=app;User Id=u;Password=p' }),
    ).toMatchObject({
      type: 'sqlserver',
      target: 'mssql://u@h:1433/app',
    });
    expect(createDatabase({ type: 'pglite' })).toMatchObject({ type: 'pglite', target: 'pglite:memory' });
  });

  it('refuses a server database without a connection string, naming the key', () => {
    expect(() => createDatabase({ type: 'postgres' })).toThrow(/database.connectionString/);
  });

  it.skipIf(ibmDbLoads)('names the ibm_db package when DB2 is configured and its driver cannot load', async () => {
    const db = createDatabase({ type: 'db2', connectionString: 'DATABASE=app;HOSTNAME=127.0.0.1;PORT=1;UID=u;PWD=p' });
    const error = await rejection(db.connect());
    expect(isExhError(error, 'EXH_DB_DRIVER_MISSING')).toBe(true);
    expect((error as Error).message).toContain('npm install-scripts approve ibm_db && npm rebuild ibm_db');
  });

  it('reports a SQL Server port where nothing listens as EXH_DB_CONNECTION_REFUSED (mssql and tedious for real)', async () => {
    const db = createDatabase({
      type: 'sqlserver',
      connectionString: 'Server=127.0.0.1,1;Database=app;User Id=u;Password=p;Encrypt=false;Connect Timeout=5',
    });
    const error = await rejection(db.connect());
    expect(isExhError(error, 'EXH_DB_CONNECTION_REFUSED')).toBe(true);
    expect((error as Error).message).toContain('Check that the database server is running');
    expect((error as Error).message).toContain('mssql://u@127.0.0.1:1/app');
    expect((error as Error).message).not.toContain('Password=p');
  });
});
