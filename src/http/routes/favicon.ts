import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The dashboard's icon: two arrows, Exchange → database and back, on the header's colour. Inline, so that it is part
 * of the code that serves it (no file to ship beside a build, no network). Browsers ask for /favicon.ico on their own
 * and find /favicon.svg through the page's <link rel="icon"> (src/dashboard/index.html); both answer the same SVG,
 * which current browsers take under either name (docs/dashboard.md).
 */
export const faviconSvg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="6" fill="#111827"/>
<path d="M7 11h16m-5-5 5 5-5 5" fill="none" stroke="#60a5fa" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/>
<path d="M25 21H9m5-5-5 5 5 5" fill="none" stroke="#4ade80" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/>
</svg>
`;

export function registerFaviconRoutes(app: FastifyInstance): void {
  const send = (reply: FastifyReply) =>
    reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(faviconSvg);
  app.get('/favicon.ico', (_request, reply) => send(reply));
  app.get('/favicon.svg', (_request, reply) => send(reply));
}
