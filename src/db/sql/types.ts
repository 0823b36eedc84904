import type { FieldKind } from '../../items/definition.js';

export const dialects = ['postgres', 'sqlserver', 'db2'] as const;
export type Dialect = (typeof dialects)[number];

/**
 * The SQL type of every field kind per dialect. The rules of docs/database.md, "Types", decide the text types: item
 * ids are compared case-sensitively (SQL Server needs Latin1_General_CS_AS; PostgreSQL and DB2 compare case-sensitively
 * already), bodies are NVARCHAR(MAX) on SQL Server and DBCLOB on DB2 (VARGRAPHIC for other text, so that any character
 * fits). DB2 gets SMALLINT 0/1 for booleans because BOOLEAN columns are missing on older DB2 for i releases.
 * SQL Server timestamps are DATETIMEOFFSET so that the time zone travels; DB2 TIMESTAMP holds UTC.
 */
const columnTypes: Record<Dialect, Record<FieldKind, string>> = {
  postgres: {
    itemId: 'exh_item_id',
    appItemId: 'exh_app_item_id',
    user: 'exh_user',
    text: 'exh_text',
    code: 'exh_code',
    longText: 'exh_long_text',
    body: 'exh_body',
    attachments: 'exh_attachment_info',
    boolean: 'boolean',
    integer: 'integer',
    timestamp: 'timestamptz',
    date: 'date',
  },
  sqlserver: {
    itemId: 'NVARCHAR(512) COLLATE Latin1_General_CS_AS',
    appItemId: 'NVARCHAR(255)',
    user: 'NVARCHAR(255)',
    text: 'NVARCHAR(1000)',
    code: 'NVARCHAR(50)',
    longText: 'NVARCHAR(MAX)',
    body: 'NVARCHAR(MAX)',
    attachments: 'NVARCHAR(MAX)',
    boolean: 'BIT',
    integer: 'INT',
    timestamp: 'DATETIMEOFFSET(3)',
    date: 'DATE',
  },
  db2: {
    itemId: 'VARGRAPHIC(512)',
    appItemId: 'VARGRAPHIC(255)',
    user: 'VARGRAPHIC(255)',
    text: 'VARGRAPHIC(1000)',
    code: 'VARGRAPHIC(50)',
    longText: 'DBCLOB(1M)',
    body: 'DBCLOB(16M)',
    attachments: 'VARGRAPHIC(16000)',
    boolean: 'SMALLINT',
    integer: 'INTEGER',
    timestamp: 'TIMESTAMP',
    date: 'DATE',
  },
};

/**
 * Named types for the text kinds: PostgreSQL domains and SQL Server alias types (`CREATE TYPE ... FROM`), which
 * application code can use as the original's templates did (`declare @_exh_item_id exh_item_id`). DB2 has only distinct
 * types, which are strongly typed and would force casts on every comparison, so DB2 uses the base types.
 */
export const namedTypes: readonly { name: string; kind: FieldKind; postgres: string; sqlserver: string }[] = [
  { name: 'exh_item_id', kind: 'itemId', postgres: 'text', sqlserver: 'NVARCHAR(512)' },
  { name: 'exh_app_item_id', kind: 'appItemId', postgres: 'text', sqlserver: 'NVARCHAR(255)' },
  { name: 'exh_user', kind: 'user', postgres: 'text', sqlserver: 'NVARCHAR(255)' },
  { name: 'exh_text', kind: 'text', postgres: 'text', sqlserver: 'NVARCHAR(1000)' },
  { name: 'exh_code', kind: 'code', postgres: 'text', sqlserver: 'NVARCHAR(50)' },
  { name: 'exh_long_text', kind: 'longText', postgres: 'text', sqlserver: 'NVARCHAR(MAX)' },
  { name: 'exh_body', kind: 'body', postgres: 'text', sqlserver: 'NVARCHAR(MAX)' },
  { name: 'exh_attachment_info', kind: 'attachments', postgres: 'text', sqlserver: 'NVARCHAR(MAX)' },
];

/** The type of a table column holding a field of this kind. */
export function columnType(kind: FieldKind, dialect: Dialect): string {
  return columnTypes[dialect][kind];
}

/**
 * The type of a procedure parameter. SQL Server parameters take no collation, so they use the alias types (item ids
 * are compared with an explicit COLLATE in the procedures instead); elsewhere it is the column type.
 */
export function parameterType(kind: FieldKind, dialect: Dialect): string {
  if (dialect === 'sqlserver') {
    const named = namedTypes.find((t) => t.kind === kind);
    if (named) return named.name;
  }
  return columnType(kind, dialect);
}
