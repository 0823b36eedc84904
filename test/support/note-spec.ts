import { field, type ItemTypeSpec } from '../../src/items/index.js';

/**
 * A made-up item type for tests that define one of their own: notes in the Notes folder, number 9, one body field
 * `text`, all of which `changes` may replace. Registering it is the test's business. The fifth type the whole
 * connector is tested with is test/extension/note.item.ts.
 */
export function noteSpec(changes: Partial<ItemTypeSpec> = {}): ItemTypeSpec {
  return {
    name: 'note',
    code: 9,
    description: 'A test type.',
    folders: [{ name: 'notes', label: 'Notes' }],
    itemClasses: ['IPM.StickyNote'],
    hasAttachments: false,
    fields: [field('text', 'body', 'body', 'Text.')],
    ...changes,
  };
}
