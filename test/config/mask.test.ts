import { describe, expect, it } from 'vitest';
import { maskConnectionString, maskSecrets } from '../../src/config/mask.js';

describe('maskSecrets', () => {
  it('masks passwords and tokens wherever they are, and only the password inside a connection string', () => {
    const masked = maskSecrets({
      database: { type: 'postgres', connectionString: 'postgres://exh:s3cret@db:5432/app' },
      exchange: { impersonationUser: 'svc@contoso.test', impersonationPassword: 'Pa55word!', oauthToken: 'eyJ0' },
      listeners: {
        database: { token: 'abcdefghijklmnopqrstuvwx', port: 9988 },
        http: { adminToken: 'admin-token-123456' },
      },
    });
    expect(masked).toEqual({
      database: { type: 'postgres', connectionString: 'postgres://exh:***@db:5432/app' },
      exchange: { impersonationUser: 'svc@contoso.test', impersonationPassword: '***', oauthToken: '***' },
      listeners: { database: { token: '***', port: 9988 }, http: { adminToken: '***' } },
    });
  });

  it('masks the keyword forms of SQL Server and DB2 connection strings', () => {
    expect(maskConnectionString('Server=sql1;Database=app;User Id=exh;Password=Pa55word;Encrypt=true')).toBe(
      'Server=sql1;Database=app;User Id=exh;Password=***;Encrypt=true',
    );
    expect(maskConnectionString('DATABASE=APP;HOSTNAME=db2;PORT=50000;UID=exh;PWD={p;w};')).toBe(
      'DATABASE=APP;HOSTNAME=db2;PORT=50000;UID=exh;PWD=***;',
    );
    expect(maskConnectionString('postgres://exh@db:5432/app')).toBe('postgres://exh@db:5432/app');
  });
});
