import type { Core } from '../../context.js';
import type { Mailbox } from '../../store/mailbox.js';
import type { Preferences } from '../prefer.js';

/** What rendering an item for Graph needs: whose mailbox, which preferences (ids, zone, body type). */
export interface RenderContext {
  core: Core;
  mailbox: Mailbox;
  prefs: Preferences;
}
