/**
 * The names of the Graph operations the emulator serves, for faults (`operations: ['graph.messages.delta']`) and the
 * request log. The router (router.ts) gives each route one of these.
 */
export const graphOperations = [
  'graph.batch',
  'graph.user',
  'graph.translateExchangeIds',
  'graph.mailFolders',
  'graph.messages',
  'graph.messages.delta',
  'graph.messages.send',
  'graph.sendMail',
  'graph.events',
  'graph.calendarView',
  'graph.calendarView.delta',
  'graph.contactFolders',
  'graph.contacts',
  'graph.contacts.delta',
  'graph.todo.lists',
  'graph.todo.tasks',
  'graph.todo.tasks.delta',
  'graph.todo.linkedResources',
  'graph.attachments',
  'graph.attachments.upload',
] as const;

export type GraphOperation = (typeof graphOperations)[number];
