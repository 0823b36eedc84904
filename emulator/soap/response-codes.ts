/**
 * The EWS response codes the emulator gives, each with the message text Exchange uses for it. Operations throw
 * `EwsError` for a failure of one response message (ResponseClass="Error"); `SoapFault` is for a whole request that
 * Exchange answers with a SOAP fault (HTTP 500): throttling, schema validation, impersonation, version.
 */

export const responseMessages = {
  ErrorAccessDenied: 'Access is denied. Check credentials and try again.',
  ErrorArchiveMailboxNotEnabled: 'Archive mailbox is not enabled for this user.',
  ErrorCalendarEndDateIsEarlierThanStartDate: 'EndDate is earlier than StartDate',
  ErrorCalendarInvalidRecurrence: 'The recurrence pattern is invalid.',
  // Meeting responses (CreateItem with AcceptItem, DeclineItem, CancelCalendarItem, RemoveItem, ...).
  ErrorCalendarIsCancelledForAccept: 'Cannot accept a meeting that has been canceled.',
  ErrorCalendarIsCancelledForDecline: 'Cannot decline a meeting that has been canceled.',
  ErrorCalendarIsCancelledForTentative: 'Cannot tentatively accept a meeting that has been canceled.',
  ErrorCalendarIsNotOrganizer: 'Only the organizer can cancel the meeting.',
  ErrorCalendarIsOrganizerForAccept: 'The organizer cannot accept the meeting.',
  ErrorCalendarIsOrganizerForDecline: 'The organizer cannot decline the meeting.',
  ErrorCalendarIsOrganizerForRemove: 'The organizer cannot remove the meeting from the calendar.',
  ErrorCalendarIsOrganizerForTentative: 'The organizer cannot tentatively accept the meeting.',
  ErrorCalendarMeetingRequestIsOutOfDate: 'The meeting request is out of date; the meeting has not been canceled.',
  ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange: 'Occurrence index is out of recurrence range.',
  ErrorCalendarOccurrenceIsDeletedFromRecurrence:
    'Occurrence with this index was previously deleted from the recurrence.',
  ErrorCalendarCannotMoveOrCopyOccurrence: 'Cannot move or copy an occurrence of a recurring calendar item.',
  ErrorCannotCreateCalendarItemInNonCalendarFolder: 'Cannot create a calendar item in a non-calendar folder.',
  // Microsoft's CreateItem (contact) error example gives this text.
  ErrorCannotCreateContactInNonContactFolder: 'Cannot create a contact in a non-contact Folder.',
  ErrorCannotCreateTaskInNonTaskFolder: 'Cannot create a task in a non-task Folder.',
  ErrorCannotDeleteObject: 'The object cannot be deleted.',
  ErrorCalendarViewRangeTooBig:
    'The calendar view range is too big: it holds more occurrences than the find count limit allows. Narrow the range or set MaxEntriesReturned.',
  ErrorExceededConnectionCount:
    'You have exceeded the available concurrent connections for your account.  Try again once your other requests have completed.',
  ErrorExceededFindCountLimit:
    'You have exceeded the maximum number of objects that can be returned for the find operation. Use paging to reduce the result size and try your request again.',
  ErrorFolderNotFound: 'The specified folder could not be found in the store.',
  ErrorImpersonateUserDenied: 'The account does not have permission to impersonate the requested user.',
  ErrorIncorrectUpdatePropertyCount:
    'An object within a change description must contain one and only one property to modify.',
  ErrorInternalServerError: 'An internal server error occurred. The operation failed.',
  ErrorInvalidAttachmentId: 'The Id is invalid.',
  ErrorInvalidExchangeImpersonationHeaderData: 'The impersonation header is invalid.',
  ErrorInvalidExtendedPropertyValue: 'The extended property value is invalid.',
  ErrorInvalidIdEmpty: 'Id must be non-empty.',
  ErrorInvalidIdMalformed: 'Id is malformed.',
  ErrorInvalidIdMalformedEwsLegacyIdFormat: 'The EwsLegacyId is malformed.',
  ErrorInvalidMergedFreeBusyInterval: 'The merged free/busy interval must be between 5 and 1440 minutes.',
  ErrorInvalidOperation: 'The operation is invalid.',
  ErrorInvalidPagingMaxRows: 'The value of MaxChangesReturned must be between 1 and 512.',
  ErrorInvalidPropertyAppend: 'This property does not support append.',
  ErrorInvalidPropertyDelete: 'This property cannot be deleted.',
  ErrorInvalidPropertyRequest: 'The property cannot be requested in this operation.',
  ErrorInvalidPropertySet: 'The property cannot be set in this operation.',
  ErrorInvalidPullSubscriptionId: 'The subscription is not a pull subscription.',
  ErrorInvalidPushSubscriptionUrl: 'The push subscription URL is invalid.',
  ErrorInvalidRecipients: 'At least one recipient is not valid.',
  ErrorInvalidRequest: 'The request is invalid.',
  ErrorInvalidRestriction: 'The restriction is invalid.',
  ErrorInvalidScheduledOofDuration: 'Invalid scheduled OOF duration: the end time must be after the start time.',
  ErrorInvalidServerVersion: 'The specified server version is invalid.',
  ErrorInvalidSubscription: 'The subscription is invalid.',
  ErrorInvalidSubscriptionRequest: 'The subscription request is invalid.',
  ErrorInvalidSyncStateData: 'Synchronization state data is corrupt or otherwise invalid.',
  ErrorInvalidTimeInterval: 'The time interval is invalid: its end is before its start.',
  ErrorInvalidUserOofSettings: 'The user OOF settings are invalid.',
  ErrorInvalidWatermark: 'The watermark used for creating this subscription was not found.',
  ErrorIrresolvableConflict:
    'The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.',
  ErrorItemNotFound: 'The specified object was not found in the store.',
  ErrorMailboxDataArrayEmpty: 'MailboxDataArray is empty: at least one mailbox is required.',
  ErrorMailboxMoveInProgress: 'Mailbox move in progress. Try again later.',
  ErrorMailRecipientNotFound: 'Unable to resolve the e-mail address to a mailbox.',
  ErrorMessageDispositionRequired: 'MessageDisposition attribute is required.',
  ErrorMoveCopyFailed: 'The move or copy operation failed.',
  ErrorNameResolutionMultipleResults: 'Multiple results were found.',
  ErrorNameResolutionNoResults: 'No results were found.',
  ErrorNonExistentMailbox: 'The SMTP address has no mailbox associated with it.',
  ErrorSchemaValidation: 'The request failed schema validation.',
  ErrorSendMeetingCancellationsRequired: 'SendMeetingCancellations attribute is required for Calendar items.',
  ErrorSendMeetingInvitationsOrCancellationsRequired:
    'SendMeetingInvitationsOrCancellations attribute is required for Calendar items.',
  ErrorSendMeetingInvitationsRequired: 'SendMeetingInvitations attribute is required for Calendar items.',
  ErrorServerBusy: 'The server cannot service this request right now. Try again later.',
  ErrorSubscriptionAccessDenied: 'The subscription belongs to another account.',
  ErrorSubscriptionNotFound: 'The specified subscription was not found.',
  ErrorTimeIntervalTooBig: 'The time interval is too big: at most 62 days of free/busy data are answered.',
  ErrorSubscriptionUnsubscribed: 'The subscription was unsubscribed.',
  ErrorUnsupportedPathForQuery: 'The property path is not supported for this query.',
} as const;

export type ResponseCode = keyof typeof responseMessages;

/** One response message failed; the rest of a batch carries on. */
export class EwsError extends Error {
  override readonly name = 'EwsError';
  constructor(
    readonly code: ResponseCode,
    message?: string,
    /** Name/value pairs for MessageXml (t:Value Name="..."). */
    readonly values: Record<string, string> = {},
  ) {
    super(message ?? responseMessages[code]);
  }
}

/** The whole request fails with a SOAP fault, as Exchange does for throttling, schema and header errors. */
export class SoapFault extends Error {
  override readonly name = 'SoapFault';
  constructor(
    readonly code: ResponseCode,
    message?: string,
    readonly values: Record<string, string> = {},
    /** soap:Client for the caller's mistakes, soap:Server for the server's state. */
    readonly side: 'Client' | 'Server' = 'Client',
  ) {
    super(message ?? responseMessages[code]);
  }
}
