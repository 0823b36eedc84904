import { afterAll, describe, expect, it } from 'vitest';
import {
  calendar,
  contact,
  defineItemType,
  email,
  field,
  registerItemType,
  task,
  unregisterItemType,
} from '../../../src/items/index.js';
import { foldersOf, itemTypeOfFolder, synchronisesKind } from '../../../src/sync/decisions/folders.js';

/** Where each item type lives and which items in its folders it takes, as its definition says (src/items). */
describe('foldersOf / itemTypeOfFolder', () => {
  it('gives each built-in type its folders, e-mail two', () => {
    expect(foldersOf('calendar')).toEqual(['calendar']);
    expect(foldersOf('contact')).toEqual(['contacts']);
    expect(foldersOf('email')).toEqual(['inbox', 'sentitems']);
    expect(foldersOf('task')).toEqual(['tasks']);
  });

  it('finds the type that reads a folder, and refuses a folder no type reads', () => {
    expect(itemTypeOfFolder('sentitems')).toBe('email');
    expect(itemTypeOfFolder('calendar')).toBe('calendar');
    // Drafts hold e-mail that is not synchronised.
    expect(() => itemTypeOfFolder('drafts')).toThrow(/no item type reads folder drafts/);
  });

  describe('a type registered later', () => {
    const journal = defineItemType({
      name: 'journal_entry',
      code: 90,
      description: 'Journal entries.',
      folders: [{ name: 'journal', label: 'Journal' }],
      itemClasses: ['IPM.Activity'],
      hasAttachments: false,
      fields: [field('subject', 'text', 'subject', 'Subject.')],
    });
    afterAll(() => unregisterItemType('journal_entry'));

    it('is found like a built-in one', () => {
      registerItemType(journal);
      expect(foldersOf('journal_entry')).toEqual(['journal']);
      expect(itemTypeOfFolder('journal')).toBe('journal_entry');
    });
  });
});

describe('synchronisesKind', () => {
  it('takes the type’s classes and their subclasses, without regard to case, and nothing that merely starts alike', () => {
    expect(synchronisesKind(email, 'IPM.Note', false)).toBe(true);
    expect(synchronisesKind(email, 'IPM.Note.SMIME', false)).toBe(true);
    expect(synchronisesKind(email, 'ipm.note', false)).toBe(true);
    expect(synchronisesKind(email, 'IPM.Notebook', false)).toBe(false);
    expect(synchronisesKind(contact, 'IPM.Contact', false)).toBe(true);
    expect(synchronisesKind(contact, 'IPM.DistList', false)).toBe(false);
    expect(synchronisesKind(task, 'IPM.Task', false)).toBe(true);
    expect(synchronisesKind(calendar, 'IPM.Appointment.Occurrence', false)).toBe(true);
  });

  it('takes meeting messages as e-mail only with sync.meetingRequestsResponses, and never as anything else', () => {
    for (const itemClass of [
      'IPM.Schedule.Meeting.Request',
      'IPM.Schedule.Meeting.Resp.Pos',
      'IPM.Schedule.Meeting.Canceled',
    ]) {
      expect(synchronisesKind(email, itemClass, false)).toBe(false);
      expect(synchronisesKind(email, itemClass, true)).toBe(true);
      expect(synchronisesKind(calendar, itemClass, true)).toBe(false);
    }
  });
});
