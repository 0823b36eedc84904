import { readFileSync } from 'node:fs';
import mssql from 'mssql';
import { describe, expect, it } from 'vitest';
import {
  convertDb2ConnectionString,
  convertSqlServerConnectionString,
  migrateServiceConfig,
} from '../../src/config/migrate.js';
import { isExhError } from '../../src/errors.js';

const sample = new URL('../fixtures/ExchangeSyncService.exe.config', import.meta.url);
const sampleXml = readFileSync(sample, 'utf8');

function withAppSettings(settings: string, connection = 'Server=db;Database=app;User Id=u;Password=p'): string {
  return `<configuration><appSettings>${settings}</appSettings><connectionStrings>
    <add name="db" connectionString="${connection}"/></connectionStrings></configuration>`;
}

const required =
  '<add key="DatabaseType" value="SQLServer"/><add key="ImpersonationUser" value="svc@x.test"/>' +
  '<add key="ImpersonationPassword" value="pw"/>';

describe('migrateServiceConfig on the sample of the original configuration', () => {
  const { config, notes } = migrateServiceConfig(sampleXml);

  it('carries every seed setting over under its key', () => {
    expect(config).toEqual({
      database: {
        type: 'sqlserver',
        connectionString: 'Server=sql01.contoso.local,1433;Database=crm;User Id=exh;Password="Sql;P@ss";Encrypt=false',
      },
      exchange: {
        concurrency: 16,
        enableScpLookup: false,
        timeoutMs: 120_000,
        impersonationUser: 'svc-exchange@contoso.com',
        impersonationPassword: 'Imp3rsonate!',
        ignoreSsl: false,
        staticEwsUrl: 'https://outlook.office365.com/ews/Exchange.asmx',
        version: 'Exchange2013_SP1',
      },
      listeners: { log: { port: 8888 }, database: { port: 9988, host: '0.0.0.0' } },
      sync: { htmlBody: true, maxBodyLength: 64_000, maxSyncedRecurrences: 25, meetingRequestsResponses: true },
    });
  });

  it('gives the sqlserver adapter a connection string mssql reads as the original meant it', () => {
    const parsed = mssql.ConnectionPool.parseConnectionString(String(config.database.connectionString));
    expect(parsed).toMatchObject({
      server: 'sql01.contoso.local',
      port: 1433,
      database: 'crm',
      user: 'exh',
      password: 'Sql;P@ss',
      options: { encrypt: false },
    });
  });

  it('names every setting it does not carry over, with why', () => {
    const settings = notes.map((n) => n.setting);
    expect(settings).toEqual(
      expect.arrayContaining([
        'ClientSettingsProvider.ServiceUri',
        'connectionStrings/ExchangeSync',
        '<log4net>',
        '<startup>',
        '(notifications)',
        'StaticEwsUrl',
      ]),
    );
    const connection = notes.filter((n) => n.setting === 'connectionStrings/ExchangeSync').map((n) => n.reason);
    expect(connection.join('\n')).toMatch(/multipleactiveresultsets dropped/);
    expect(connection.join('\n')).toMatch(/Encrypt=false added/);
  });

  it('says how to log on where the original let Windows negotiate', () => {
    expect(notes.find((n) => n.setting === 'StaticEwsUrl')?.reason).toMatch(/exchange\.auth: oauth/);
    const onPremises = migrateServiceConfig(withAppSettings(required)).notes;
    expect(onPremises.find((n) => n.setting === 'ImpersonationUser')?.reason).toMatch(/exchange\.auth: ntlm/);
  });
});

describe('migrateServiceConfig edge cases', () => {
  it('maps iSeries to db2 and converts the .NET provider string to a DB2 CLI string', () => {
    const { config } = migrateServiceConfig(
      withAppSettings(
        '<add key="DatabaseType" value="iSeries"/><add key="ImpersonationUser" value="svc@x.test"/>' +
          '<add key="ImpersonationPassword" value="pw"/><add key="MaxSyncedRecurrences" value=""/>',
        'DataSource=as400.contoso.local;UserID=EXH;Password=pw;DefaultCollection=CRM;CheckConnectionOnOpen=true;EnablePreFetch=false;Database=S1234567',
      ),
    );
    expect(config.database).toEqual({
      type: 'db2',
      connectionString:
        'HOSTNAME=as400.contoso.local;UID=EXH;PWD=pw;CurrentSchema=CRM;CheckConnectionOnOpen=true;EnablePreFetch=false;DATABASE=S1234567;PORT=446;PROTOCOL=TCPIP',
    });
    expect(config.sync).toEqual({ maxSyncedRecurrences: 0 });
  });

  it('refuses Windows authentication with a note that says what to use instead', () => {
    const { notes } = convertSqlServerConnectionString('Server=sql01;Database=crm;Integrated Security=SSPI');
    expect(notes.join('\n')).toMatch(/Windows authentication\) cannot be carried over.*User Id=DOMAIN\\user/s);
  });

  it('keeps Encrypt as the original set it', () => {
    expect(convertSqlServerConnectionString('Server=a;User Id=u;Password=p;Encrypt=True').connectionString).toBe(
      'Server=a;User Id=u;Password=p;Encrypt=True',
    );
  });

  it('takes the port of a DB2 host:port', () => {
    expect(convertDb2ConnectionString('Server=db2host:50000;Database=SAMPLE;UID=u;PWD=p').connectionString).toBe(
      'HOSTNAME=db2host;PORT=50000;DATABASE=SAMPLE;UID=u;PWD=p;PROTOCOL=TCPIP',
    );
  });

  it('reads ExchangeVersion by name as well as by number', () => {
    const { config } = migrateServiceConfig(
      withAppSettings(`${required}<add key="ExchangeVersion" value="Exchange2010_SP2"/>`),
    );
    expect(config.exchange.version).toBe('Exchange2010_SP2');
  });

  it('names the setting and the value it cannot read', () => {
    const error = (() => {
      try {
        migrateServiceConfig(withAppSettings(`${required}<add key="HtmlBody" value="sometimes"/>`));
      } catch (e) {
        return e;
      }
    })();
    expect(isExhError(error, 'EXH_CONFIG_MIGRATE_UNREADABLE')).toBe(true);
    expect((error as Error).message).toContain('HtmlBody="sometimes" is not true or false');
  });

  it('says what exh still needs when the original ran as its Windows account', () => {
    const error = (() => {
      try {
        migrateServiceConfig(withAppSettings('<add key="DatabaseType" value="SQLServer"/>'));
      } catch (e) {
        return e;
      }
    })();
    expect(isExhError(error, 'EXH_CONFIG_MIGRATE_INCOMPLETE')).toBe(true);
    expect((error as Error).message).toContain('exchange.impersonationUser');
  });

  it('names appSettings kept in another file, which it does not read', () => {
    const xml = withAppSettings(required).replace('<appSettings>', '<appSettings file="secrets.config">');
    expect(migrateServiceConfig(xml).notes).toContainEqual({
      setting: '<appSettings file="secrets.config">',
      reason: 'settings kept in another file are not read; run exh config migrate on a copy with them inlined',
    });
  });

  it('refuses broken XML with its line and a file that is not a .NET configuration', () => {
    expect(() => migrateServiceConfig('<configuration>\n<appSettings>\n</configuration>')).toThrow(/line 3/);
    // Tags left open at the end: named, with where the file ends and what to add (not a printed array at line 1).
    expect(() => migrateServiceConfig('<configuration>\n  <appSettings>\n    <add key="LogPort" value="1"/>')).toThrow(
      'The original configuration cannot be read: broken XML at line 3, column 35 (the end of the file): ' +
        '<configuration>, <appSettings> are never closed; add the missing closing tag (</appSettings></configuration>) ' +
        'or use a complete copy of the file. Fix it and run again.',
    );
    expect(() => migrateServiceConfig('<configuration><appSettings><add key="a"></appSettings>')).toThrow(
      /line 1, column \d+: Expected closing tag 'add' \(opened in line 1, col 29\) instead of closing tag 'appSettings'\. Fix/,
    );
    expect(() => migrateServiceConfig('<settings><a/></settings>')).toThrow(/not the original service's configuration/);
  });
});
