import { describe, expect, it } from 'vitest';
import { splitBatches } from '../../src/db/adapters/sqlserver.js';
import {
  listOutboxStatement,
  outboxRecordFromRow,
  readSetUpStatement,
  retryOutboxStatement,
  setUpFromRows,
} from '../../src/db/outbox-admin.js';

/**
 * The statements of exh outbox list|retry and of the clients' exh_set_up look-up, checked on their text for SQL Server
 * and DB2 (no server runs here); PostgreSQL and PGlite run them for real in test/commands/outbox.test.ts.
 */
describe('outbox statements', () => {
  it('lists newest first with each dialect’s row limit and placeholders', () => {
    const filter = { state: 'failed', user: 'a@x.test', limit: 20 } as const;
    expect(listOutboxStatement('sqlserver', filter)).toEqual({
      text:
        'SELECT TOP (20) exh_outbox_id, exh_user, exh_item_type, exh_action, exh_state, exh_attempts, exh_exit_code, ' +
        'exh_error_message, exh_created, exh_completed_at\nFROM exh_outbox\nWHERE exh_state = @p1 AND exh_user = @p2\n' +
        'ORDER BY exh_outbox_id DESC',
      params: ['failed', 'a@x.test'],
    });
    const db2 = listOutboxStatement('db2', filter);
    expect(db2.text).toMatch(
      /WHERE exh_state = \? AND exh_user = \?\nORDER BY exh_outbox_id DESC\nFETCH FIRST 20 ROWS ONLY$/,
    );
    expect(db2.params).toEqual(['failed', 'a@x.test']);
    expect(listOutboxStatement('postgres', { limit: 5 }).text).toMatch(
      /FROM exh_outbox\nORDER BY exh_outbox_id DESC\nLIMIT 5$/,
    );
  });

  it('retries only failed rows, clearing their last outcome, by id, user or all', () => {
    expect(retryOutboxStatement('sqlserver', { id: '42' })).toEqual({
      text:
        "UPDATE exh_outbox\nSET exh_state = N'pending', exh_exit_code = NULL, exh_output_value = NULL, " +
        "exh_error_message = NULL, exh_completed_at = NULL\nWHERE exh_state = N'failed' AND exh_outbox_id = @p1",
      params: [42],
    });
    expect(retryOutboxStatement('db2', { user: 'a@x.test' })).toEqual({
      text:
        "UPDATE exh_outbox\nSET exh_state = 'pending', exh_exit_code = NULL, exh_output_value = NULL, " +
        "exh_error_message = NULL, exh_completed_at = NULL\nWHERE exh_state = 'failed' AND exh_user = ?",
      params: ['a@x.test'],
    });
    expect(retryOutboxStatement('postgres', {}).text).toMatch(/WHERE exh_state = 'failed'$/);
  });

  it('is one batch for SQL Server (no GO inside)', () => {
    expect(splitBatches(retryOutboxStatement('sqlserver', {}).text)).toHaveLength(1);
  });

  it('reads exh_set_up by the parameters the connector writes (exh_ip_addresses in a cluster)', () => {
    expect(readSetUpStatement('sqlserver').text).toBe(
      "SELECT exh_parameter, exh_value FROM exh_set_up WHERE exh_parameter IN (N'exh_ip_address', " +
        "N'exh_ip_address_port', N'exh_listener_token', N'exh_ip_addresses')",
    );
    expect(readSetUpStatement('db2').text).toContain(
      "IN ('exh_ip_address', 'exh_ip_address_port', 'exh_listener_token', 'exh_ip_addresses')",
    );
  });

  it('reads rows as DB2 returns them (upper-case names, padded text, timestamps without an offset)', () => {
    expect(
      setUpFromRows([
        { EXH_PARAMETER: 'exh_ip_address', EXH_VALUE: '10.0.0.5 ' },
        { EXH_PARAMETER: 'exh_ip_address_port', EXH_VALUE: '9988' },
        { EXH_PARAMETER: 'exh_listener_token', EXH_VALUE: 't'.repeat(32) },
      ]),
    ).toEqual({ ipAddress: '10.0.0.5', port: 9988, token: 't'.repeat(32) });
    expect(setUpFromRows([{ exh_parameter: 'exh_ip_address_port', exh_value: 'x' }])).toEqual({});
    expect(
      outboxRecordFromRow({
        EXH_OUTBOX_ID: '7',
        EXH_USER: 'a@x.test',
        EXH_ITEM_TYPE: 'task',
        EXH_ACTION: 'add',
        EXH_STATE: 'failed',
        EXH_ATTEMPTS: 2,
        EXH_EXIT_CODE: 1,
        EXH_ERROR_MESSAGE: 'refused',
        EXH_CREATED: '2026-11-25-10.00.00.000000',
        EXH_COMPLETED_AT: null,
      }),
    ).toEqual({
      id: '7',
      user: 'a@x.test',
      itemType: 'task',
      action: 'add',
      state: 'failed',
      attempts: 2,
      exitCode: 1,
      errorMessage: 'refused',
      createdAt: new Date('2026-11-25T10:00:00Z'),
      completedAt: null,
    });
  });
});
