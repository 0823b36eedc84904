import { defineItemType, field, readOnlyField } from '../../src/items/index.js';

/**
 * Outlook notes (the yellow sticky notes: message class IPM.StickyNote, in the mailbox's Notes folder) as a fifth
 * item type, defined in this one module and nowhere else: the proof that a type is a plug-in (docs/extending.md).
 * Everything else (its table and procedures in the base project, its folder's subscription, reading, mapping and
 * writing, the listener's and the CLI's validation) derives from it once it is registered.
 */
export const note = defineItemType({
  name: 'note',
  code: 4,
  description: 'Outlook notes (sticky notes).',
  folders: [{ name: 'notes', label: 'Notes' }],
  itemClasses: ['IPM.StickyNote'],
  hasAttachments: false,
  fields: [
    field('subject', 'text', 'subject', 'The first line of the note.'),
    field('body', 'body', 'body', 'The text of the note, text or HTML (see body_type).'),
    field('body_type', 'code', 'bodyType', 'Text or HTML.'),
    field('categories', 'longText', 'categories', 'Categories, separated by ";".'),
    readOnlyField('created', 'timestamp', 'created', 'When the note was made.'),
    readOnlyField('last_modified', 'timestamp', 'lastModified', 'When the note was last changed.'),
  ],
});
