/** The PostgreSQL server of $PG_URL, confined to `schema` (a fresh base project per test file), optionally through another port. */
export function schemaUrl(url: string, schema: string, options: { port?: number; password?: string } = {}): string {
  const parsed = new URL(url);
  if (options.port !== undefined) parsed.port = String(options.port);
  if (options.password !== undefined) parsed.password = options.password;
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}
