import {
  Appointment,
  BasePropertySet,
  Contact,
  DateTime,
  ExtendedPropertyDefinition,
  Guid,
  ItemId,
  MapiPropertyType,
  PropertySet,
  SendInvitationsMode,
} from 'ews-javascript-api';
import { afterAll, describe, expect, it } from 'vitest';
import { ewsSchema, schemaChecks } from '../../support/ews-schema.js';
import { ewsService } from '../support/harness.js';
import { appIdProperty, immutable, startGraph } from './support.js';

/**
 * One store, two protocols: an item written over EWS (through the emulator's EWS endpoint, with the real
 * ews-javascript-api) is read over Graph with the same extended property, and one written over Graph is read over EWS
 * (its EWS answers validated against messages.xsd).
 */

const graph = await startGraph({ validateResponses: true, ...(ewsSchema ? { schemaDirectory: ewsSchema } : {}) });
// What EWS answered about items written over Graph validates against messages.xsd, as every EWS answer does.
afterAll(async () => {
  if (schemaChecks) await graph.emulator.admin.validateResponses();
});
const alice = 'alice@contoso.test';
const service = ewsService(graph.emulator, alice);
const stamp = new ExtendedPropertyDefinition(
  new Guid('c11ff724-aa03-4555-9952-8fa248a11c3e'),
  'exh_app_item_id',
  MapiPropertyType.String,
);

describe('EWS and Graph over one store', () => {
  it('reads over Graph an appointment created over EWS, stamp and all, and finds it by the stamp', async () => {
    const appointment = new Appointment(service);
    appointment.Subject = 'From EWS';
    appointment.Start = new DateTime(Date.UTC(2030, 5, 1, 12));
    appointment.End = new DateTime(Date.UTC(2030, 5, 1, 13));
    appointment.SetExtendedProperty(stamp, 'ews-app-1');
    await appointment.Save(SendInvitationsMode.SendToNone);
    const filter = `singleValueExtendedProperties/Any(ep: ep/id eq '${appIdProperty}' and ep/value eq 'ews-app-1')`;
    const found = await graph.call<{ value: Record<string, unknown>[] }>(
      'GET',
      `/users/${alice}/events?$filter=${encodeURIComponent(filter)}&$expand=singleValueExtendedProperties($filter=id eq '${appIdProperty}')`,
    );
    expect(found.body.value).toEqual([
      expect.objectContaining({
        subject: 'From EWS',
        start: { dateTime: '2030-06-01T12:00:00.0000000', timeZone: 'UTC' },
        singleValueExtendedProperties: [{ id: appIdProperty, value: 'ews-app-1' }],
      }),
    ]);
    const translated = await graph.call<{ value: { targetId: string }[] }>(
      'POST',
      `/users/${alice}/translateExchangeIds`,
      {
        body: { inputIds: [appointment.Id.UniqueId], sourceIdType: 'ewsId', targetIdType: 'restId' },
      },
    );
    expect(translated.body.value[0]?.targetId).toBe(found.body.value[0]?.id);
  });

  it('reads over EWS a contact created over Graph, with the stamp the Graph adapter writes', async () => {
    const created = await graph.call('POST', `/users/${alice}/contacts`, {
      body: {
        givenName: 'Gus',
        surname: 'Graph',
        emailAddresses: [{ address: 'gus@example.com' }],
        singleValueExtendedProperties: [{ id: appIdProperty, value: 'graph-app-1' }],
      },
      headers: immutable,
    });
    const ewsId = await graph.call<{ value: { targetId: string }[] }>('POST', `/users/${alice}/translateExchangeIds`, {
      body: { inputIds: [created.body.id], sourceIdType: 'restImmutableEntryId', targetIdType: 'ewsId' },
    });
    const contact = await Contact.Bind(
      service,
      new ItemId(ewsId.body.value[0]?.targetId ?? ''),
      new PropertySet(BasePropertySet.FirstClassProperties, [stamp]),
    );
    expect(contact.GivenName).toBe('Gus');
    expect(contact.Surname).toBe('Graph');
    const value = { outValue: null as unknown };
    expect(contact.ExtendedProperties.TryGetValue(stamp, value)).toBe(true);
    expect(value.outValue).toBe('graph-app-1');
  });

  it('sees a change made over EWS in the Graph delta, and one made over Graph in the EWS item', async () => {
    const created = await graph.call('POST', `/users/${alice}/contacts`, { body: { displayName: 'Delta Dan' } });
    const first = await graph.call<{ '@odata.deltaLink': string }>('GET', `/users/${alice}/contacts/delta`);
    const ewsId =
      graph.emulator.admin.items(alice, 'contacts').find((c) => c.properties.DisplayName === 'Delta Dan')?.id ?? '';
    graph.emulator.admin.updateItem(alice, ewsId, { JobTitle: 'Diver' });
    const changes = await graph.get<{ value: Record<string, unknown>[] }>(first.body['@odata.deltaLink']);
    expect(changes.body.value).toEqual([expect.objectContaining({ id: created.body.id, jobTitle: 'Diver' })]);
    await graph.call('PATCH', `/users/${alice}/contacts/${created.body.id}`, { body: { jobTitle: 'Driver' } });
    const contact = await Contact.Bind(service, new ItemId(ewsId));
    expect(contact.JobTitle).toBe('Driver');
  });

  it('reads EWS InReplyTo as the MAPI property String 0x1042 (and writes it back there), the item class as 0x001A', async () => {
    const inReplyTo = 'String 0x1042';
    const ews = graph.emulator.admin.createItem(alice, { kind: 'Message', Subject: 'Reply', InReplyTo: '<a@b>' });
    const [restId] = (
      await graph.call<{ value: { targetId: string }[] }>('POST', `/users/${alice}/translateExchangeIds`, {
        body: { inputIds: [ews?.id], sourceIdType: 'ewsId', targetIdType: 'restId' },
      })
    ).body.value.map((v) => v.targetId);
    const read = await graph.call(
      'GET',
      `/users/${alice}/messages/${restId}?$expand=singleValueExtendedProperties($filter=id eq '${inReplyTo}')`,
    );
    expect(read.body.singleValueExtendedProperties).toEqual([{ id: inReplyTo, value: '<a@b>' }]);
    await graph.call('PATCH', `/users/${alice}/messages/${restId}`, {
      body: { singleValueExtendedProperties: [{ id: inReplyTo, value: '<c@d>' }] },
    });
    expect(graph.emulator.admin.item(alice, ews?.id ?? '').properties.InReplyTo).toBe('<c@d>');
    graph.emulator.admin.createItem(alice, {
      kind: 'CalendarItem',
      Subject: 'Invitation',
      Start: '2030-07-01T10:00:00Z',
      End: '2030-07-01T11:00:00Z',
      RequiredAttendees: ['bob@contoso.test'],
    });
    const messageClass = 'String 0x001a';
    const classes = await graph.call<{ value: { singleValueExtendedProperties: { id: string; value: string }[] }[] }>(
      'GET',
      `/users/bob@contoso.test/mailFolders/inbox/messages?$expand=singleValueExtendedProperties($filter=id eq '${messageClass}')`,
    );
    const values = classes.body.value.map((m) => m.singleValueExtendedProperties[0]?.value);
    expect(values).toContain('IPM.Schedule.Meeting.Request');
  });
});
