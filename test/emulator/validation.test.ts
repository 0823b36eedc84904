import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ns } from '../../emulator/soap/envelope.js';
import { ewsSchemaDirectory, ResponseRecorder, SchemaValidationError } from '../../emulator/validation.js';
import { ewsSchema, schemaChecks } from '../support/ews-schema.js';
import { envelopeOf } from './support/harness.js';

const root = (name: string, inner: string) => `<m:${name} xmlns:m="${ns.m}" xmlns:t="${ns.t}">${inner}</m:${name}>`;

describe.skipIf(!schemaChecks)('response validation against messages.xsd', () => {
  it('names the operation and the first schema error of a body that does not validate', async () => {
    const recorder = new ResponseRecorder(ewsSchema);
    recorder.record(
      'GetFolder',
      root(
        'GetFolderResponse',
        '<m:ResponseMessages><m:GetFolderResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode></m:GetFolderResponseMessage></m:ResponseMessages>',
      ),
    );
    recorder.record(
      'GetItem',
      root(
        'GetItemResponse',
        '<m:ResponseMessages><m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:CalendarItem><t:Start>2024-01-01T00:00:00Z</t:Start><t:Subject>late</t:Subject></t:CalendarItem></m:Items></m:GetItemResponseMessage></m:ResponseMessages>',
      ),
    );
    const failure = await recorder.check().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SchemaValidationError);
    expect((failure as Error).message).toMatch(/^GetItem does not validate against messages\.xsd: .*Subject/);
  });

  it("accepts Exchange's m:Notification in GetStreamingEvents, the one deviation the emulator copies", async () => {
    const recorder = new ResponseRecorder(ewsSchema);
    recorder.record(
      'GetStreamingEvents',
      root(
        'GetStreamingEventsResponse',
        '<m:ResponseMessages><m:GetStreamingEventsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Notifications><m:Notification><t:SubscriptionId>abc</t:SubscriptionId><t:StatusEvent><t:Watermark>w</t:Watermark></t:StatusEvent></m:Notification></m:Notifications></m:GetStreamingEventsResponseMessage></m:ResponseMessages>',
      ),
    );
    expect(await recorder.check()).toBe(1);
    expect(recorder.operations()).toEqual({ GetStreamingEvents: 1 });
  });
});

describe.skipIf(!schemaChecks)('request validation against messages.xsd', () => {
  const header = '<t:RequestServerVersion Version="Exchange2013_SP1"/>';
  const getItem = (ids: string) =>
    envelopeOf(
      header,
      `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape><m:ItemIds>${ids}</m:ItemIds></m:GetItem>`,
    );

  it('fails on a request the emulator accepted that does not validate, naming it', async () => {
    const recorder = new ResponseRecorder(ewsSchema);
    recorder.recordRequest('GetItem', getItem('<t:ItemId Id="AAMkA1"/>'), 'accepted');
    recorder.recordRequest('GetItem', getItem(''), 'accepted');
    const failure = await recorder.check().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(SchemaValidationError);
    expect((failure as Error).message).toMatch(
      /^GetItem request \(accepted\) does not validate against messages\.xsd: .*ItemIds/,
    );
  });

  it('fails on a request the emulator refused as schema-invalid that validates', async () => {
    const recorder = new ResponseRecorder(ewsSchema);
    recorder.recordRequest('GetItem', getItem(''), 'refused');
    recorder.recordRequest('GetItem', '<not xml', 'refused');
    expect(await recorder.check()).toBe(2);
    recorder.recordRequest('GetItem', getItem('<t:ItemId Id="AAMkA1"/>'), 'refused');
    await expect(recorder.check()).rejects.toThrow(/GetItem: the emulator refused a request .* that validates/);
  });
});

describe('where the EWS schema is looked for', () => {
  it('takes the folder EXH_EWS_SCHEMA_DIR names when it holds messages.xsd', () => {
    const folder = mkdtempSync(join(tmpdir(), 'exh-schema-'));
    writeFileSync(join(folder, 'messages.xsd'), '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>');
    expect(ewsSchemaDirectory({ EXH_EWS_SCHEMA_DIR: folder })).toBe(folder);
  });

  it('refuses a folder named by EXH_EWS_SCHEMA_DIR without messages.xsd, naming the variable and the fix', () => {
    const folder = mkdtempSync(join(tmpdir(), 'exh-schema-'));
    expect(() => ewsSchemaDirectory({ EXH_EWS_SCHEMA_DIR: folder })).toThrow(
      /^EXH_EWS_SCHEMA_DIR is .*exh-schema-.*, which has no messages\.xsd: point it at the folder/,
    );
  });

  it('without the variable, finds the schema beside the checkout or nothing (never a folder without messages.xsd)', () => {
    const found = ewsSchemaDirectory({});
    if (found !== undefined) expect(existsSync(join(found, 'messages.xsd'))).toBe(true);
    expect(found === undefined || found.endsWith(join('shared', 'reference', 'ews-schema'))).toBe(true);
  });
});
