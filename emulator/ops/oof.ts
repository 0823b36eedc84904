import type { OperationContext } from '../context.js';
import { errorMessage, responseRoot, successMessage } from '../soap/envelope.js';
import { EwsError } from '../soap/response-codes.js';
import { defaultOofSettings, type OofSettings } from '../store/oof.js';
import { child, text, type XmlNode } from '../xml/node.js';
import { el, textEl } from '../xml/write.js';

/**
 * GetUserOofSettings and SetUserOofSettings: a mailbox's Out of Office state, kept in the mailbox (store/oof.ts).
 * Their answers are shaped unlike other operations (messages.xsd): a single ResponseMessage, then for Get the
 * t:OofSettings and m:AllowExternalOof. The mailbox named in t:Mailbox must be the one acted on (its owner, or the
 * impersonated user): another mailbox here is ErrorAccessDenied (no delegate access in the emulator), an address with
 * no mailbox ErrorNonExistentMailbox. Replies are answered as they were set (Exchange wraps them in HTML).
 */

const states = ['Disabled', 'Enabled', 'Scheduled'] as const;
const audiences = ['None', 'Known', 'All'] as const;

function targetMailbox(request: XmlNode, ctx: OperationContext): void {
  const address = (text(child(request, 'Mailbox'), 'Address') ?? '').trim();
  if (address.toLowerCase() === ctx.mailbox.address) return;
  if (!address || !ctx.core.store.get(address)) throw new EwsError('ErrorNonExistentMailbox');
  throw new EwsError('ErrorAccessDenied', `${ctx.mailbox.address} has no access to ${address}'s OOF settings.`);
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function reply(name: string, message: string, lang: string | undefined): string {
  return el(`t:${name}`, lang ? { 'xml:lang': lang } : undefined, textEl('t:Message', message));
}

function settingsXml(settings: OofSettings): string {
  return el(
    't:OofSettings',
    undefined,
    textEl('t:OofState', settings.state) +
      textEl('t:ExternalAudience', settings.externalAudience) +
      el(
        't:Duration',
        undefined,
        textEl('t:StartTime', isoSeconds(Date.parse(settings.start))) +
          textEl('t:EndTime', isoSeconds(Date.parse(settings.end))),
      ) +
      reply('InternalReply', settings.internalReply, settings.internalLang) +
      reply('ExternalReply', settings.externalReply, settings.externalLang),
  );
}

export function getUserOofSettings(request: XmlNode, ctx: OperationContext): string {
  let inner: string;
  try {
    targetMailbox(request, ctx);
    const settings = ctx.mailbox.oof ?? defaultOofSettings(ctx.core.now());
    inner = successMessage('ResponseMessage') + settingsXml(settings) + textEl('m:AllowExternalOof', 'All');
  } catch (error) {
    if (!(error instanceof EwsError)) throw error;
    inner = errorMessage('ResponseMessage', error);
  }
  return responseRoot('GetUserOofSettingsResponse', inner);
}

function dateOf(node: XmlNode | undefined, name: string): number {
  const value = Date.parse(text(node, name) ?? '');
  if (Number.isNaN(value)) throw new EwsError('ErrorInvalidScheduledOofDuration');
  return value;
}

export function setUserOofSettings(request: XmlNode, ctx: OperationContext): string {
  let inner: string;
  try {
    targetMailbox(request, ctx);
    const input = child(request, 'UserOofSettings');
    const state = text(input, 'OofState')?.trim() as OofSettings['state'];
    const audience = text(input, 'ExternalAudience')?.trim() as OofSettings['externalAudience'];
    if (!states.includes(state) || !audiences.includes(audience)) throw new EwsError('ErrorInvalidUserOofSettings');
    const previous = ctx.mailbox.oof ?? defaultOofSettings(ctx.core.now());
    const next: OofSettings = { ...previous, state, externalAudience: audience };
    const duration = child(input, 'Duration');
    if (duration) {
      const start = dateOf(duration, 'StartTime');
      const end = dateOf(duration, 'EndTime');
      if (end <= start) throw new EwsError('ErrorInvalidScheduledOofDuration');
      next.start = new Date(start).toISOString();
      next.end = new Date(end).toISOString();
    }
    for (const [name, field, langField] of [
      ['InternalReply', 'internalReply', 'internalLang'],
      ['ExternalReply', 'externalReply', 'externalLang'],
    ] as const) {
      const node = child(input, name);
      if (!node) continue;
      next[field] = text(node, 'Message') ?? '';
      const lang = node.a?.['xml:lang'] ?? node.a?.lang;
      if (lang) next[langField] = lang;
      else delete next[langField];
    }
    ctx.mailbox.oof = next;
    inner = successMessage('ResponseMessage');
  } catch (error) {
    if (!(error instanceof EwsError)) throw error;
    inner = errorMessage('ResponseMessage', error);
  }
  return responseRoot('SetUserOofSettingsResponse', inner);
}
