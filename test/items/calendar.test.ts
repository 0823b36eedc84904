import { describe, expect, it } from 'vitest';
import { calendar } from '../../src/items/calendar.js';

/** What the calendar type adds to the generic flow (src/items/calendar.ts); its fields: test/items/definitions.test.ts. */
describe('calendar', () => {
  const userMayChange = (row: Record<string, string | null>, user: string) =>
    calendar.behaviour.userMayChange?.(row, user);

  it('lets only the organizer change a meeting, whatever the case of the addresses', () => {
    expect(userMayChange({ organizer: 'alice@contoso.test' }, 'alice@contoso.test')).toBe(true);
    expect(userMayChange({ organizer: 'Alice@Contoso.test' }, 'alice@CONTOSO.test')).toBe(true);
    expect(userMayChange({ organizer: 'alice@contoso.test' }, 'bob@contoso.test')).toBe(false);
  });

  it('lets the user change an appointment without an organizer (one the application has not sent yet)', () => {
    expect(userMayChange({}, 'bob@contoso.test')).toBe(true);
    expect(userMayChange({ organizer: null }, 'bob@contoso.test')).toBe(true);
    expect(userMayChange({ organizer: '' }, 'bob@contoso.test')).toBe(true);
  });
});
