import { describe, expect, it } from 'vitest';
import { canonicalBoolean, canonicalText } from '../../../emulator/items/values.js';

describe('canonical values', () => {
  it('writes every xs:boolean spelling the schema accepts as true or false', () => {
    for (const raw of ['1', 'true', ' 1 ', '\ttrue\n']) expect(canonicalBoolean(raw), JSON.stringify(raw)).toBe('true');
    for (const raw of ['0', 'false', ' 0', 'false ']) expect(canonicalBoolean(raw), JSON.stringify(raw)).toBe('false');
    // Not a boolean: left as it came (the request check refuses it before it is stored).
    expect(canonicalBoolean('yes')).toBe('yes');
  });

  it('changes only the boolean elements of the item types, by their types.xsd type', () => {
    expect(canonicalText('IsRead', '0')).toBe('false');
    expect(canonicalText('ReminderIsSet', '1')).toBe('true');
    expect(canonicalText('IsAllDayEvent', ' 1 ')).toBe('true');
    expect(canonicalText('HasPicture', '0')).toBe('false');
    expect(canonicalText('IsComplete', '1')).toBe('true');
    // Text and numbers keep what the client sent, 0 and 1 included.
    expect(canonicalText('Subject', '1')).toBe('1');
    expect(canonicalText('ReminderMinutesBeforeStart', '0')).toBe('0');
    expect(canonicalText('PercentComplete', '1')).toBe('1');
  });
});
