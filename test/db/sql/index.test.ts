import { describe, expect, it } from 'vitest';
import { scriptDirectories, scripts } from '../../../src/db/sql/index.js';
import { defineItemType, itemTypes } from '../../../src/items/index.js';
import { noteSpec } from '../../support/note-spec.js';

describe('scripts', () => {
  it('writes each dialect its files where installations find them, base project first', () => {
    expect(scripts('postgres', itemTypes).map((f) => `${f.role} ${f.path}`)).toEqual([
      'base-project sql/postgres/base-project.sql',
      'example-app sql/postgres/example-app.sql',
      'sync-sender sql/postgres/sync-sender.sql',
    ]);
    expect(scripts('sqlserver', itemTypes).map((f) => `${f.role} ${f.path}`)).toEqual([
      'base-project sql/mssql/base-project.sql',
      'example-app sql/mssql/example-app.sql',
    ]);
    expect(scripts('db2', itemTypes).map((f) => `${f.role} ${f.path}`)).toEqual([
      'base-project sql/db2/base-project.sql',
    ]);
    expect(scriptDirectories).toEqual({ postgres: 'sql/postgres', sqlserver: 'sql/mssql', db2: 'sql/db2' });
  });

  it('generates from the definitions it is given, so that a new type is in every dialect without another change', () => {
    const note = defineItemType(noteSpec());
    for (const dialect of ['postgres', 'sqlserver', 'db2'] as const) {
      const [without] = scripts(dialect, itemTypes);
      const [withNote] = scripts(dialect, [...itemTypes, note]);
      expect(without?.content, dialect).not.toContain('exh_to_exh_add_note');
      expect(withNote?.content, dialect).toContain('exh_to_exh_add_note');
      expect(withNote?.content, dialect).toContain('exh_watermark_note');
    }
  });
});
