import { describe, expect, it } from 'vitest';
import { appIdProperty, startGraph } from './support.js';

/** Contacts and contactFolders; To Do's default list over the Tasks folder, tasks and linkedResources. */

const graph = await startGraph();
const alice = '/users/alice@contoso.test';
type List = { value: Record<string, unknown>[] };

describe('contacts', () => {
  it('creates a contact with addresses and phones, merges a PATCH and finds it by its stamp', async () => {
    const created = await graph.call('POST', `${alice}/contacts`, {
      body: {
        givenName: 'Ann',
        surname: 'Lee',
        displayName: 'Ann Lee',
        emailAddresses: [{ address: 'ann@example.com', name: 'Ann' }],
        businessPhones: ['+31 10 1234567'],
        mobilePhone: '+31 6 12345678',
        homeAddress: { street: 'Main 1', city: 'Delft', postalCode: '2611' },
        birthday: '1990-05-01T00:00:00Z',
        singleValueExtendedProperties: [{ id: appIdProperty, value: 'contact-1' }],
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      displayName: 'Ann Lee',
      emailAddresses: [{ address: 'ann@example.com', name: 'Ann' }],
      businessPhones: ['+31 10 1234567'],
      mobilePhone: '+31 6 12345678',
      homeAddress: { street: 'Main 1', city: 'Delft', postalCode: '2611' },
    });
    const patched = await graph.call('PATCH', `${alice}/contacts/${created.body.id}`, {
      body: { businessPhones: ['+31 10 7654321'], jobTitle: 'Pilot' },
    });
    expect(patched.body).toMatchObject({
      businessPhones: ['+31 10 7654321'],
      mobilePhone: '+31 6 12345678',
      jobTitle: 'Pilot',
    });
    const filter = `singleValueExtendedProperties/Any(ep: ep/id eq '${appIdProperty}' and ep/value eq 'contact-1')`;
    const found = await graph.call<List>('GET', `${alice}/contacts?$filter=${encodeURIComponent(filter)}`);
    expect(found.body.value.map((c) => c.id)).toEqual([created.body.id]);
    const folders = await graph.call<List>('GET', `${alice}/contactFolders`);
    expect(folders.body.value.map((f) => f.displayName)).toContain('Contacts');
  });
});

describe('To Do', () => {
  it('has one default list backed by the Tasks folder, with tasks and their linked resources', async () => {
    const lists = await graph.call<List>('GET', `${alice}/todo/lists`);
    expect(lists.body.value).toEqual([
      expect.objectContaining({ wellknownListName: 'defaultList', displayName: 'Tasks' }),
    ]);
    const list = lists.body.value[0]?.id as string;
    const created = await graph.call('POST', `${alice}/todo/lists/${list}/tasks`, {
      body: {
        title: 'File taxes',
        importance: 'high',
        dueDateTime: { dateTime: '2030-04-30T00:00:00', timeZone: 'UTC' },
        linkedResources: [{ applicationName: 'exh', externalId: 'task-1', displayName: 'exh' }],
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ title: 'File taxes', importance: 'high', status: 'notStarted' });
    const id = created.body.id as string;
    const expanded = await graph.call('GET', `${alice}/todo/lists/${list}/tasks/${id}?$expand=linkedResources`);
    expect(expanded.body.linkedResources).toEqual([
      expect.objectContaining({ applicationName: 'exh', externalId: 'task-1' }),
    ]);
    const done = await graph.call('PATCH', `${alice}/todo/lists/${list}/tasks/${id}`, {
      body: { status: 'completed', completedDateTime: { dateTime: '2030-04-01T00:00:00', timeZone: 'UTC' } },
    });
    expect(done.body).toMatchObject({
      status: 'completed',
      completedDateTime: { dateTime: '2030-04-01T00:00:00.0000000' },
    });
    const added = await graph.call('POST', `${alice}/todo/lists/${list}/tasks/${id}/linkedResources`, {
      body: { applicationName: 'other', externalId: 'x' },
    });
    expect(added.status).toBe(201);
    const resources = await graph.call<List>('GET', `${alice}/todo/lists/${list}/tasks/${id}/linkedResources`);
    expect(resources.body.value.map((r) => r.applicationName)).toEqual(['exh', 'other']);
    expect(
      (await graph.call('DELETE', `${alice}/todo/lists/${list}/tasks/${id}/linkedResources/${added.body.id}`)).status,
    ).toBe(204);
    const ews = graph.emulator.admin.items('alice@contoso.test', 'tasks');
    expect(ews.find((t) => t.properties.Subject === 'File taxes')?.properties).toMatchObject({
      Status: 'Completed',
      Importance: 'High',
    });
  });

  it('keeps file attachments of tasks as taskFileAttachments, inline and by upload session', async () => {
    const list = (await graph.call<List>('GET', `${alice}/todo/lists`)).body.value[0]?.id as string;
    const task = await graph.call('POST', `${alice}/todo/lists/${list}/tasks`, { body: { title: 'With files' } });
    const base = `${alice}/todo/lists/${list}/tasks/${task.body.id}/attachments`;
    const refused = await graph.call('POST', base, {
      body: { '@odata.type': '#microsoft.graph.fileAttachment', name: 'a.txt', contentBytes: 'aGk=' },
    });
    expect(refused.status).toBe(400);
    const added = await graph.call('POST', base, {
      body: {
        '@odata.type': '#microsoft.graph.taskFileAttachment',
        name: 'a.txt',
        contentType: 'text/plain',
        contentBytes: 'aGk=',
      },
    });
    expect(added.body).toMatchObject({ '@odata.type': '#microsoft.graph.taskFileAttachment', name: 'a.txt', size: 2 });
    const session = await graph.call('POST', `${base}/createUploadSession`, {
      body: { attachmentInfo: { attachmentType: 'file', name: 'b.bin', size: 3 } },
    });
    expect(session.status).toBe(201);
    const put = await fetch(session.body.uploadUrl as string, {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-range': 'bytes 0-2/3' },
      body: Buffer.from([1, 2, 3]),
    });
    expect(put.status).toBe(201);
    expect(put.headers.get('location')).toContain(`/todo/lists/${list}/tasks/${task.body.id}/attachments/`);
    const names = (await graph.call<List>('GET', base)).body.value.map((a) => a.name);
    expect(names).toEqual(['a.txt', 'b.bin']);
  });

  it('clears a task body with an empty one', async () => {
    const list = (await graph.call<List>('GET', `${alice}/todo/lists`)).body.value[0]?.id as string;
    const task = await graph.call('POST', `${alice}/todo/lists/${list}/tasks`, {
      body: { title: 'Notes', body: { contentType: 'text', content: 'some' } },
    });
    const cleared = await graph.call('PATCH', `${alice}/todo/lists/${list}/tasks/${task.body.id}`, {
      body: { body: { contentType: 'text', content: '' } },
    });
    expect(cleared.body.body).toEqual({ contentType: 'text', content: '' });
    const ews = graph.emulator.admin.items('alice@contoso.test', 'tasks').find((t) => t.properties.Subject === 'Notes');
    expect(ews?.properties.Body).toBeUndefined();
  });
});
