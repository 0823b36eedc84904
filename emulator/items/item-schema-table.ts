/**
 * The child elements of the item types the emulator creates and updates, in types.xsd order (each is an xs:sequence
 * of optional elements, the base ItemType's first). Taken from types.xsd; test/emulator/items/item-schema.test.ts
 * checks the names and their order against it. A suffix gives the value type where the emulator checks values:
 * s string, d xs:dateTime, b xs:boolean, i integer, n number, 6 base64, body a BodyType, e=A|B an enumeration; `*`
 * marks the one repeatable element (ExtendedProperty). The rest are complex and checked where the emulator reads them.
 */
export const itemSchemaText: Record<'Item' | 'Message' | 'CalendarItem' | 'Contact' | 'Task', string[]> = {
  Item: [
    'MimeContent ItemId ParentFolderId ItemClass:s Subject:s',
    'Sensitivity:e=Normal|Personal|Private|Confidential Body:body Attachments DateTimeReceived:d Size:i',
    'Categories Importance:e=Low|Normal|High InReplyTo:s IsSubmitted:b IsDraft:b IsFromMe:b IsResend:b',
    'IsUnmodified:b InternetMessageHeaders DateTimeSent:d DateTimeCreated:d ResponseObjects ReminderDueBy:d',
    'ReminderIsSet:b ReminderNextTime:d ReminderMinutesBeforeStart DisplayCc:s DisplayTo:s DisplayBcc:s',
    'HasAttachments:b ExtendedProperty* Culture:s EffectiveRights LastModifiedName:s LastModifiedTime:d',
    'IsAssociated:b WebClientReadFormQueryString:s WebClientEditFormQueryString:s ConversationId',
    'UniqueBody:body Flag StoreEntryId:6 InstanceKey:6 NormalizedBody:body EntityExtractionResult PolicyTag',
    'ArchiveTag RetentionDate:d Preview:s RightsManagementLicenseData PredictedActionReasons IsClutter:b',
    'BlockStatus:b HasBlockedImages:b TextBody:body',
    'IconIndex',
    'SearchKey:6 SortKey:i Hashtags Mentions MentionedMe:b MentionsPreview MentionsEx AppliedHashtags',
    'AppliedHashtagsPreview Likes LikesPreview PendingSocialActivityTagIds AtAllMention:b CanDelete:b',
    'InferenceClassification:e=Focused|Other',
  ],
  Message: [
    'Sender ToRecipients CcRecipients BccRecipients IsReadReceiptRequested:b IsDeliveryReceiptRequested:b',
    'ConversationIndex:6 ConversationTopic:s From InternetMessageId:s IsRead:b IsResponseRequested:b',
    'References:s ReplyTo ReceivedBy ReceivedRepresenting ApprovalRequestData VotingInformation',
    'ReminderMessageData SenderSMTPAddress MailboxGuids',
  ],
  CalendarItem: [
    'UID:s RecurrenceId:d DateTimeStamp:d Start:d End:d OriginalStart:d IsAllDayEvent:b',
    'LegacyFreeBusyStatus:e=Free|Tentative|Busy|OOF|WorkingElsewhere|NoData Location:s When:s IsMeeting:b',
    'IsCancelled:b IsRecurring:b MeetingRequestWasSent:b IsResponseRequested:b',
    'CalendarItemType:e=Single|Occurrence|Exception|RecurringMaster',
    'MyResponseType:e=Unknown|Organizer|Tentative|Accept|Decline|NoResponseReceived Organizer',
    'RequiredAttendees OptionalAttendees Resources InboxReminders ConflictingMeetingCount:i',
    'AdjacentMeetingCount:i ConflictingMeetings AdjacentMeetings Duration:s TimeZone:s AppointmentReplyTime:d',
    'AppointmentSequenceNumber:i AppointmentState:i Recurrence FirstOccurrence LastOccurrence',
    'ModifiedOccurrences DeletedOccurrences MeetingTimeZone StartTimeZone EndTimeZone ConferenceType:i',
    'AllowNewTimeProposal:b IsOnlineMeeting:b MeetingWorkspaceUrl:s NetShowUrl:s EnhancedLocation',
    'StartWallClock:d EndWallClock:d StartTimeZoneId:s EndTimeZoneId:s',
    'IntendedFreeBusyStatus:e=Free|Tentative|Busy|OOF|WorkingElsewhere|NoData JoinOnlineMeetingUrl:s',
    'OnlineMeetingSettings IsOrganizer:b CalendarActivityData',
  ],
  Contact: [
    'FileAs:s',
    'FileAsMapping:e=None|LastCommaFirst|FirstSpaceLast|Company|LastCommaFirstCompany|CompanyLastFirst|LastFirst|LastFirstCompany|CompanyLastCommaFirst|LastFirstSuffix|LastSpaceFirstCompany|CompanyLastSpaceFirst|LastSpaceFirst|DisplayName|FirstName|LastFirstMiddleSuffix|LastName|Empty',
    'DisplayName:s GivenName:s Initials:s MiddleName:s Nickname:s CompleteName CompanyName:s EmailAddresses',
    'AbchEmailAddresses PhysicalAddresses PhoneNumbers AssistantName:s Birthday:d BusinessHomePage:s Children',
    'Companies ContactSource:e=ActiveDirectory|Store Department:s Generation:s ImAddresses JobTitle:s',
    'Manager:s Mileage:s OfficeLocation:s PostalAddressIndex:e=None|Home|Business|Other Profession:s',
    'SpouseName:s Surname:s WeddingAnniversary:d HasPicture:b PhoneticFullName:s PhoneticFirstName:s',
    'PhoneticLastName:s Alias:s Notes:s Photo:6 UserSMIMECertificate MSExchangeCertificate DirectoryId:s',
    'ManagerMailbox DirectReports AccountName:s IsAutoUpdateDisabled:b IsMessengerEnabled:b Comment:s',
    'ContactShortId:i ContactType:s Gender:s IsHidden:b ObjectId:s PassportId:i IsPrivate:b SourceId:s',
    'TrustLevel:i CreatedBy:s Urls Cid:i SkypeAuthCertificate:s SkypeContext:s SkypeId:s SkypeRelationship:s',
    'YomiNickname:s XboxLiveTag:s InviteFree:b HidePresenceAndProfile:b IsPendingOutbound:b',
    'SupportGroupFeeds:b UserTileHash:s UnifiedInbox:b Mris Wlid:s AbchContactId:s NotInBirthdayCalendar:b',
    'ShellContactType:s ImMri:s PresenceTrustLevel:i OtherMri:s ProfileLastChanged:s MobileIMEnabled:b',
    'PartnerNetworkProfilePhotoUrl:s PartnerNetworkThumbnailPhotoUrl:s PersonId:s ConversationGuid:s',
  ],
  Task: [
    'ActualWork:i AssignedTime:d BillingInformation:s ChangeCount:i Companies CompleteDate:d Contacts',
    'DelegationState:e=NoMatch|OwnNew|Owned|Accepted|Declined|Max Delegator:s DueDate:d',
    'IsAssignmentEditable:i IsComplete:b IsRecurring:b IsTeamTask:b Mileage:s Owner:s PercentComplete:n',
    'Recurrence StartDate:d Status:e=NotStarted|InProgress|Completed|WaitingOnOthers|Deferred',
    'StatusDescription:s TotalWork:i',
  ],
};
