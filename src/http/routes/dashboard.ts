import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { packageRoot } from '../../package-root.js';

/**
 * The dashboard's files, shipped in the package (src/dashboard/): no CDN, so it works offline. Read from the package
 * root, so that the build (dist/) serves them from the same folder as the sources do.
 */
const folder = new URL('src/dashboard/', packageRoot);
const assets: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'cluster.js': 'text/javascript; charset=utf-8',
  'common.js': 'text/javascript; charset=utf-8',
  'mailbox.js': 'text/javascript; charset=utf-8',
  'overview.js': 'text/javascript; charset=utf-8',
  'statechart.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

export function registerDashboardRoutes(app: FastifyInstance): void {
  const page = async () => readFile(new URL('index.html', folder), 'utf8');
  // One page for the overview and every mailbox; the script reads which from the path.
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(await page()));
  app.get('/mailboxes/:user', async (_request, reply) => reply.type('text/html; charset=utf-8').send(await page()));
  // A fixed list, never a path from the request: nothing outside src/dashboard/ can be read.
  app.get<{ Params: { file: string } }>('/dashboard/:file', async (request, reply) => {
    const type = assets[request.params.file];
    if (!type) return reply.callNotFound();
    return reply
      .type(type)
      .header('cache-control', 'no-cache')
      .send(await readFile(new URL(request.params.file, folder)));
  });
}
