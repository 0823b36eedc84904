import { attachments, itemSpec } from '../items/item-schema.js';
import type { XmlNode } from '../xml/node.js';
import { ns } from './envelope.js';
import {
  boolean,
  checkElement,
  dateTime,
  integer,
  many,
  type NamespaceOf,
  one,
  oneOf,
  optional,
  type Particle,
  type Spec,
  schemaFault,
  string,
  text,
} from './schema-check.js';

/**
 * The request side of messages.xsd for the operations the emulator implements: each operation's children in order,
 * required attributes, non-empty arrays (an empty ItemIds is a schema fault, not an empty answer), the ranges of
 * ConnectionTimeout, Timeout, StatusFrequency and MaxChangesReturned, and items element by element. Elements must be
 * in the EWS namespaces: the operation and its children in the messages namespace, everything below in the types one.
 */

const folderId: Spec = { attrs: { Id: { required: true }, ChangeKey: {} } };
const distinguishedFolderId: Spec = { attrs: { Id: { required: true } } };
const folderIdSpec = (name: string) => (name === 'FolderId' ? folderId : distinguishedFolderId);
const folderIds: Spec = { seq: [many(['FolderId', 'DistinguishedFolderId'], folderIdSpec)] };
const targetFolder: Spec = { seq: [one(['FolderId', 'DistinguishedFolderId', 'AddressListId'], folderIdSpec)] };

const itemIdSpecs: Record<string, Spec> = {
  ItemId: { attrs: { Id: { required: true } } },
  OccurrenceItemId: {
    attrs: { RecurringMasterId: { required: true }, InstanceIndex: { required: true, value: integer() } },
  },
  RecurringMasterItemId: { attrs: { OccurrenceId: { required: true } } },
};
const itemIdNames = ['ItemId', 'OccurrenceItemId', 'RecurringMasterItemId'];
const itemIds: Spec = {
  seq: [many([...itemIdNames, 'RecurringMasterItemIdRanges'], (name) => itemIdSpecs[name])],
};

const paths: Spec = { seq: [many(['FieldURI', 'IndexedFieldURI', 'ExtendedFieldURI'])] };
const bodyTypes = oneOf('t:BodyTypeResponseType', ['Best', 'HTML', 'Text']);
const baseShape = one(
  'BaseShape',
  text(oneOf('t:DefaultShapeNamesType', ['IdOnly', 'Default', 'AllProperties', 'PcxPeopleSearch'])),
);
const itemShape: Spec = {
  seq: [
    baseShape,
    optional('IncludeMimeContent', text(boolean)),
    optional('BodyType', text(bodyTypes)),
    optional('UniqueBodyType', text(bodyTypes)),
    optional('NormalizedBodyType', text(bodyTypes)),
    optional('FilterHtmlContent', text(boolean)),
    optional('ConvertHtmlCodePageToUTF8', text(boolean)),
    optional('InlineImageUrlTemplate', text(string)),
    optional('BlockExternalImages', text(boolean)),
    optional('AddBlankTargetToLinks', text(boolean)),
    optional('MaximumBodySize', text(integer())),
    optional('AdditionalProperties', paths),
  ],
};
const folderShape: Spec = { seq: [baseShape, optional('AdditionalProperties', paths)] };

const maxEntries = { value: integer() };
const indexedView: Spec = {
  attrs: {
    MaxEntriesReturned: maxEntries,
    Offset: { required: true, value: integer() },
    BasePoint: { required: true, value: oneOf('t:IndexBasePointType', ['Beginning', 'End']) },
  },
};
const fractionalView: Spec = {
  attrs: {
    MaxEntriesReturned: maxEntries,
    Numerator: { required: true, value: integer() },
    Denominator: { required: true, value: integer() },
  },
};
const views: Record<string, Spec> = {
  IndexedPageItemView: indexedView,
  IndexedPageFolderView: indexedView,
  FractionalPageItemView: fractionalView,
  FractionalPageFolderView: fractionalView,
  CalendarView: {
    attrs: {
      MaxEntriesReturned: maxEntries,
      StartDate: { required: true, value: dateTime },
      EndDate: { required: true, value: dateTime },
    },
  },
  ContactsView: { attrs: { MaxEntriesReturned: maxEntries } },
};
const viewSpec = (name: string) => views[name];

const searchExpressions = [
  'Contains',
  'Excludes',
  'Exists',
  'IsEqualTo',
  'IsNotEqualTo',
  'IsGreaterThan',
  'IsGreaterThanOrEqualTo',
  'IsLessThan',
  'IsLessThanOrEqualTo',
  'And',
  'Not',
  'Or',
];
const restriction: Spec = { seq: [one(searchExpressions)] };

const item = (name: string) => itemSpec(name);
const itemKinds = [
  'Item',
  'Message',
  'CalendarItem',
  'Contact',
  'DistributionList',
  'MeetingMessage',
  'MeetingRequest',
  'MeetingResponse',
  'MeetingCancellation',
  'Task',
  'PostItem',
];
const pathNames = ['FieldURI', 'IndexedFieldURI', 'ExtendedFieldURI'];
const setOrAppend: Spec = { seq: [one(pathNames), one([...itemKinds, 'RoleMember', 'Network', 'Person'], item)] };
const itemChange: Spec = {
  seq: [
    one(itemIdNames, (name) => itemIdSpecs[name]),
    one('Updates', {
      seq: [
        many(['AppendToItemField', 'SetItemField', 'DeleteItemField'], (name) =>
          name === 'DeleteItemField' ? { seq: [one(pathNames)] } : setOrAppend,
        ),
      ],
    }),
    optional('CalendarActivityData'),
  ],
};

const messageDisposition = { value: oneOf('t:MessageDispositionType', ['SaveOnly', 'SendOnly', 'SendAndSaveCopy']) };
const createOrDelete = {
  value: oneOf('t:CalendarItemCreateOrDeleteOperationType', ['SendToNone', 'SendOnlyToAll', 'SendToAllAndSaveCopy']),
};
const minutes = (type: string, max: number) => text(integer(type, 1, max));
const eventTypes: Spec = {
  seq: [
    many(
      'EventType',
      text(
        oneOf('t:NotificationEventTypeType', [
          'CopiedEvent',
          'CreatedEvent',
          'DeletedEvent',
          'ModifiedEvent',
          'MovedEvent',
          'NewMailEvent',
          'FreeBusyChangedEvent',
        ]),
      ),
    ),
  ],
};
const subscription = (rest: Particle[]): Spec => ({
  attrs: { SubscribeToAllFolders: { value: boolean } },
  seq: [optional('FolderIds', folderIds), one('EventTypes', eventTypes), ...rest],
});
const subscriptions: Record<string, Spec> = {
  PullSubscriptionRequest: subscription([
    optional('Watermark', text(string)),
    one('Timeout', minutes('t:SubscriptionTimeoutType', 1440)),
  ]),
  PushSubscriptionRequest: subscription([
    optional('Watermark', text(string)),
    one('StatusFrequency', minutes('t:SubscriptionStatusFrequencyType', 1440)),
    one('URL', text(string)),
    optional('CallerData', text(string)),
  ]),
  StreamingSubscriptionRequest: subscription([]),
};
const attachmentIds: Spec = { seq: [many('AttachmentId', { attrs: { Id: { required: true } } })] };

/** messages.xsd's request types, by operation. */
export const operationSpecs: Record<string, Spec> = {
  GetFolder: { seq: [one('FolderShape', folderShape), one('FolderIds', folderIds)] },
  FindFolder: {
    attrs: {
      Traversal: { required: true, value: oneOf('t:FolderQueryTraversalType', ['Shallow', 'Deep', 'SoftDeleted']) },
    },
    seq: [
      one('FolderShape', folderShape),
      optional(['IndexedPageFolderView', 'FractionalPageFolderView'], viewSpec),
      optional('Restriction', restriction),
      one('ParentFolderIds', folderIds),
    ],
  },
  CreateItem: {
    attrs: { MessageDisposition: messageDisposition, SendMeetingInvitations: createOrDelete },
    seq: [optional('SavedItemFolderId', targetFolder), one('Items', { seq: [many(itemKinds, item)] })],
  },
  GetItem: { seq: [one('ItemShape', itemShape), one('ItemIds', itemIds)] },
  UpdateItem: {
    attrs: {
      ConflictResolution: {
        required: true,
        value: oneOf('t:ConflictResolutionType', ['NeverOverwrite', 'AutoResolve', 'AlwaysOverwrite']),
      },
      MessageDisposition: messageDisposition,
      SendMeetingInvitationsOrCancellations: {
        value: oneOf('t:CalendarItemUpdateOperationType', [
          'SendToNone',
          'SendOnlyToAll',
          'SendOnlyToChanged',
          'SendToAllAndSaveCopy',
          'SendToChangedAndSaveCopy',
        ]),
      },
      SuppressReadReceipts: { value: boolean },
    },
    seq: [optional('SavedItemFolderId', targetFolder), one('ItemChanges', { seq: [many('ItemChange', itemChange)] })],
  },
  DeleteItem: {
    attrs: {
      DeleteType: {
        required: true,
        value: oneOf('t:DisposalType', ['HardDelete', 'SoftDelete', 'MoveToDeletedItems']),
      },
      SendMeetingCancellations: createOrDelete,
      AffectedTaskOccurrences: {
        value: oneOf('t:AffectedTaskOccurrencesType', ['AllOccurrences', 'SpecifiedOccurrenceOnly']),
      },
      SuppressReadReceipts: { value: boolean },
    },
    seq: [one('ItemIds', itemIds)],
  },
  SendItem: {
    attrs: { SaveItemToFolder: { required: true, value: boolean } },
    seq: [one('ItemIds', itemIds), optional('SavedItemFolderId', targetFolder)],
  },
  FindItem: {
    attrs: {
      Traversal: { required: true, value: oneOf('t:ItemQueryTraversalType', ['Shallow', 'SoftDeleted', 'Associated']) },
    },
    seq: [
      one('ItemShape', itemShape),
      optional(
        [
          'IndexedPageItemView',
          'FractionalPageItemView',
          'SeekToConditionPageItemView',
          'CalendarView',
          'ContactsView',
        ],
        viewSpec,
      ),
      optional(['GroupBy', 'DistinguishedGroupBy']),
      optional('Restriction', restriction),
      optional('SortOrder', { seq: [many('FieldOrder')] }),
      one('ParentFolderIds', folderIds),
      optional('QueryString'),
    ],
  },
  SyncFolderItems: {
    seq: [
      one('ItemShape', itemShape),
      one('SyncFolderId', targetFolder),
      optional('SyncState', text(string)),
      optional('Ignore', { seq: [many('ItemId', itemIdSpecs.ItemId, 0)] }),
      one('MaxChangesReturned', text(integer('t:MaxSyncChangesReturnedType', 1, 512))),
      optional('SyncScope', text(oneOf('t:SyncFolderItemsScopeType', ['NormalItems', 'NormalAndAssociatedItems']))),
    ],
  },
  CreateAttachment: {
    seq: [one('ParentItemId', { attrs: { Id: { required: true } } }), one('Attachments', attachments)],
  },
  GetAttachment: { seq: [optional('AttachmentShape'), one('AttachmentIds', attachmentIds)] },
  DeleteAttachment: { seq: [one('AttachmentIds', attachmentIds)] },
  Subscribe: { seq: [one(Object.keys(subscriptions), (name) => subscriptions[name])] },
  Unsubscribe: { seq: [one('SubscriptionId', text(string))] },
  GetEvents: { seq: [one('SubscriptionId', text(string)), one('Watermark', text(string))] },
  GetStreamingEvents: {
    seq: [
      one('SubscriptionIds', { seq: [many('SubscriptionId', text(string))] }),
      one('ConnectionTimeout', minutes('t:StreamingSubscriptionConnectionTimeoutType', 30)),
    ],
  },
};

/**
 * Elements of the operation must be in the EWS namespaces: messages for the operation and its children (they are
 * declared in messages.xsd), types below them. Exchange's validator refuses anything else, as the emulator does.
 */
export function checkNamespaces(operation: XmlNode, namespaceOf: NamespaceOf): void {
  const walk = (node: XmlNode, depth: number, parent: XmlNode | undefined) => {
    const wanted = depth <= 1 ? ns.m : ns.t;
    const actual = namespaceOf(node);
    if (actual !== wanted) {
      throw schemaFault(
        parent
          ? `The element '${parent.n}' in namespace '${namespaceOf(parent)}' has invalid child element '${node.n}' in namespace '${actual}'.`
          : `The element '${node.n}' in namespace '${actual}' is not an EWS operation: operations are in namespace '${ns.m}'.`,
      );
    }
    for (const child of node.c ?? []) walk(child, depth + 1, node);
  };
  walk(operation, 0, undefined);
}

/** Checks an operation's element against messages.xsd as far as the emulator knows it (see operationSpecs). */
export function checkOperation(operation: XmlNode, namespaceOf: NamespaceOf): void {
  checkNamespaces(operation, namespaceOf);
  const spec = operationSpecs[operation.n];
  if (spec) checkElement(operation, spec, namespaceOf);
}
