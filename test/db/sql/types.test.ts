import { describe, expect, it } from 'vitest';
import { columnType, dialects, namedTypes, parameterType } from '../../../src/db/sql/types.js';
import { fieldKinds, textKinds } from '../../../src/items/index.js';

describe('SQL types per dialect', () => {
  it('has a named type for every text kind and no other, each once', () => {
    expect(namedTypes.map((t) => t.kind).sort()).toEqual([...textKinds].sort());
    expect(new Set(namedTypes.map((t) => t.name)).size).toBe(namedTypes.length);
  });

  it("gives PostgreSQL columns the domains, SQL Server's item ids a case-sensitive collation, DB2 graphic types", () => {
    for (const named of namedTypes) expect(columnType(named.kind, 'postgres')).toBe(named.name);
    expect(columnType('itemId', 'sqlserver')).toBe('NVARCHAR(512) COLLATE Latin1_General_CS_AS');
    expect(columnType('body', 'sqlserver')).toBe('NVARCHAR(MAX)');
    expect(columnType('boolean', 'db2')).toBe('SMALLINT');
    expect(columnType('timestamp', 'sqlserver')).toBe('DATETIMEOFFSET(3)');
    for (const kind of textKinds) expect(columnType(kind, 'db2')).toMatch(/^(VARGRAPHIC|DBCLOB)\(/);
  });

  it('types SQL Server parameters by alias (parameters take no collation), every other parameter as its column', () => {
    for (const kind of fieldKinds) {
      const named = namedTypes.find((t) => t.kind === kind);
      expect(parameterType(kind, 'sqlserver'), kind).toBe(named ? named.name : columnType(kind, 'sqlserver'));
      expect(parameterType(kind, 'postgres'), kind).toBe(columnType(kind, 'postgres'));
      expect(parameterType(kind, 'db2'), kind).toBe(columnType(kind, 'db2'));
    }
    for (const dialect of dialects) {
      for (const kind of fieldKinds) expect(parameterType(kind, dialect)).not.toContain('COLLATE');
    }
  });
});
