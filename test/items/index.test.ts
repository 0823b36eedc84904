import { describe, expect, it } from 'vitest';
import {
  defineItemType,
  field,
  type ItemTypeSpec,
  isItemTypeName,
  itemType,
  itemTypeByCode,
  itemTypeNames,
  itemTypeOfFolder,
  itemTypes,
  registerItemType,
  unregisterItemType,
} from '../../src/items/index.js';
import { noteSpec } from '../support/note-spec.js';

/** The item-type registry (src/items/index.ts): the built-in types and those registered before the connector starts. */
describe('the item-type registry', () => {
  it('registers one definition per item type of the port, numbered as exh_sync_item numbers them (docs/database.md)', () => {
    expect(itemTypes.map((t) => t.name).sort()).toEqual(['calendar', 'contact', 'email', 'task']);
    expect(itemTypeNames()).toEqual(itemTypes.map((t) => t.name));
    expect(Object.fromEntries(itemTypes.map((t) => [t.name, t.code]))).toEqual({
      calendar: 0,
      contact: 1,
      email: 2,
      task: 3,
    });
    expect(new Set(itemTypes.map((t) => t.code)).size).toBe(itemTypes.length);
    expect(itemTypeByCode(3)?.name).toBe('task');
    expect(itemTypeByCode(7)).toBeUndefined();
    expect(itemTypes.every((t) => isItemTypeName(t.name))).toBe(true);
    expect(isItemTypeName('note')).toBe(false);
    expect(isItemTypeName(2)).toBe(false);
    expect(() => itemType('note')).toThrow(/No item-type definition/);
  });

  it('registers a type whose name, number and folders are its own, and refuses one that clashes', () => {
    const spec = noteSpec({ fields: [field('subject', 'text', 'subject', 'Subject.')] });
    const note = defineItemType(spec);
    registerItemType(note);
    try {
      expect(itemType('note')).toBe(note);
      expect(itemTypeByCode(9)).toBe(note);
      expect(itemTypeNames()).toEqual(['calendar', 'contact', 'email', 'task', 'note']);
      expect(registerItemType(note)).toBe(note);
      expect(() => registerItemType(defineItemType({ ...spec, name: 'other', code: 10 }))).toThrow(
        /clashes with "note"/,
      );
      expect(() =>
        registerItemType(
          defineItemType({ ...spec, name: 'other', code: 2, folders: [{ name: 'journal', label: 'J' }] }),
        ),
      ).toThrow(/clashes with "email"/);
      expect(() =>
        registerItemType(defineItemType({ ...spec, code: 11, folders: [{ name: 'journal', label: 'J' }] })),
      ).toThrow(/clashes with "note"/);
      expect(() => unregisterItemType('task')).toThrow(/built in/);
    } finally {
      unregisterItemType('note');
    }
    expect(isItemTypeName('note')).toBe(false);
    expect(itemTypeNames()).toEqual(['calendar', 'contact', 'email', 'task']);
  });

  it('keeps the types in the order of their numbers whatever order they come in, and finds each by its folder', () => {
    const spec = (name: 'journal_entry' | 'post', code: number, folder: 'journal' | 'notes'): ItemTypeSpec => ({
      name,
      code,
      description: 'A test type.',
      folders: [{ name: folder, label: folder }],
      itemClasses: ['IPM.Activity'],
      hasAttachments: false,
      fields: [field('subject', 'text', 'subject', 'Subject.')],
    });
    registerItemType(defineItemType(spec('post', 21, 'notes')));
    registerItemType(defineItemType(spec('journal_entry', 20, 'journal')));
    try {
      expect(itemTypes.map((t) => t.code)).toEqual([0, 1, 2, 3, 20, 21]);
      expect(itemTypeOfFolder('journal')?.name).toBe('journal_entry');
      expect(itemTypeOfFolder('sentitems')?.name).toBe('email');
      // Drafts hold e-mail that no type reads.
      expect(itemTypeOfFolder('drafts')).toBeUndefined();
    } finally {
      unregisterItemType('post');
      unregisterItemType('journal_entry');
    }
    expect(itemTypeNames()).toEqual(['calendar', 'contact', 'email', 'task']);
  });
});
