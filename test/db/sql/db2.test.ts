import { describe, expect, it } from 'vitest';
import { splitStatements } from '../../../src/db/adapters/db2.js';
import { generateScript } from '../../../src/db/commands.js';
import { db2BaseProject } from '../../../src/db/sql/db2.js';
import { routines } from '../../../src/db/sql/routines.js';
import { columnType } from '../../../src/db/sql/types.js';
import { itemTypes } from '../../../src/items/index.js';

/** The DB2 base project as text; against a server: test/db/adapters/db2.test.ts. */
describe('DB2 base project', () => {
  it('DB2: bodies are DBCLOB, other text VARGRAPHIC, and every statement ends with the @ terminator', () => {
    expect(columnType('body', 'db2')).toMatch(/^DBCLOB/);
    expect(columnType('text', 'db2')).toMatch(/^VARGRAPHIC/);
    const [base] = generateScript('db2').files;
    const statements = splitStatements(base?.content ?? '');
    expect(statements.length).toBeGreaterThan(40);
    for (const statement of statements) expect(statement).not.toMatch(/^@$/m);
    expect(base?.content.trimEnd().endsWith('@')).toBe(true);
  });

  it("creates the application's templates only when missing and replaces the connector's procedures, so installing again keeps the application's code", () => {
    const statements = splitStatements(db2BaseProject(itemTypes));
    for (const routine of routines(itemTypes)) {
      const creating = statements.filter((statement) => new RegExp(`PROCEDURE ${routine.name} \\(`).test(statement));
      expect(creating, routine.name).toHaveLength(1);
      const [statement] = creating;
      if (routine.owner === 'application') {
        expect(statement, routine.name).toContain(
          "DECLARE CONTINUE HANDLER FOR SQLSTATE '42723' SET already_there = 1;",
        );
        expect(statement, routine.name).toContain(`EXECUTE IMMEDIATE 'CREATE PROCEDURE ${routine.name} (`);
      } else {
        expect(statement, routine.name).toMatch(new RegExp(`^CREATE OR REPLACE PROCEDURE ${routine.name} \\(`, 'm'));
      }
    }
  });

  it("reads exh_user_source's exh_backend when the view has it, else NULL (the statement prepared again on SQLSTATE 42703)", () => {
    const [getUsers] = splitStatements(db2BaseProject(itemTypes)).filter((s) =>
      s.includes('PROCEDURE exh_get_users ('),
    );
    expect(getUsers).toContain("DECLARE CONTINUE HANDLER FOR SQLSTATE '42703' SET no_backend = 1;");
    expect(getUsers).toContain('CAST(u.exh_backend AS VARGRAPHIC(50)) AS exh_backend FROM exh_user_source');
    expect(getUsers).toContain('CAST(NULL AS VARGRAPHIC(50)) AS exh_backend FROM exh_user_source');
    expect(getUsers).toMatch(/IF no_backend = 1 THEN\s+PREPARE users_query FROM without_backend;/);
  });
});
