import { describe, expect, it } from 'vitest';
import { changedFolders, summarize } from '../../../../src/exchange/ews/subscriptions/events.js';
import { at, parseXml } from '../../../../src/exchange/ews/xml.js';
import type { FolderName } from '../../../../src/ports/exchange.port.js';

/** One EWS Notification element, as streaming, pull and push deliver it. */
const notification = (events: string) =>
  at(
    parseXml(
      '<m:Notification xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" ' +
        'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">' +
        `<t:SubscriptionId> sub-1 </t:SubscriptionId><t:PreviousWatermark>w0</t:PreviousWatermark><t:MoreEvents>false</t:MoreEvents>${events}</m:Notification>`,
    ),
    'Notification',
  );

describe('summarize', () => {
  it('counts the changes and collects every folder id they name: parent, old parent, folder, old folder', () => {
    const summary = summarize(
      notification(
        '<t:CreatedEvent><t:Watermark>w1</t:Watermark><t:ItemId Id="i1"/><t:ParentFolderId Id="cal"/></t:CreatedEvent>' +
          '<t:MovedEvent><t:ItemId Id="i2"/><t:ParentFolderId Id="deleted"/><t:OldItemId Id="i0"/>' +
          '<t:OldParentFolderId Id="inbox"/></t:MovedEvent>' +
          '<t:ModifiedEvent><t:FolderId Id="tasks"/><t:ParentFolderId Id="root"/></t:ModifiedEvent>' +
          '<t:CopiedEvent><t:FolderId Id="f2"/><t:OldFolderId Id="f1"/></t:CopiedEvent>',
      ) ?? '',
    );
    expect(summary).toEqual({
      subscriptionId: 'sub-1',
      folderIds: ['cal', 'deleted', 'inbox', 'root', 'tasks', 'f2', 'f1'],
      changes: 4,
      status: false,
    });
  });

  it('takes a StatusEvent as a sign of life, not a change', () => {
    expect(summarize(notification('<t:StatusEvent><t:Watermark>w2</t:Watermark></t:StatusEvent>') ?? '')).toEqual({
      subscriptionId: 'sub-1',
      folderIds: [],
      changes: 0,
      status: true,
    });
  });
});

describe('changedFolders', () => {
  const known = new Map<string, FolderName>([
    ['cal', 'calendar'],
    ['in', 'inbox'],
    ['sent', 'sentitems'],
    ['tasks', 'tasks'],
  ]);

  it('names the subscribed folders the events concern, in the order they were subscribed', () => {
    expect(changedFolders(['sent', 'cal', 'cal', 'tasks'], ['inbox', 'sentitems', 'calendar'], known)).toEqual([
      'sentitems',
      'calendar',
    ]);
  });

  it('marks every subscribed folder when no event names one it knows: the notification still says "look again"', () => {
    expect(changedFolders([], ['inbox', 'calendar'], known)).toEqual(['inbox', 'calendar']);
    expect(changedFolders(['unknown-id', 'tasks'], ['inbox', 'calendar'], known)).toEqual(['inbox', 'calendar']);
  });
});
