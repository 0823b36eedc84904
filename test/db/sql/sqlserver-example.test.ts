import { describe, expect, it } from 'vitest';
import { applyingFlag } from '../../../src/db/adapters/installable.js';
import { splitBatches } from '../../../src/db/adapters/sqlserver.js';
import { routines } from '../../../src/db/sql/routines.js';
import { applyingKey, sqlServerExampleApp } from '../../../src/db/sql/sqlserver-example.js';
import { itemActions, itemTypes } from '../../../src/items/index.js';

/**
 * The SQL Server example application as text (its templates' parameters: scripts.test.ts; its columns and batches:
 * sqlserver.test.ts; against a server: test/db/adapters/sqlserver.test.ts).
 */
describe('SQL Server example application', () => {
  const batches = splitBatches(sqlServerExampleApp(itemTypes)).map((batch) => batch.replace(/^--.*$/gm, '').trim());

  it('replaces every template of the base project with a filled-in procedure, so that it can be installed again', () => {
    for (const routine of routines(itemTypes).filter((r) => r.owner === 'application')) {
      expect(
        batches.filter((batch) => batch.startsWith(`CREATE OR ALTER PROCEDURE ${routine.name}\n`)),
        routine.name,
      ).toHaveLength(1);
    }
  });

  it('gives every table a trigger per change that skips what the connector itself writes, the flag the adapter sets', () => {
    expect(applyingKey).toBe(applyingFlag);
    for (const definition of itemTypes) {
      for (const action of itemActions) {
        const trigger = batches.find((batch) =>
          batch.startsWith(`CREATE OR ALTER TRIGGER ${definition.name}_item_to_exh_${action} `),
        );
        expect(trigger, `${definition.name} ${action}`).toContain(
          `IF CAST(SESSION_CONTEXT(N'${applyingFlag}') AS BIGINT) = CURRENT_TRANSACTION_ID() RETURN;`,
        );
        expect(trigger).toContain(`EXEC @exit_code = ${definition.procedures.toExh[action]}`);
      }
    }
  });
});
