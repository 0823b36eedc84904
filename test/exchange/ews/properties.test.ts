import { describe, expect, it } from 'vitest';
import { appItemIdFieldUri, localDate, nearestDate, toExchangeItem } from '../../../src/exchange/ews/properties.js';
import { at, parseXml } from '../../../src/exchange/ews/xml.js';

function item(kind: string, inner: string) {
  const xml = `<t:${kind} xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:ItemId Id="AAMkAx" ChangeKey="CK1"/>${inner}</t:${kind}>`;
  return toExchangeItem(kind, at(parseXml(xml), kind) ?? '');
}

describe('EWS item → ExchangeItem', () => {
  it('keeps the dates of an all-day event made west of UTC', () => {
    // All day on 10 March in Los Angeles (PDT, UTC-7): 07:00 UTC to 07:00 UTC the next day.
    const event = item(
      'CalendarItem',
      '<t:Start>2026-03-10T07:00:00Z</t:Start><t:End>2026-03-11T07:00:00Z</t:End><t:IsAllDayEvent>true</t:IsAllDayEvent>' +
        '<t:CalendarItemType>Single</t:CalendarItemType><t:StartTimeZone Id="Pacific Standard Time" Name="(UTC-08:00) Pacific Time"/>',
    );
    expect(event.properties).toMatchObject({
      start: '2026-03-10T00:00:00.000Z',
      end: '2026-03-11T00:00:00.000Z',
      timeZone: 'Pacific Standard Time',
      isRecurring: false,
    });
  });

  it('leaves timed events in UTC and reads Exchange 2007’s MeetingTimeZone', () => {
    const event = item(
      'CalendarItem',
      '<t:Start>2026-03-10T07:30:00+01:00</t:Start><t:End>2026-03-10T08:30:00+01:00</t:End><t:IsAllDayEvent>false</t:IsAllDayEvent>' +
        '<t:CalendarItemType>Occurrence</t:CalendarItemType><t:MeetingTimeZone TimeZoneName="W. Europe Standard Time"/>' +
        '<t:OriginalStart>2026-03-10T06:30:00Z</t:OriginalStart>',
    );
    expect(event.properties).toMatchObject({
      start: '2026-03-10T06:30:00.000Z',
      end: '2026-03-10T07:30:00.000Z',
      timeZone: 'W. Europe Standard Time',
      isRecurring: true,
      originalStart: '2026-03-10T06:30:00.000Z',
    });
  });

  it('reads a meeting request with calendar and message properties, and its UID', () => {
    const request = item(
      'MeetingRequest',
      '<t:Subject>Plan</t:Subject><t:From><t:Mailbox><t:Name>Bob</t:Name><t:EmailAddress>bob@contoso.test</t:EmailAddress></t:Mailbox></t:From>' +
        '<t:UID>0400000082</t:UID><t:Start>2026-03-10T09:00:00Z</t:Start>',
    );
    expect(request).toMatchObject({
      itemClass: 'IPM.Schedule.Meeting.Request',
      uid: '0400000082',
      id: 'AAMkAx',
      changeKey: 'CK1',
    });
    expect(request.properties).toMatchObject({
      subject: 'Plan',
      from: 'bob@contoso.test',
      start: '2026-03-10T09:00:00.000Z',
    });
    // The message class the answer gives wins over the element's default.
    expect(item('Message', '<t:ItemClass>IPM.Note.SMIME</t:ItemClass>').itemClass).toBe('IPM.Note.SMIME');
  });

  it('reads the application id only from the connector’s own extended property', () => {
    const other =
      '<t:ExtendedProperty><t:ExtendedFieldURI PropertySetId="00000000-0000-0000-0000-000000000001" PropertyName="exh_app_item_id" PropertyType="String"/><t:Value>other</t:Value></t:ExtendedProperty>';
    const own = `<t:ExtendedProperty>${appItemIdFieldUri}<t:Value>A-7</t:Value></t:ExtendedProperty>`;
    expect(item('Task', other + own).properties.appItemId).toBe('A-7');
    expect(item('Task', other).properties.appItemId).toBeNull();
  });

  it('gives empty values as null, so that "absent" still means "not read"', () => {
    const contact = item(
      'Contact',
      '<t:DisplayName></t:DisplayName><t:EmailAddresses><t:Entry Key="EmailAddress1"/></t:EmailAddresses>',
    );
    expect(contact.properties).toMatchObject({
      displayName: null,
      email1: null,
      'homeAddress.city': null,
      birthday: null,
      categories: null,
      attachments: null,
    });
    expect('start' in contact.properties).toBe(false);
  });
});

describe('dates', () => {
  it.each([
    ['1980-05-16T22:00:00Z', '1980-05-17'],
    ['1980-05-17T04:00:00Z', '1980-05-17'],
    ['1980-05-17T00:00:00Z', '1980-05-17'],
    ['1980-05-17T11:00:00Z', '1980-05-17'],
    ['not a date', null],
  ])('birthday %s is %s', (stored, day) => expect(nearestDate(stored)).toBe(day));

  it('local dates follow the Windows time zone', () => {
    expect(localDate('2026-03-09T23:00:00.000Z', 'W. Europe Standard Time')).toBe('2026-03-10');
    expect(localDate('2026-03-09T23:00:00.000Z', 'UTC')).toBe('2026-03-09');
    expect(localDate('2026-03-09T23:00:00.000Z', 'No Such Zone')).toBe('2026-03-09');
  });
});
