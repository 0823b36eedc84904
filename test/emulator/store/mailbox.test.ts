import { describe, expect, it } from 'vitest';
import { TokenSeal } from '../../../emulator/store/ids.js';
import { Mailbox } from '../../../emulator/store/mailbox.js';

const newMailbox = () => new Mailbox('log@contoso.test', 'Log', () => Date.UTC(2026, 0, 1), new TokenSeal());
const subjects = (items: { props: Record<string, unknown> }[]) => items.map((i) => i.props.Subject);

describe('Mailbox.itemsChangedSince', () => {
  it('gives the items changed or put into a folder after a position, in change order, each once', () => {
    const mailbox = newMailbox();
    const tasks = mailbox.folder('tasks').id;
    const [a, b, c] = ['a', 'b', 'c'].map((Subject) => mailbox.addItem(tasks, { kind: 'Task', props: { Subject } }));
    const position = mailbox.seq;
    expect(mailbox.itemsChangedSince(tasks, position)).toEqual([]);
    mailbox.touch(a as never);
    mailbox.touch(c as never);
    mailbox.touch(a as never);
    mailbox.removeItem(c as never);
    const moved = mailbox.moveItem(b as never, mailbox.folder('deleteditems').id);
    expect(subjects(mailbox.itemsChangedSince(tasks, position))).toEqual(['a']);
    expect(subjects(mailbox.itemsChangedSince(tasks, 0))).toEqual(['a']);
    expect(mailbox.itemsChangedSince(mailbox.folder('deleteditems').id, position)).toEqual([moved]);
    expect(mailbox.tombstonesSince(tasks, position).map((t) => t.id)).toEqual([c?.id, b?.id]);
    expect(mailbox.tombstonesSince(tasks, mailbox.seq)).toEqual([]);
  });

  it('keeps its log within twice the folder however often an item changes, and restores it from a snapshot', () => {
    const mailbox = newMailbox();
    const tasks = mailbox.folder('tasks').id;
    const items = Array.from({ length: 10 }, (_, n) =>
      mailbox.addItem(tasks, { kind: 'Task', props: { Subject: `t${n}` } }),
    );
    const position = mailbox.seq;
    for (let round = 0; round < 1000; round++) mailbox.touch(items[round % 3] as never);
    const log = (mailbox as unknown as { changeLogs: Map<string, { items: unknown[] }> }).changeLogs.get(tasks);
    expect(log?.items.length).toBeLessThanOrEqual(2 * 10 + 64 + 1);
    expect(subjects(mailbox.itemsChangedSince(tasks, position))).toEqual(['t1', 't2', 't0']);
    const restored = Mailbox.restore(mailbox.snapshot(), () => 0, new TokenSeal());
    expect(subjects(restored.itemsChangedSince(tasks, position))).toEqual(['t1', 't2', 't0']);
    expect(restored.itemsChangedSince(tasks, mailbox.seq)).toEqual([]);
  });
});
