import { describe, expect, it } from 'vitest';
import { linkedAppItemId, todoTaskFromGraph, todoTaskToGraph } from '../../../../src/exchange/graph/map/todo-task.js';

describe('todoTaskFromGraph', () => {
  it('reads To Do times in any zone as UTC, the status code, the linked app id; no percent or owner', () => {
    const item = todoTaskFromGraph({
      id: 'T1',
      '@odata.etag': 'W/"E"',
      title: 'Report',
      body: { contentType: 'text', content: 'x' },
      status: 'waitingOnOthers',
      importance: 'normal',
      isReminderOn: false,
      dueDateTime: { dateTime: '2026-02-10T00:00:00.0000000', timeZone: 'W. Europe Standard Time' },
      startDateTime: { dateTime: '2026-02-01T00:00:00.0000000', timeZone: 'UTC' },
      linkedResources: [
        { applicationName: 'other', externalId: 'nope' },
        { applicationName: 'exh', externalId: 'T-7' },
      ],
    });
    expect(item).toMatchObject({ id: 'T1', changeKey: 'W/"E"', itemClass: 'IPM.Task' });
    expect(item.properties).toMatchObject({
      subject: 'Report',
      bodyType: 'Text',
      status: 'WaitingOnOthers',
      importance: 'Normal',
      reminderSet: false,
      dueDate: '2026-02-09T23:00:00.000Z',
      startDate: '2026-02-01T00:00:00.000Z',
      appItemId: 'T-7',
    });
    // Not carried by To Do: left out, so the core keeps the application's columns rather than clearing them.
    expect('percentComplete' in item.properties).toBe(false);
    expect('owner' in item.properties).toBe(false);
    expect(linkedAppItemId([])).toBeNull();
  });
});

describe('todoTaskToGraph', () => {
  it('writes times as UTC, the status in Graph spelling, ignores percent complete, and links the app id on create', () => {
    expect(
      todoTaskToGraph(
        { subject: 'R', dueDate: '2026-02-10T00:00:00Z', status: 'completed', percentComplete: 40, reminderDueBy: '' },
        {},
        'T-7',
      ),
    ).toEqual({
      title: 'R',
      dueDateTime: { dateTime: '2026-02-10T00:00:00.000', timeZone: 'UTC' },
      status: 'completed',
      reminderDateTime: null,
      linkedResources: [{ applicationName: 'exh', externalId: 'T-7', displayName: 'exh T-7' }],
    });
    expect(() => todoTaskToGraph({ status: 'done' }, { status: 'exh_status' })).toThrow(/exh_status/);
  });
});
