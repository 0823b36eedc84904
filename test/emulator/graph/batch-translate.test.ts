import { describe, expect, it } from 'vitest';
import { immutable, startGraph } from './support.js';

/** JSON $batch through the same handlers, and translateExchangeIds. */

const graph = await startGraph();
const alice = '/users/alice@contoso.test';
type Batch = {
  responses: { id: string; status: number; body?: Record<string, unknown>; headers?: Record<string, string> }[];
};

describe('$batch', () => {
  it('runs each request through the handlers with its own status, and 424 after a failed dependency', async () => {
    const created = await graph.call('POST', `${alice}/messages`, { body: { subject: 'Batched' } });
    const answer = await graph.call<Batch>('POST', '/$batch', {
      body: {
        requests: [
          { id: '1', method: 'GET', url: `${alice}/messages/${created.body.id}?$select=subject` },
          { id: '2', method: 'GET', url: `${alice}/messages/AAMkAnope` },
          {
            id: '3',
            method: 'PATCH',
            url: `${alice}/messages/${created.body.id}`,
            headers: { 'content-type': 'application/json' },
            body: { subject: 'Batched 2' },
            dependsOn: ['1'],
          },
          { id: '4', method: 'GET', url: `${alice}/messages/${created.body.id}`, dependsOn: ['2'] },
          { id: '5', method: 'GET', url: `${alice}/messages/${created.body.id}`, headers: immutable },
        ],
      },
    });
    expect(answer.status).toBe(200);
    const byId = Object.fromEntries(answer.body.responses.map((r) => [r.id, r]));
    expect(byId['1']).toMatchObject({ status: 200, body: { subject: 'Batched' } });
    expect(byId['2']).toMatchObject({ status: 404, body: { error: { code: 'ErrorItemNotFound' } } });
    expect(byId['3']).toMatchObject({ status: 200, body: { subject: 'Batched 2' } });
    expect(byId['4']?.status).toBe(424);
    expect(byId['5']?.headers?.['preference-applied']).toBe('IdType="ImmutableId"');
    expect(byId['5']?.body?.id).not.toBe(created.body.id);
  });

  it('refuses more than 20 requests', async () => {
    const requests = Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: 'GET', url: `${alice}/messages` }));
    const answer = await graph.call('POST', '/$batch', { body: { requests } });
    expect(answer.status).toBe(400);
  });
});

describe('translateExchangeIds', () => {
  it('translates EWS ids to immutable ones and back through every type', async () => {
    const admin = graph.emulator.admin;
    const ewsIds = [1, 2, 3].map(
      (i) => admin.createItem('alice@contoso.test', { kind: 'Contact', DisplayName: `C${i}` })?.id ?? '',
    );
    const toImmutable = await graph.call<{ value: { sourceId: string; targetId?: string }[] }>(
      'POST',
      `${alice}/translateExchangeIds`,
      {
        body: { inputIds: [...ewsIds, 'AAMkAunknown1'], sourceIdType: 'ewsId', targetIdType: 'restImmutableEntryId' },
      },
    );
    expect(toImmutable.status).toBe(200);
    const [a, b, c, unknown] = toImmutable.body.value;
    for (const [index, entry] of [a, b, c].entries()) {
      expect(entry?.sourceId).toBe(ewsIds[index]);
      const got = await graph.call('GET', `${alice}/contacts/${entry?.targetId}`, { headers: immutable });
      expect(got.body.id).toBe(entry?.targetId);
    }
    expect(unknown).toMatchObject({ sourceId: 'AAMkAunknown1', errorDetails: { code: 'ErrorItemNotFound' } });
    const entry = await graph.call<{ value: { targetId: string }[] }>('POST', `${alice}/translateExchangeIds`, {
      body: { inputIds: [a?.targetId], sourceIdType: 'restImmutableEntryId', targetIdType: 'entryId' },
    });
    const back = await graph.call<{ value: { targetId: string }[] }>('POST', `${alice}/translateExchangeIds`, {
      body: { inputIds: [entry.body.value[0]?.targetId], sourceIdType: 'entryId', targetIdType: 'ewsId' },
    });
    expect(back.body.value[0]?.targetId).toBe(ewsIds[0]);
  });

  it('refuses more than 1,000 ids', async () => {
    const inputIds = Array.from({ length: 1001 }, (_, i) => `AAMkA${i}`);
    const answer = await graph.call('POST', `${alice}/translateExchangeIds`, {
      body: { inputIds, sourceIdType: 'ewsId', targetIdType: 'restId' },
    });
    expect(answer.status).toBe(400);
  });
});
