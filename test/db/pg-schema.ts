/** The same server and database with search_path set to one schema, so that the base project lands there. */
export function inSchema(connectionString: string, schema: string): string {
  const parsed = new URL(connectionString);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.toString();
}
