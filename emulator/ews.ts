import { anchorMailbox, effectiveMailbox } from './auth.js';
import type { Core, OperationContext } from './context.js';
import { type AffinityHeaders, routeRequest } from './notifications/affinity.js';
import { createAttachments, deleteAttachments, getAttachments } from './ops/attachments.js';
import { getUserAvailability } from './ops/availability.js';
import type { Operation, StreamingHandler } from './ops/common.js';
import { convertId } from './ops/convert-id.js';
import { findItems } from './ops/find-item.js';
import { findFolder, getFolder } from './ops/folders.js';
import { createItems, deleteItems, getItems, sendItems, updateItems } from './ops/items.js';
import { moveItems } from './ops/move-item.js';
import { getEvents, getStreamingEvents, subscribe, unsubscribe } from './ops/notifications.js';
import { getUserOofSettings, setUserOofSettings } from './ops/oof.js';
import { resolveNames } from './ops/resolve-names.js';
import { getRoomLists, getRooms } from './ops/room-lists.js';
import { getServerTimeZones } from './ops/server-time-zones.js';
import { syncFolderItems } from './ops/sync.js';
import { syncFolderHierarchy } from './ops/sync-folder-hierarchy.js';
import { type ExchangeVersion, envelope, faultEnvelope, ns, versions } from './soap/envelope.js';
import { checkNamespaces, checkOperation } from './soap/request-schema.js';
import { EwsError, SoapFault } from './soap/response-codes.js';
import { schemaFault } from './soap/schema-check.js';
import { child, type Namespaces, parseXml, type XmlNode, XmlSyntaxError } from './xml/node.js';

/**
 * One EWS request from HTTP body to SOAP answer: the envelope and the operation checked against the schema (as far
 * as soap/request-schema.ts knows it), version, impersonation and anchor mailbox, the faults switched on, then the
 * operation. Anything a client sends gets an answer; nothing it sends crashes the server.
 */

const operations: Record<string, Operation> = {
  GetFolder: getFolder,
  FindFolder: findFolder,
  CreateItem: createItems,
  GetItem: getItems,
  UpdateItem: updateItems,
  DeleteItem: deleteItems,
  MoveItem: moveItems,
  SendItem: sendItems,
  FindItem: findItems,
  SyncFolderItems: syncFolderItems,
  CreateAttachment: createAttachments,
  GetAttachment: getAttachments,
  DeleteAttachment: deleteAttachments,
  Subscribe: subscribe,
  Unsubscribe: unsubscribe,
  GetEvents: getEvents,
  GetStreamingEvents: getStreamingEvents,
  ConvertId: (request, ctx) => convertId(request, ctx.core),
  SyncFolderHierarchy: syncFolderHierarchy,
  ResolveNames: resolveNames,
  GetServerTimeZones: getServerTimeZones,
  GetRoomLists: getRoomLists,
  GetRooms: getRooms,
  GetUserOofSettingsRequest: getUserOofSettings,
  SetUserOofSettingsRequest: setUserOofSettings,
  GetUserAvailabilityRequest: getUserAvailability,
};

export const supportedOperations = Object.keys(operations);

export type EwsAnswer =
  | { status: number; headers: Record<string, string>; body: string; operation: string }
  | { status: 200; headers: Record<string, string>; stream: StreamingHandler; operation: string };

export interface EwsRequest {
  account: string;
  body: string;
  anchorHeader: string | undefined;
  /** X-PreferServerAffinity and X-BackEndOverrideCookie (notifications/affinity.ts). */
  affinity?: AffinityHeaders;
}

const noAffinity: AffinityHeaders = { preferServerAffinity: false, backEndCookie: undefined };

const xmlHeaders = { 'content-type': 'text/xml; charset=utf-8' };

function faultAnswer(
  fault: SoapFault,
  operation: string,
  headers: Record<string, string> = {},
): EwsAnswer & { faultCode: string } {
  return {
    status: 500,
    headers: { ...xmlHeaders, ...headers },
    body: faultEnvelope(fault),
    operation,
    faultCode: fault.code,
  };
}

function requestVersion(header: XmlNode | undefined): ExchangeVersion {
  const raw = child(header, 'RequestServerVersion')?.a?.Version;
  if (raw === undefined) return 'Exchange2007_SP1';
  if (!(versions as readonly string[]).includes(raw)) throw new SoapFault('ErrorInvalidServerVersion');
  return raw as ExchangeVersion;
}

/** The SOAP envelope around the operation, as Exchange accepts it: SOAP 1.1, an optional Header, one operation. */
function readEnvelope(body: string): {
  header: XmlNode | undefined;
  call: XmlNode;
  namespaceOf: (node: XmlNode) => string;
} {
  const namespaces: Namespaces = new Map();
  let root: XmlNode;
  try {
    root = parseXml(body, namespaces);
  } catch (error) {
    if (!(error instanceof XmlSyntaxError)) throw error;
    throw schemaFault(error.message);
  }
  const namespaceOf = (node: XmlNode) => namespaces.get(node) ?? '';
  const parts = root.c ?? [];
  const soap = (node: XmlNode | undefined, name: string) => node?.n === name && namespaceOf(node) === ns.soap;
  const [first, second] = parts;
  const header = soap(first, 'Header') ? first : undefined;
  const bodyNode = header ? second : first;
  const calls = bodyNode?.c ?? [];
  const call = calls[0];
  if (
    !soap(root, 'Envelope') ||
    !soap(bodyNode, 'Body') ||
    parts.length !== (header ? 2 : 1) ||
    !call ||
    calls.length !== 1
  ) {
    throw schemaFault(
      `a SOAP 1.1 Envelope (namespace '${ns.soap}') with an optional Header and a Body holding one operation is expected.`,
    );
  }
  // Header elements of other namespaces are not Exchange's business (SOAP lets them through); they are not read.
  const known = header && { ...header, c: (header.c ?? []).filter((node) => namespaceOf(node) === ns.t) };
  return { header: known, call, namespaceOf };
}

export async function handleEws(core: Core, request: EwsRequest): Promise<EwsAnswer> {
  const at = core.now();
  const seen: { mailbox?: string; version?: string } = {};
  const answer = await answerEws(core, request, seen);
  core.requests.add({
    at,
    answeredAt: core.now(),
    operation: answer.operation,
    account: request.account,
    ...(seen.version === undefined ? {} : { requestedVersion: seen.version }),
    ...(seen.mailbox === undefined ? {} : { mailbox: seen.mailbox }),
    ...(request.anchorHeader ? { anchorMailbox: request.anchorHeader } : {}),
    ...(request.affinity?.preferServerAffinity ? { preferServerAffinity: true } : {}),
    ...(request.affinity?.backEndCookie ? { backEndCookie: request.affinity.backEndCookie } : {}),
    status: answer.status,
    ...(answer.faultCode === undefined ? {} : { fault: answer.faultCode }),
    ...(answer.responseCode === undefined ? {} : { responseCode: answer.responseCode }),
  });
  // Every request the emulator accepted, and every one it refused as schema-invalid, is checked against
  // messages.xsd with the responses (validateResponses): the emulator's own checks must agree with the schema.
  if (answer.status === 200) core.recorder?.recordRequest(answer.operation, request.body, 'accepted');
  else if (answer.faultCode === 'ErrorSchemaValidation')
    core.recorder?.recordRequest(answer.operation, request.body, 'refused');
  return answer;
}

/** The ResponseCode of the first response message with ResponseClass="Error" (the response codes come first). */
function firstErrorCode(body: string): string | undefined {
  const at = body.indexOf('ResponseClass="Error"');
  if (at < 0) return undefined;
  return /<m:ResponseCode>(\w+)<\/m:ResponseCode>/.exec(body.slice(at))?.[1];
}

/**
 * `seen.mailbox` is set once the mailbox acted on is known, `seen.version` once the envelope is read, for the request
 * log.
 */
async function answerEws(
  core: Core,
  request: EwsRequest,
  seen: { mailbox?: string; version?: string },
): Promise<EwsAnswer & { faultCode?: string; responseCode?: string }> {
  let operation = 'unknown';
  try {
    const { header, call, namespaceOf } = readEnvelope(request.body);
    operation = call.n;
    const asked = child(header, 'RequestServerVersion')?.a?.Version;
    if (asked !== undefined) seen.version = asked;
    checkNamespaces(call, namespaceOf);
    const run = operations[operation];
    if (!run) {
      throw new SoapFault(
        'ErrorInvalidRequest',
        `The request is invalid: the emulator does not implement ${operation}.`,
      );
    }
    checkOperation(call, namespaceOf);
    const version = requestVersion(header);
    // ConvertId needs no mailbox of the caller's: an account without one (the service account) converts too.
    if (operation === 'ConvertId' && !child(header, 'ExchangeImpersonation') && !core.store.get(request.account)) {
      const result = convertId(call, core);
      core.recorder?.record(operation, result);
      return { status: 200, headers: xmlHeaders, body: envelope(result), operation };
    }
    const mailbox = effectiveMailbox(core, request.account, header);
    seen.mailbox = mailbox.address;
    const anchor = anchorMailbox(core, request.anchorHeader, mailbox);
    const route = routeRequest(core, anchor, request.anchorHeader, request.affinity ?? noAffinity);
    const headers: Record<string, string> = { 'x-calculatedbetarget': route.server, ...route.headers };
    const target = { operation, mailbox };
    const latency = core.faults.take('latency', target);
    if (latency) await new Promise<void>((resolve) => core.clock.setTimeout(resolve, latency.ms));
    const status = core.faults.take('httpStatus', target);
    if (status) {
      return {
        status: status.status,
        headers: { 'content-type': 'text/html' },
        body: `<html><body>HTTP ${status.status}</body></html>`,
        operation,
      };
    }
    const moving =
      core.faults.take('mailboxMove', target) ??
      (anchor !== mailbox ? core.faults.take('mailboxMove', { operation, mailbox: anchor }) : undefined);
    if (moving) {
      return faultAnswer(new SoapFault('ErrorMailboxMoveInProgress', undefined, {}, 'Server'), operation, headers);
    }
    const busy = core.faults.take('serverBusy', target);
    if (busy) {
      return faultAnswer(
        new SoapFault('ErrorServerBusy', undefined, { BackOffMilliseconds: String(busy.backOffMs) }, 'Server'),
        operation,
        headers,
      );
    }
    const timeZone = child(child(header, 'TimeZoneContext'), 'TimeZoneDefinition')?.a?.Id;
    const ctx: OperationContext = { core, operation, version, account: request.account, mailbox, timeZone };
    const result = await run(call, ctx);
    if (typeof result !== 'string')
      return { status: 200, headers: { ...xmlHeaders, ...headers }, stream: result.stream, operation };
    core.recorder?.record(operation, result);
    const failed = firstErrorCode(result);
    return {
      status: 200,
      headers: { ...xmlHeaders, ...headers },
      body: envelope(result),
      operation,
      ...(failed ? { responseCode: failed } : {}),
    };
  } catch (error) {
    if (error instanceof SoapFault) return faultAnswer(error, operation);
    if (error instanceof EwsError)
      return faultAnswer(new SoapFault(error.code, error.message, error.values), operation);
    core.log.error({ err: error, operation }, 'EWS operation failed unexpectedly');
    return faultAnswer(new SoapFault('ErrorInternalServerError', undefined, {}, 'Server'), operation);
  }
}
