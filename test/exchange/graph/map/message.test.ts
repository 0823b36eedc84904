import { describe, expect, it } from 'vitest';
import { appItemIdPropertyId } from '../../../../src/exchange/graph/ids.js';
import {
  type GraphMessage,
  hasRecipients,
  inReplyToPropertyId,
  messageClassOf,
  messageFromGraph,
  messageToGraph,
} from '../../../../src/exchange/graph/map/message.js';

describe('messageFromGraph', () => {
  it('reads every e-mail property, the In-Reply-To header and the stamp', () => {
    const item = messageFromGraph({
      id: 'M1',
      '@odata.etag': 'W/"CK1"',
      subject: 'Hi',
      body: { contentType: 'html', content: '<p>x</p>' },
      from: { emailAddress: { address: 'a@x.test' } },
      sender: { emailAddress: { address: 's@x.test' } },
      toRecipients: [{ emailAddress: { address: 'b@x.test' } }, { emailAddress: { name: 'no address' } }],
      ccRecipients: [],
      replyTo: [{ emailAddress: { address: 'r@x.test' } }],
      receivedDateTime: '2026-01-05T09:00:00Z',
      sentDateTime: '2026-01-05T08:59:00Z',
      isRead: false,
      internetMessageId: '<m1@x.test>',
      internetMessageHeaders: [{ name: 'in-reply-to', value: ' <m0@x.test> ' }],
      conversationId: 'CONV',
      hasAttachments: false,
      importance: 'high',
      categories: ['Red'],
      createdDateTime: '2026-01-05T08:58:00Z',
      lastModifiedDateTime: '2026-01-05T09:01:00.1234567Z',
      singleValueExtendedProperties: [{ id: appItemIdPropertyId.toLowerCase(), value: 'A-1' }],
    });
    expect(item).toEqual({
      id: 'M1',
      changeKey: 'W/"CK1"',
      itemClass: 'IPM.Note',
      properties: {
        subject: 'Hi',
        body: '<p>x</p>',
        bodyType: 'HTML',
        categories: ['Red'],
        importance: 'High',
        created: '2026-01-05T08:58:00.000Z',
        lastModified: '2026-01-05T09:01:00.123Z',
        attachments: null,
        appItemId: 'A-1',
        from: 'a@x.test',
        sender: 's@x.test',
        to: ['b@x.test'],
        cc: null,
        bcc: null,
        replyTo: ['r@x.test'],
        received: '2026-01-05T09:00:00.000Z',
        sent: '2026-01-05T08:59:00.000Z',
        isRead: false,
        internetMessageId: '<m1@x.test>',
        conversationId: 'CONV',
        inReplyTo: '<m0@x.test>',
        hasAttachments: false,
      },
    });
  });

  it('gives meeting messages the classes Outlook gives them, so the core can skip them', () => {
    const cases = [
      [
        { '@odata.type': '#microsoft.graph.eventMessageRequest', meetingMessageType: 'meetingRequest' },
        'IPM.Schedule.Meeting.Request',
      ],
      [
        { '@odata.type': '#microsoft.graph.eventMessage', meetingMessageType: 'meetingCancelled' },
        'IPM.Schedule.Meeting.Canceled',
      ],
      [
        { '@odata.type': '#microsoft.graph.eventMessageResponse', responseType: 'accepted' },
        'IPM.Schedule.Meeting.Resp.Pos',
      ],
      [
        { '@odata.type': '#microsoft.graph.eventMessageResponse', meetingMessageType: 'meetingDeclined' },
        'IPM.Schedule.Meeting.Resp.Neg',
      ],
      [{ '@odata.type': '#microsoft.graph.eventMessageRequest' }, 'IPM.Schedule.Meeting.Request'],
      [{ '@odata.type': '#microsoft.graph.eventMessage' }, 'IPM.Schedule.Meeting'],
      [{ '@odata.type': '#microsoft.graph.message' }, 'IPM.Note'],
      [{}, 'IPM.Note'],
      [{ singleValueExtendedProperties: [{ id: 'String 0x1a', value: 'IPM.Note.SMIME' }] }, 'IPM.Note.SMIME'],
      [
        {
          '@odata.type': '#microsoft.graph.eventMessage',
          singleValueExtendedProperties: [{ id: 'String 0x001A', value: 'IPM.Schedule.Meeting.Request' }],
        },
        'IPM.Schedule.Meeting.Request',
      ],
    ] as Array<[GraphMessage, string]>;
    for (const [message, itemClass] of cases) expect(messageClassOf(message), JSON.stringify(message)).toBe(itemClass);
  });
});

describe('messageToGraph', () => {
  it('writes what is given, leaves NULL out, clears with empty values', () => {
    expect(
      messageToGraph(
        {
          subject: 'S',
          body: '<b>bold</b>',
          to: 'a@x.test; b@x.test',
          cc: '',
          bcc: null,
          isRead: 'yes',
          importance: 'LOW',
          categories: 'A, B',
          inReplyTo: '<m0@x.test>',
        },
        {},
        [{ id: appItemIdPropertyId, value: 'A-1' }],
      ),
    ).toEqual({
      subject: 'S',
      body: { contentType: 'html', content: '<b>bold</b>' },
      toRecipients: [{ emailAddress: { address: 'a@x.test' } }, { emailAddress: { address: 'b@x.test' } }],
      ccRecipients: [],
      isRead: true,
      importance: 'low',
      categories: ['A', 'B'],
      singleValueExtendedProperties: [
        { id: appItemIdPropertyId, value: 'A-1' },
        { id: inReplyToPropertyId, value: '<m0@x.test>' },
      ],
    });
    expect(messageToGraph({ body: 'plain\ntext', bodyType: 'Text', subject: '' })).toEqual({
      subject: null,
      body: { contentType: 'text', content: 'plain\ntext' },
    });
  });

  it("refuses a value Graph cannot take, naming the caller's label", () => {
    expect(() => messageToGraph({ importance: 'urgent' }, { importance: 'exh_importance' })).toThrow(
      /exh_importance: "urgent" is not one of Low, Normal, High/,
    );
    expect(() => messageToGraph({ isRead: 'maybe' })).toThrow(/isRead: "maybe" is not true or false/);
  });

  it('says whether an e-mail has anyone to go to', () => {
    expect(hasRecipients({ to: 'a@x.test' })).toBe(true);
    expect(hasRecipients({ to: ' ; ', cc: '', bcc: null })).toBe(false);
  });
});
