import { EmailAddress } from 'ews-javascript-api';
import { describe, expect, it } from 'vitest';
import { codeOf, errorCodeOf, ewsService, soap, startTestEmulator } from '../support/harness.js';

const emulator = await startTestEmulator();
const alice = ewsService(emulator, 'alice@contoso.test');

describe('GetRoomLists / GetRooms', () => {
  it('answers an empty list of room lists, as an organization without any', async () => {
    const lists = await alice.GetRoomLists();
    expect(lists.Count).toBe(0);
    const raw = await soap(emulator, '<m:GetRoomLists/>', { impersonate: 'alice@contoso.test' });
    expect(codeOf(raw)).toBe('NoError');
    expect(raw.text).toMatch(
      /<m:GetRoomListsResponse [^>]*ResponseClass="Success"><m:ResponseCode>NoError<\/m:ResponseCode><m:RoomLists\/>/,
    );
  });

  it('answers GetRooms for any list with ErrorNameResolutionNoResults', async () => {
    expect(await errorCodeOf(() => alice.GetRooms(new EmailAddress('rooms@contoso.test')))).toBe(
      'ErrorNameResolutionNoResults',
    );
  });
});
