import { describe, expect, it } from 'vitest';
import { splitBatches } from '../../../src/db/adapters/sqlserver.js';
import { generateScript } from '../../../src/db/commands.js';
import { routines } from '../../../src/db/sql/routines.js';
import { sqlServerBaseProject } from '../../../src/db/sql/sqlserver.js';
import { itemTypes } from '../../../src/items/index.js';

/** The SQL Server scripts as text; against a server: test/db/adapters/sqlserver.test.ts. */
describe('SQL Server base project', () => {
  it('SQL Server: item ids are case-sensitive, bodies NVARCHAR(MAX), and CREATE OR ALTER starts its own batch', () => {
    const [base, example] = generateScript('sqlserver').files;
    expect(example?.content).toContain('exh_item_id NVARCHAR(512) COLLATE Latin1_General_CS_AS NULL');
    expect(example?.content).toMatch(/exh_body NVARCHAR\(MAX\) NULL/);
    expect(base?.content).toContain('RETURN 1;');
    for (const file of [base, example]) {
      for (const batch of splitBatches(file?.content ?? '')) {
        const code = batch.replace(/^--.*$/gm, '').trim();
        if (/CREATE OR ALTER/.test(code)) expect(code, code.slice(0, 80)).toMatch(/^CREATE OR ALTER/);
      }
    }
  });

  it("creates the application's templates only when missing and replaces the connector's procedures, so installing again keeps the application's code", () => {
    const script = sqlServerBaseProject(itemTypes);
    for (const routine of routines(itemTypes)) {
      const guarded = `IF OBJECT_ID(N'${routine.name}', N'P') IS NULL\n  EXEC (N'CREATE PROCEDURE ${routine.name}\n`;
      const replaced = `CREATE OR ALTER PROCEDURE ${routine.name}\n`;
      if (routine.owner === 'application') {
        expect(script, routine.name).toContain(guarded);
        expect(script, routine.name).not.toContain(replaced);
      } else {
        expect(script, routine.name).toContain(replaced);
        expect(script, routine.name).not.toContain(guarded);
      }
    }
  });

  it("reads exh_user_source's exh_backend only when the view has it (COL_LENGTH), else returns NULL for it", () => {
    const [getUsers] = splitBatches(sqlServerBaseProject(itemTypes)).filter((b) =>
      b.includes('PROCEDURE exh_get_users'),
    );
    expect(getUsers).toMatch(
      /IF COL_LENGTH\('exh_user_source', 'exh_backend'\) IS NOT NULL\s+EXEC sp_executesql N'SELECT[\s\S]*CAST\(u\.exh_backend AS NVARCHAR\(50\)\) AS exh_backend[\s\S]*';\s+ELSE\s+SELECT[\s\S]*CAST\(NULL AS NVARCHAR\(50\)\) AS exh_backend/,
    );
  });
});
