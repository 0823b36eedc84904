/**
 * The dashboard: an overview (/) and a page per mailbox (/mailboxes/<address>). It reads /api/status,
 * /api/mailboxes/<address> and /api/machines, and follows /api/events (server-sent events) to move the highlighted
 * states as the machines change. Admin actions send the token entered on the page (kept for this browser tab only).
 */
import { app, connectEvents } from './common.js';
import { mailboxPage } from './mailbox.js';
import { overview } from './overview.js';
import { h } from './statechart.js';

connectEvents();
const match = /^\/mailboxes\/(.+)$/.exec(location.pathname);
(match ? mailboxPage(decodeURIComponent(match[1])) : overview()).catch((error) => {
  app.replaceChildren(h('p', { className: 'error' }, error.message));
});
