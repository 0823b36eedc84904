import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { EwsMailbox } from '../../../src/exchange/ews/connection.js';
import { getItems } from '../../../src/exchange/ews/items.js';
import { subscribeInGroup } from '../../../src/exchange/ews/subscriptions/affinity.js';
import { changedFolders, summarize } from '../../../src/exchange/ews/subscriptions/events.js';
import { syncFolder } from '../../../src/exchange/ews/sync.js';
import { EwsTransport } from '../../../src/exchange/ews/transport.js';
import { all, at, parseXml } from '../../../src/exchange/ews/xml.js';
import { fingerprint } from '../../../src/exchange/subscription-events.js';
import { recordingLogger } from '../../support/recording-logger.js';
import { aliceTarget, scriptedServer, soapAnswer, testTransport } from './scripted-server.js';
import { live } from './support.js';

/**
 * The adapter against Microsoft's own example responses (test/fixtures/ews/, each with the page it comes from), served
 * over HTTP to the adapter's real requests: what Exchange's documentation says Exchange answers must read as the
 * emulator's answers do. Variants add the white space a proxy or pretty-printer may put around ids, which Exchange
 * ignores when it compares them (ids are base64), and cut a notification stream inside an envelope.
 */

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/ews/${name}`, import.meta.url), 'utf8');
const getItemExample = fixture('getitem-calendar-item-allproperties.xml');
const syncExample = fixture('syncfolderitems-meeting-request.xml');
const streamingExample = fixture('getstreamingevents-new-mail.xml');
const subscribeExamples = [fixture('subscribe-pull.xml'), fixture('subscribe-push.xml')];

/** The same answer with white space (spaces, a tab, a line break) around every Id and ChangeKey value. */
const padIds = (xml: string) => xml.replace(/ (Id|ChangeKey)="([^"]+)"/g, ' $1=" \t$2\n "');

/** One envelope of a stream, as Exchange writes it: from `<soap:Envelope` to its end, no declaration. */
const streamEnvelope = streamingExample.slice(streamingExample.indexOf('<soap:Envelope')).trimEnd();

function mailboxOn(base: string): EwsMailbox {
  return {
    user: 'alice@contoso.test',
    target: aliceTarget(base),
    transport: testTransport(),
    request: (_options: unknown, _extra: unknown, task: (signal: AbortSignal) => Promise<unknown>) =>
      task(new AbortController().signal),
  } as unknown as EwsMailbox;
}

describe('GetItem (calendar item, AllProperties)', () => {
  it("reads Microsoft's example: id, change key, class and the appointment's times", async () => {
    for (const answer of [getItemExample, padIds(getItemExample)]) {
      const server = await scriptedServer(() => ({ body: answer }));
      const [result] = await getItems(
        testTransport(),
        aliceTarget(server.base),
        [{ id: 'ASUAdT' }],
        'text',
        live().signal,
      );
      expect(result && 'item' in result).toBe(true);
      const item = result && 'item' in result ? result.item : undefined;
      expect(item).toMatchObject({ id: 'ASUAdT', changeKey: 'otlIqB==', itemClass: 'IPM.Appointment' });
      expect(item?.properties).toMatchObject({ start: '2006-06-16T00:30:00.000Z', end: '2006-06-16T01:00:00.000Z' });
    }
  });
});

describe('SyncFolderItems', () => {
  it("reads Microsoft's example page and asks GetItem for its item by the id Exchange compares", async () => {
    for (const answer of [syncExample, padIds(syncExample)]) {
      const server = await scriptedServer(({ body }) => {
        if (body.includes('<m:SyncFolderItems>')) return { body: answer };
        return {
          body: soapAnswer(
            '<m:GetItemResponse><m:ResponseMessages><m:GetItemResponseMessage ResponseClass="Success">' +
              '<m:ResponseCode>NoError</m:ResponseCode><m:Items><t:MeetingRequest>' +
              '<t:ItemId Id="AQApAHRwA==" ChangeKey="CwAAABYA"/><t:Subject>Budget Q3</t:Subject>' +
              '</t:MeetingRequest></m:Items></m:GetItemResponseMessage></m:ResponseMessages></m:GetItemResponse>',
          ),
        };
      });
      const page = await syncFolder(mailboxOn(server.base), 'sentitems', null, { ...live(), maxChanges: 100 });
      expect(page.done).toBe(true);
      expect(page.changes.map((c) => ('item' in c ? `${c.type} ${c.item.id}` : c.type))).toEqual([
        'create AQApAHRwA==',
      ]);
      expect(server.received[1]?.body).toContain('<t:ItemId Id="AQApAHRwA=="/>');
    }
  });
});

describe('Subscribe', () => {
  it("reads the subscription id of Microsoft's pull and push examples (prefixed and default namespace)", async () => {
    const expected = ['39ea5d0f-f062-455e-a1e9-89c0304390f4', '83826921-afdf-48be-b469-628cc02b5f49'];
    for (const [index, example] of subscribeExamples.entries()) {
      const padded = example.replace(/SubscriptionId>([^<]+)</, 'SubscriptionId>\n   $1  \n<');
      for (const answer of [example, padded]) {
        const server = await scriptedServer(() => ({ body: answer }));
        const affinity = { anchor: 'alice@contoso.test', cookie: undefined };
        await expect(subscribeInGroup(mailboxOn(server.base), affinity, ['inbox'], live())).resolves.toBe(
          expected[index],
        );
      }
    }
  });
});

describe('GetStreamingEvents', () => {
  const notificationsOf = (envelope: string) =>
    all(
      at(
        all(
          at(parseXml(envelope), 'Envelope', 'Body', 'GetStreamingEventsResponse', 'ResponseMessages'),
          'GetStreamingEventsResponseMessage',
        )[0],
        'Notifications',
      ),
      'Notification',
    );
  const inbox =
    'AQMkADkzNjJjODUzLWZhMDMtNDVkMS05ZDdjLWVmMDlkYjQ1Zjc4MwAuAAADUkllSq5hlEyRPjFSL6H4JQEA2RgAmUKUoEqcjZHsWHtm+wAAAgENAAAA';

  it("summarizes Microsoft's example notification: its subscription, three changes, the folders they name", () => {
    for (const envelope of [streamEnvelope, padIds(streamEnvelope)]) {
      const [notification] = notificationsOf(envelope);
      const summary = summarize(notification ?? {});
      expect(summary).toMatchObject({ subscriptionId: 'f6bc657d-dde1-4f94-952d-143b95d6483d', changes: 3 });
      expect(summary.folderIds).toContain(inbox);
      // The folder the connection knows as the inbox is found by the id Exchange compares.
      expect(changedFolders(summary.folderIds, ['inbox', 'calendar'], new Map([[inbox, 'inbox']]))).toEqual(['inbox']);
    }
  });

  const servers: Server[] = [];
  afterAll(async () => {
    for (const server of servers) server.closeAllConnections();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  async function stream(parts: string[]): Promise<string> {
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
      for (const part of parts) response.write(part);
      response.end();
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/EWS/Exchange.asmx`;
  }

  const request =
    '<m:GetStreamingEvents><m:SubscriptionIds><t:SubscriptionId>f6bc657d-dde1-4f94-952d-143b95d6483d</t:SubscriptionId>' +
    '<t:SubscriptionId>AQAAAOpvG0LURVdOhQkPOWZLPcI8EgAAAAAAAAE=</t:SubscriptionId></m:SubscriptionIds>' +
    '<m:ConnectionTimeout>30</m:ConnectionTimeout></m:GetStreamingEvents>';

  async function read(url: string) {
    const { logger, records } = recordingLogger<{ level: number; msg: string; subscriptions?: string[] }>();
    const transport = new EwsTransport({
      timeoutMs: 2000,
      ignoreSsl: false,
      authorization: 'Basic eDp5',
      account: 'x',
      logger,
    });
    const got: string[] = [];
    const error = await new Promise<unknown>((resolve) => {
      void transport.openStream(
        url,
        request,
        {},
        undefined,
        { user: 'alice@contoso.test', account: 'x' },
        {
          silenceMs: 2000,
          onEnvelope: (envelope) => got.push(envelope),
          onEnd: resolve,
        },
      );
    });
    transport.close();
    return { got, error, warnings: records.filter((r) => r.level === 40) };
  }

  it("hands over Microsoft's example envelope whole, and says nothing when the stream ends between envelopes", async () => {
    const { got, error, warnings } = await read(
      await stream([streamEnvelope.slice(0, 300), streamEnvelope.slice(300)]),
    );
    expect(error).toBeUndefined();
    expect(got).toEqual([streamEnvelope]);
    expect(notificationsOf(got[0] ?? '')).toHaveLength(1);
    expect(warnings).toEqual([]);
  });

  it('warns, naming the subscriptions of the stream, when it ends inside an envelope', async () => {
    const cut = streamEnvelope.indexOf('<t:NewMailEvent>');
    const { got, error, warnings } = await read(await stream([streamEnvelope, streamEnvelope.slice(0, cut)]));
    expect(error).toBeUndefined();
    expect(got).toEqual([streamEnvelope]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.subscriptions).toEqual([
      fingerprint('f6bc657d-dde1-4f94-952d-143b95d6483d'),
      fingerprint('AQAAAOpvG0LURVdOhQkPOWZLPcI8EgAAAAAAAAE='),
    ]);
    expect(warnings[0]?.msg).toContain(fingerprint('f6bc657d-dde1-4f94-952d-143b95d6483d'));
    expect(warnings[0]?.msg).toMatch(/ended inside an envelope/);
  });
});
