import { z } from 'zod';
import type { Core, OperationContext } from '../context.js';
import { supportedOperations } from '../ews.js';
import { type Fault, type FaultInput, faultSchema } from '../faults.js';
import { ewsIdOfResolved, graphIdOf, graphOccurrenceId, resolveGraphId } from '../graph/ids.js';
import { type GraphSubscription, graphSubscriptions, type LifecycleEvent } from '../graph/notifications/registry.js';
import { graphOperations } from '../graph/operations.js';
import { type GraphAppOptions, graphTenant } from '../graph/token.js';
import { exceptionOf, type ItemView, occurrencesIn, resolveItemId, viewOf } from '../items/calendar.js';
import { readExtended } from '../items/extended.js';
import { fieldByElement, type ItemKind } from '../items/fields.js';
import { readAttachment, readItem, readValue } from '../items/read.js';
import { transact } from '../items/update.js';
import { isoSeconds, normalizeDate } from '../items/values.js';
import type { SubscriptionKind } from '../notifications/subscriptions.js';
import { commitChange, createItem, deleteItem } from '../ops/items.js';
import type { LoggedRequest, RequestFilter } from '../request-log.js';
import { EwsError } from '../soap/response-codes.js';
import { isWellFormedId } from '../store/ids.js';
import type { Mailbox } from '../store/mailbox.js';
import type { PropValue, StoredItem } from '../store/model.js';
import type { XmlNode } from '../xml/node.js';
import { type Json, jsonToNode, valueToJson } from './json.js';

/**
 * The in-process admin API (also served as JSON at /emulator/admin): act as a mailbox's owner — create, change and
 * delete items the way a person in Outlook would, so that sync states move and notifications fire — list and reset
 * mailboxes, switch faults, end subscriptions.
 */

export class AdminError extends Error {
  override readonly name = 'AdminError';
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
  }
}

export interface ItemInput {
  kind: 'CalendarItem' | 'Message' | 'Contact' | 'Task';
  /** A distinguished folder name; default: the kind's folder (drafts for messages that are not sent). */
  folder?: string;
  /** Messages: deliver to the recipients (and keep a copy in Sent Items). */
  send?: boolean;
  /** Appointments with attendees: send meeting requests (default true). */
  sendInvitations?: boolean;
  /** Choose the item id (for tests of ids that differ only in case); must look like an Exchange id. */
  id?: string;
  ExtendedProperties?: Record<string, string>[];
  Attachments?: { Name: string; ContentType?: string; Content: string; IsInline?: boolean }[];
  [property: string]: Json | undefined;
}

export interface ItemSummary {
  /** The EWS id. */
  id: string;
  /** The id Microsoft Graph gives the item with `Prefer: IdType="ImmutableId"` (kept across moves). */
  graphId: string;
  changeKey: string;
  kind: ItemKind;
  folder: string;
  created: string;
  modified: string;
  properties: Record<string, Json>;
  extendedProperties: { uri: Record<string, string>; value: Json }[];
  attachments: { id: string; name: string; size: number }[];
  occurrence?: { index: number; originalStart: string; exception: boolean };
}

const controlKeys = new Set(['kind', 'folder', 'send', 'sendInvitations', 'ExtendedProperties', 'Attachments', 'id']);
/** Time-zone properties are read into the emulator's own fields rather than stored as they are. */
const zoneKeys = new Set(['StartTimeZone', 'EndTimeZone', 'MeetingTimeZone']);

/** The settings that can change while the emulator runs (admin.updateSettings, PATCH /emulator/admin/settings). */
export const settingsSchema = z
  .object({
    maxHangingConnections: z.number().int().positive(),
    findCountLimit: z.number().int().positive(),
    impersonationAllowed: z.boolean(),
    copyExtendedPropertiesToAttendees: z.boolean(),
  })
  .partial()
  .strict();
export type EmulatorSettingsInput = z.input<typeof settingsSchema>;
export type RuntimeSettings = Required<EmulatorSettingsInput>;

function extendedNode(input: Record<string, string>): XmlNode {
  const { Value, ...uri } = input;
  return {
    n: 'ExtendedProperty',
    c: [
      { n: 'ExtendedFieldURI', a: { PropertyType: 'String', ...uri } },
      { n: 'Value', t: Value ?? '' },
    ],
  };
}

export class EmulatorAdmin {
  constructor(
    private readonly core: Core,
    private readonly persist: () => Promise<void>,
  ) {}

  private mailbox(address: string): Mailbox {
    const mailbox = this.core.store.get(address);
    if (!mailbox) throw new AdminError(404, `No mailbox ${address}.`);
    return mailbox;
  }

  /** The context of a person acting in their own mailbox. */
  private as(mailbox: Mailbox): OperationContext {
    return {
      core: this.core,
      operation: 'admin',
      version: 'Exchange2016',
      account: mailbox.address,
      mailbox,
      timeZone: undefined,
    };
  }

  private folderName(mailbox: Mailbox, folderId: string): string {
    const folder = mailbox.folders.get(folderId);
    return folder?.distinguished ?? folderId;
  }

  private summary(mailbox: Mailbox, view: ItemView): ItemSummary {
    const properties: Record<string, Json> = {};
    for (const [name, value] of Object.entries(view.props))
      if (!name.startsWith('_')) properties[name] = valueToJson(value);
    const out: ItemSummary = {
      id: view.id,
      graphId: view.occurrence
        ? graphOccurrenceId(view.item, view.occurrence.originalStart, true)
        : graphIdOf(view.item, true),
      changeKey: view.changeKey,
      kind: view.kind,
      folder: this.folderName(mailbox, view.item.folderId),
      created: isoSeconds(view.item.created),
      modified: isoSeconds(view.item.modified),
      properties,
      extendedProperties: (view.item.ext ?? []).map((p) => ({ uri: p.uri, value: p.values ?? p.value ?? '' })),
      attachments: (view.item.attachments ?? []).map((a) => ({ id: a.id, name: a.name, size: a.size })),
    };
    if (typeof view.props._organizer === 'string') out.properties.Organizer = view.props._organizer;
    if (view.props._cancelled === 'true') out.properties.IsCancelled = 'true';
    if (view.occurrence) {
      out.occurrence = {
        index: view.occurrence.index,
        originalStart: isoSeconds(view.occurrence.originalStart),
        exception: view.occurrence.exception,
      };
    }
    return out;
  }

  mailboxes(): { address: string; displayName: string; folders: Record<string, number> }[] {
    return this.core.store.list().map((mailbox) => ({
      address: mailbox.address,
      displayName: mailbox.displayName,
      folders: Object.fromEntries(
        [...mailbox.byDistinguished.entries()].map(([name, folder]) => [name, mailbox.itemsIn(folder.id).size]),
      ),
    }));
  }

  addMailbox(address: string, displayName?: string): void {
    if (!/^[^@\s]+@[^@\s]+$/.test(address)) throw new AdminError(400, `${address} is not an SMTP address.`);
    this.core.store.add(address, displayName);
  }

  removeMailbox(address: string): void {
    this.mailbox(address);
    this.core.subscriptions.expire({ mailbox: address });
    this.core.store.remove(address);
  }

  /** Empties one mailbox or all: their sync states and watermarks stop working, as for a recreated mailbox. */
  reset(address?: string): void {
    const boxes = address ? [this.mailbox(address)] : this.core.store.list();
    for (const mailbox of boxes) {
      this.core.subscriptions.expire({ mailbox: mailbox.address });
      mailbox.reset();
    }
  }

  items(address: string, folder?: string): ItemSummary[] {
    const mailbox = this.mailbox(address);
    const folders = folder
      ? [mailbox.byDistinguished.get(folder) ?? mailbox.folders.get(folder)]
      : [...mailbox.folders.values()];
    if (folders.some((f) => f === undefined)) throw new AdminError(404, `No folder ${folder} in ${address}.`);
    const out: ItemSummary[] = [];
    for (const f of folders) {
      if (!f) continue;
      for (const item of mailbox.itemsIn(f.id).values()) out.push(this.summary(mailbox, viewOf(item)));
    }
    return out;
  }

  item(address: string, id: string): ItemSummary {
    const mailbox = this.mailbox(address);
    return this.summary(mailbox, this.resolve(mailbox, id));
  }

  /** Occurrences of a recurring series between two times (ids usable with updateItem and deleteItem). */
  occurrences(address: string, masterId: string, from: string, to: string): ItemSummary[] {
    const mailbox = this.mailbox(address);
    const master = this.resolve(mailbox, masterId).item;
    const start = Date.parse(normalizeDate(from, 'from'));
    const end = Date.parse(normalizeDate(to, 'to'));
    return occurrencesIn(master, start, end).map((view) => this.summary(mailbox, view));
  }

  /** An item (or occurrence) by its EWS id, or by the id Microsoft Graph gives it (either form). */
  private resolve(mailbox: Mailbox, id: string): ItemView {
    try {
      const graph = resolveGraphId(mailbox, id);
      const ewsId = graph ? ewsIdOfResolved(graph) : id;
      return resolveItemId(mailbox, { n: 'ItemId', a: { Id: ewsId } }).view;
    } catch (error) {
      if (error instanceof EwsError) throw new AdminError(404, `${error.code}: ${error.message}`);
      throw error;
    }
  }

  private guard<T>(run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof EwsError) throw new AdminError(400, `${error.code}: ${error.message}`);
      if (error instanceof Error && error.name === 'SoapFault') throw new AdminError(400, error.message);
      throw error;
    }
  }

  /** An item's JSON as the elements CreateItem would carry; unknown and read-only properties are refused. */
  private itemNodes(input: ItemInput): XmlNode[] {
    const c: XmlNode[] = [];
    const refused: string[] = [];
    for (const [name, value] of Object.entries(input)) {
      if (controlKeys.has(name) || value === undefined) continue;
      const def = fieldByElement(input.kind, name);
      if (!zoneKeys.has(name) && (!def || def.storage === 'computed')) refused.push(name);
      else c.push(jsonToNode(name, value));
    }
    if (refused.length > 0) {
      throw new AdminError(
        400,
        `${input.kind} has no property ${refused.join(', ')} that can be set (properties use EWS names, e.g. Subject).`,
      );
    }
    for (const ext of input.ExtendedProperties ?? []) c.push(extendedNode(ext));
    if (input.Attachments?.length) {
      c.push({
        n: 'Attachments',
        c: input.Attachments.map((a) => ({
          n: 'FileAttachment',
          c: [
            { n: 'Name', t: a.Name },
            ...(a.ContentType ? [{ n: 'ContentType', t: a.ContentType }] : []),
            { n: 'IsInline', t: String(a.IsInline === true) },
            { n: 'Content', t: a.Content },
          ],
        })),
      });
    }
    return c;
  }

  /** Creates an item as the mailbox's owner; returns it (a sent message returns its Sent Items copy, if any). */
  createItem(address: string, input: ItemInput): ItemSummary | undefined {
    const mailbox = this.mailbox(address);
    const kinds = ['CalendarItem', 'Message', 'Contact', 'Task'];
    if (!kinds.includes(input.kind)) throw new AdminError(400, `kind must be one of ${kinds.join(', ')}.`);
    if (input.id !== undefined && (typeof input.id !== 'string' || !isWellFormedId(input.id)))
      throw new AdminError(
        400,
        `id ${JSON.stringify(input.id)} is not an Exchange item id (base64, 8 to 512 characters).`,
      );
    const ctx = this.as(mailbox);
    const c = this.itemNodes(input);
    return this.guard(() => {
      const folder = input.folder ? mailbox.byDistinguished.get(input.folder) : undefined;
      if (input.folder && !folder) throw new AdminError(404, `No folder ${input.folder} in ${address}.`);
      const before = mailbox.seq;
      const item = createItem(
        ctx,
        { n: input.kind, c },
        {
          messageDisposition: input.kind === 'Message' && input.send ? 'SendAndSaveCopy' : 'SaveOnly',
          sendInvitations: input.sendInvitations === false ? 'SendToNone' : 'SendToAllAndSaveCopy',
          folder,
          ...(typeof input.id === 'string' ? { id: input.id } : {}),
        },
      );
      if (item) return this.summary(mailbox, viewOf(item));
      const sent = [...mailbox.itemsIn(mailbox.folder('sentitems').id).values()].find((i) => i.createdSeq > before);
      return sent ? this.summary(mailbox, viewOf(sent)) : undefined;
    });
  }

  /**
   * Changes an item (or an occurrence, which becomes an exception) as its owner: each property is set, or deleted when
   * its value is null. ExtendedProperties set extended properties. Attendees of a meeting get the update.
   */
  updateItem(address: string, id: string, changes: Record<string, Json | undefined>): ItemSummary {
    const mailbox = this.mailbox(address);
    const ctx = this.as(mailbox);
    const view = this.resolve(mailbox, id);
    return this.guard(() => {
      const touched = transact(view.item, () => this.applyChanges(view, changes, ctx));
      return this.summary(mailbox, commitChange(ctx, view, touched, 'SendToAllAndSaveCopy'));
    });
  }

  private applyChanges(view: ItemView, changes: Record<string, Json | undefined>, ctx: OperationContext): string[] {
    const target: Record<string, PropValue> = view.occurrence
      ? exceptionOf(view.item, view.occurrence.originalStart).props
      : view.item.props;
    const touched: string[] = [];
    for (const [name, value] of Object.entries(changes)) {
      if (value === undefined) continue;
      if (name === 'ExtendedProperties') {
        for (const input of (value as Record<string, string>[]) ?? []) {
          const prop = readExtended(extendedNode(input));
          if (prop) view.item.ext = [...(view.item.ext ?? []).filter((p) => p.key !== prop.key), prop];
        }
      } else if (name === 'StartTimeZone') {
        target._tz = String(value);
      } else {
        const def = fieldByElement(view.kind, name);
        if (!def || def.storage === 'computed') throw new AdminError(400, `${name} cannot be set on a ${view.kind}.`);
        if (value === null) delete target[name];
        else target[name] = readValue(def, jsonToNode(name, value), ctx);
      }
      touched.push(name);
    }
    return touched;
  }

  /** Deletes an item (to Deleted Items, or for good with `hard`) or one occurrence of a series. */
  deleteItem(address: string, id: string, options: { hard?: boolean } = {}): void {
    const mailbox = this.mailbox(address);
    const view = this.resolve(mailbox, id);
    this.guard(() =>
      deleteItem(this.as(mailbox), view, options.hard ? 'HardDelete' : 'MoveToDeletedItems', 'SendToAllAndSaveCopy'),
    );
  }

  /** Adds a file attachment to an item as its owner. */
  addAttachment(
    address: string,
    id: string,
    attachment: { Name: string; Content: string; ContentType?: string },
  ): ItemSummary {
    const mailbox = this.mailbox(address);
    const view = this.resolve(mailbox, id);
    return this.guard(() => {
      const node: XmlNode = {
        n: 'FileAttachment',
        c: [
          { n: 'Name', t: attachment.Name },
          ...(attachment.ContentType ? [{ n: 'ContentType', t: attachment.ContentType }] : []),
          { n: 'Content', t: attachment.Content },
        ],
      };
      view.item.attachments = [...(view.item.attachments ?? []), readAttachment(node, this.core.now())];
      mailbox.touch(view.item);
      return this.summary(mailbox, viewOf(view.item));
    });
  }

  /**
   * Bulk-loads items without notifications (for benchmarks and demos): `count` items with a numbered Subject, spread
   * over consecutive hours for appointments; with a `template` (item JSON without `kind`), each item is a copy of it
   * (its own copy of every value, as separately created items would have).
   */
  seed(
    address: string,
    kind: 'CalendarItem' | 'Message' | 'Contact' | 'Task',
    count: number,
    start = Date.UTC(2024, 0, 1),
    template?: Omit<ItemInput, 'kind'>,
  ): void {
    const mailbox = this.mailbox(address);
    const folder = { CalendarItem: 'calendar', Message: 'inbox', Contact: 'contacts', Task: 'tasks' }[
      kind
    ] as 'calendar';
    const folderId = mailbox.folder(folder).id;
    const base = template
      ? this.guard(() => readItem({ n: kind, c: this.itemNodes({ ...template, kind }) }, kind, this.as(mailbox)))
      : undefined;
    for (let i = 0; i < count; i++) {
      const props: Record<string, PropValue> = base ? structuredClone(base.props) : {};
      props.Subject = `${typeof props.Subject === 'string' ? `${props.Subject} ` : 'Item '}${i + 1}`;
      const ext = base && base.ext.length > 0 ? structuredClone(base.ext) : undefined;
      if (kind === 'CalendarItem') {
        props.Start = isoSeconds(start + i * 3_600_000);
        props.End = isoSeconds(start + i * 3_600_000 + 1_800_000);
        props.UID = `exh-seed-${address}-${i}`;
      }
      mailbox.addItem(folderId, { kind, props, ...(ext ? { ext } : {}) }, true);
    }
  }

  /** The settings that can change while the emulator runs. */
  settings(): RuntimeSettings {
    const { maxHangingConnections, findCountLimit, impersonationAllowed, copyExtendedPropertiesToAttendees } =
      this.core.settings;
    return { maxHangingConnections, findCountLimit, impersonationAllowed, copyExtendedPropertiesToAttendees };
  }

  /** Changes settings at run time (the next request sees them); unknown names and bad values are refused. */
  updateSettings(input: EmulatorSettingsInput): RuntimeSettings {
    const result = settingsSchema.safeParse(input);
    if (!result.success) {
      const problems = result.error.issues.map((i) =>
        i.code === 'unrecognized_keys' ? `unknown setting ${i.keys.join(', ')}` : `${i.path.join('.')}: ${i.message}`,
      );
      throw new AdminError(400, `Invalid settings: ${problems.join('; ')}.`);
    }
    Object.assign(this.core.settings, result.data);
    return this.settings();
  }

  /** A fault as switched on: operations and mailbox must name something that exists, or it would never match. */
  private checkFault(input: FaultInput): FaultInput {
    const parsed = faultSchema.safeParse(input);
    if (!parsed.success)
      throw new AdminError(
        400,
        parsed.error.issues.map((i) => `${i.path.join('.') || 'fault'}: ${i.message}`).join('; '),
      );
    // Graph operations are named graph.* (emulator/graph/router.ts lists them).
    const unknown = (parsed.data.operations ?? []).filter(
      (op) => !supportedOperations.includes(op) && !(graphOperations as readonly string[]).includes(op),
    );
    if (unknown.length > 0) {
      throw new AdminError(
        400,
        `Unknown operation ${unknown.join(', ')}: faults apply to ${[...supportedOperations, ...graphOperations].join(', ')}.`,
      );
    }
    if (parsed.data.mailbox !== undefined && !this.core.store.get(parsed.data.mailbox))
      throw new AdminError(400, `Unknown mailbox ${parsed.data.mailbox}.`);
    return input;
  }

  get faults(): {
    add(input: FaultInput): Fault;
    remove(id: string): boolean;
    clear(): void;
    list(): Fault[];
  } {
    const faults = this.core.faults;
    return {
      add: (input) => faults.add(this.checkFault(input)),
      remove: (id) => faults.remove(id),
      clear: () => faults.clear(),
      list: () => faults.list(),
    };
  }

  subscriptions(): { id: string; kind: SubscriptionKind; mailbox: string; connected: boolean; pending: number }[] {
    return this.core.subscriptions.list().map((s) => ({
      id: s.id,
      kind: s.kind,
      mailbox: s.mailbox.address,
      connected: s.attached,
      pending: s.pending.length,
    }));
  }

  /** The open streaming (GetStreamingEvents) connections: whose budget each counts against, what it carries. */
  streamingConnections(): { budget: string; subscriptions: string[] }[] {
    return [...this.core.subscriptions.connections].map((c) => ({
      budget: c.budget,
      subscriptions: c.subscriptions(),
    }));
  }

  /** Ends subscriptions as if Exchange had lost them: clients get ErrorSubscriptionNotFound. */
  expireSubscriptions(filter: { mailbox?: string; kind?: SubscriptionKind } = {}): number {
    return this.core.subscriptions.expire(filter);
  }

  /**
   * The EWS requests answered (the last 10,000), oldest first: when each arrived and was answered, its operation,
   * mailbox, HTTP status and SOAP fault code. Tests measure a client's waits and retries with it.
   */
  requests(filter: RequestFilter = {}): LoggedRequest[] {
    return this.core.requests.list(filter);
  }

  /** Validates every SOAP body sent so far against messages.xsd (only with validateResponses on). */
  async validateResponses(): Promise<number> {
    if (!this.core.recorder)
      throw new Error('Response validation is off: start the emulator with validateResponses: true.');
    return this.core.recorder.check();
  }

  /** What the emulator has sent, per operation (with validateResponses on). */
  recordedOperations(): Record<string, number> {
    return this.core.recorder?.operations() ?? {};
  }

  /** Microsoft Graph's app registration (tenant, client id and secret, consent, token lifetime) and certificates. */
  graphApp(): ReturnType<ReturnType<typeof graphTenant>['describe']> {
    return graphTenant(this.core).describe();
  }

  /** Changes the Graph app registration; unknown names and bad values are refused. Tokens issued before keep working. */
  updateGraphApp(input: Partial<GraphAppOptions>): ReturnType<EmulatorAdmin['graphApp']> {
    return this.guardZod(() => {
      graphTenant(this.core).configure(input);
      return this.graphApp();
    });
  }

  /** Registers a certificate (PEM) on the Graph app for client assertions; returns its SHA-1 and SHA-256 thumbprints. */
  addGraphCertificate(pem: string): { thumbprintSha1: string; thumbprintSha256: string; notAfter: string } {
    try {
      return graphTenant(this.core).addCertificate(pem);
    } catch (error) {
      throw new AdminError(400, `Not a PEM certificate: ${(error as Error).message}`);
    }
  }

  removeGraphCertificate(thumbprint: string): void {
    if (!graphTenant(this.core).removeCertificate(thumbprint))
      throw new AdminError(404, `No certificate ${thumbprint} on the Graph app.`);
  }

  /**
   * Marks a mailbox as on premises in the hybrid organisation (or back in Exchange Online): Autodiscover v2 then names
   * the emulator's EWS URL for it, and Graph answers MailboxNotEnabledForRESTAPI.
   */
  markOnPremises(address: string, onPremises = true): { address: string; onPremises: boolean } {
    const mailbox = this.mailbox(address);
    graphTenant(this.core).markOnPremises(mailbox.address, onPremises);
    return { address: mailbox.address, onPremises };
  }

  /** Graph's subscriptions, with what waits in their queues. */
  graphSubscriptions(): {
    id: string;
    resource: string;
    mailbox: string;
    expirationDateTime: string;
    needsReauthorization: boolean;
    pending: number;
    retrying: boolean;
    attempts: number;
    failures: number;
  }[] {
    return graphSubscriptions(this.core)
      .list()
      .map((s) => ({
        id: s.id,
        resource: s.resource,
        mailbox: s.mailbox.address,
        expirationDateTime: new Date(s.expiresAt).toISOString(),
        needsReauthorization: s.needsReauthorization,
        pending: s.queue.pending,
        retrying: s.queue.retrying,
        attempts: s.queue.attempts,
        failures: s.queue.failures,
      }));
  }

  private chosenGraphSubscriptions(filter: { subscriptionId?: string; mailbox?: string }): GraphSubscription[] {
    if (filter.mailbox !== undefined) this.mailbox(filter.mailbox);
    const chosen = graphSubscriptions(this.core)
      .list()
      .filter(
        (s) =>
          (filter.subscriptionId === undefined || s.id === filter.subscriptionId) &&
          (filter.mailbox === undefined || s.mailbox.address === filter.mailbox.toLowerCase()),
      );
    if (filter.subscriptionId !== undefined && chosen.length === 0)
      throw new AdminError(404, `No Graph subscription ${filter.subscriptionId}.`);
    return chosen;
  }

  /**
   * Raises a Graph lifecycle event on one subscription, a mailbox's, or all: reauthorizationRequired (notifications
   * held until the app reauthorizes or renews), subscriptionRemoved (the subscription ends), missed (what was queued is
   * dropped). Each gets its lifecycle notification; returns whether each was delivered.
   */
  async graphLifecycle(input: {
    event: LifecycleEvent;
    subscriptionId?: string;
    mailbox?: string;
  }): Promise<{ subscriptionId: string; delivered: boolean }[]> {
    const events: LifecycleEvent[] = ['reauthorizationRequired', 'subscriptionRemoved', 'missed'];
    if (!events.includes(input.event)) throw new AdminError(400, `event must be one of ${events.join(', ')}.`);
    const registry = graphSubscriptions(this.core);
    const out: { subscriptionId: string; delivered: boolean }[] = [];
    for (const subscription of this.chosenGraphSubscriptions(input))
      out.push({ subscriptionId: subscription.id, delivered: await registry.lifecycle(subscription, input.event) });
    return out;
  }

  /** Ends Graph subscriptions as if they had expired (no lifecycle notification); returns how many. */
  expireGraphSubscriptions(filter: { subscriptionId?: string; mailbox?: string } = {}): number {
    const registry = graphSubscriptions(this.core);
    let count = 0;
    for (const subscription of this.chosenGraphSubscriptions(filter))
      if (registry.remove(subscription.id, 'expired (admin)')) count++;
    return count;
  }

  /** Ends every Graph access token handed out (clients get 401 InvalidAuthenticationToken); returns how many. */
  expireGraphTokens(): number {
    return graphTenant(this.core).expireTokens();
  }

  private guardZod<T>(run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof z.ZodError)
        throw new AdminError(400, error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; '));
      throw error;
    }
  }

  /** Writes the mailboxes to the data file now (it is also written on close). */
  save(): Promise<void> {
    return this.persist();
  }

  /** The stored item itself, for tests that look beneath EWS. */
  raw(address: string, id: string): StoredItem {
    return this.resolve(this.mailbox(address), id).item;
  }
}
