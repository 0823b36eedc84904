import { describe, expect, it } from 'vitest';
import { db2Target, parseKeyValueString, postgresTarget, sqlServerTarget } from '../../src/db/target.js';

describe('printable database targets', () => {
  it('names host, port, database and user, never the password', () => {
    expect(postgresTarget('postgres://postgres:s3cret@127.0.0.1:5433/test?options=-c%20search_path%3Dx')).toBe(
      'postgres://postgres@127.0.0.1:5433/test',
    );
    expect(postgresTarget('postgres://db.example.com/app')).toBe('postgres://db.example.com:5432/app');
    expect(
      sqlServerTarget('Server=tcp:sql.example.com,1444;Database=app;User Id=exh;Password=s3cret;Encrypt=true'),
    ).toBe('mssql://exh@sql.example.com:1444/app');
    expect(sqlServerTarget('mssql://exh:s3cret@sql.example.com/app')).toBe('mssql://exh@sql.example.com:1433/app');
    expect(db2Target('DATABASE=sample;HOSTNAME=db2.example.com;PORT=50001;PROTOCOL=TCPIP;UID=exh;PWD=s3cret;')).toBe(
      'db2://exh@db2.example.com:50001/sample',
    );
    for (const target of [
      postgresTarget('postgres://u:s3cret@h/d'),
      sqlServerTarget('Server=h;Password=s3cret'),
      db2Target('PWD=s3cret;HOSTNAME=h'),
    ]) {
      expect(target).not.toContain('s3cret');
    }
  });

  it('reads quoted values in key=value connection strings', () => {
    const values = parseKeyValueString(`Server=h; Password="a;b""c"; Application Name={x;}}y}`);
    expect(values.get('password')).toBe('a;b"c');
    expect(values.get('application name')).toBe('x;}y');
    expect(values.get('server')).toBe('h');
  });
});
