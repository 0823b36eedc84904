import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateScript } from '../../../src/db/commands.js';
import { routines } from '../../../src/db/sql/routines.js';
import { type Dialect, parameterType } from '../../../src/db/sql/types.js';
import { itemTypes } from '../../../src/items/index.js';

const root = join(import.meta.dirname, '../../..');
const dialects: Dialect[] = ['postgres', 'sqlserver', 'db2'];

interface ParsedRoutine {
  name: string;
  /** [name, type] of the input parameters, in order. */
  inputs: [string, string][];
  outputs: string[];
}

/** Every CREATE [OR REPLACE|ALTER] FUNCTION/PROCEDURE header of a generated script, read back from the text. */
function parseRoutines(dialect: Dialect, script: string): ParsedRoutine[] {
  const headers: Record<Dialect, RegExp> = {
    postgres: /CREATE (?:OR REPLACE )?FUNCTION (\w+)(?:\(\)|\(\n([\s\S]*?)\n\s*\))\n\s*(?:RETURNS|LANGUAGE)/g,
    sqlserver: /CREATE (?:OR ALTER )?PROCEDURE (\w+)\n((?: {2}@.*\n)*)AS\n/g,
    db2: /CREATE (?:OR REPLACE )?PROCEDURE (\w+) (?:\(\)|\(\n([\s\S]*?)\n\))\nLANGUAGE SQL/g,
  };
  return [...script.matchAll(headers[dialect])].map((match) => {
    const lines = (match[2] ?? '')
      .split('\n')
      .map((l) => l.trim().replace(/,$/, ''))
      .filter(Boolean);
    const parsed: ParsedRoutine = { name: match[1] ?? '', inputs: [], outputs: [] };
    for (const line of lines) {
      const output =
        dialect === 'postgres'
          ? /^OUT (\w+)/.exec(line)
          : dialect === 'db2'
            ? /^OUT (\w+)/.exec(line)
            : /^@(\w+) .* OUTPUT$/.exec(line);
      if (output) {
        parsed.outputs.push(output[1] ?? '');
        continue;
      }
      const input =
        dialect === 'sqlserver'
          ? /^@(\w+) (.+) = NULL$/.exec(line)
          : dialect === 'db2'
            ? /^IN (\w+) (.+) DEFAULT NULL$/.exec(line)
            : /^(\w+) (.+) DEFAULT NULL$/.exec(line);
      if (!input) throw new Error(`${dialect}: unreadable parameter line in ${parsed.name}: ${line}`);
      parsed.inputs.push([input[1] ?? '', input[2] ?? '']);
    }
    return parsed;
  });
}

const statusOutputs: Record<Dialect, string[]> = {
  postgres: ['exit_code', 'output_value', 'error_message'],
  sqlserver: ['output_value', 'error_message'],
  db2: ['output_value', 'error_message'],
};

describe('generated SQL scripts', () => {
  it.each(dialects)(
    '%s: the checked-in files are what the generator writes (regenerate: writeScripts)',
    async (dialect) => {
      for (const file of generateScript(dialect).files) {
        expect(await readFile(join(root, file.path), 'utf8'), file.path).toBe(file.content);
      }
    },
  );

  it.each(dialects)('%s: the generator is deterministic', (dialect) => {
    expect(generateScript(dialect)).toEqual(generateScript(dialect));
  });

  it.each(dialects)('%s: every procedure of the definitions exists once, with exactly their parameters', (dialect) => {
    const [base] = generateScript(dialect).files;
    const parsed = parseRoutines(dialect, base?.content ?? '');
    const expected = routines(itemTypes);
    expect(parsed.map((r) => r.name).sort()).toEqual(expected.map((r) => r.name).sort());
    for (const routine of expected) {
      const found = parsed.find((p) => p.name === routine.name);
      expect(found?.inputs, `${dialect} ${routine.name}`).toEqual(
        routine.parameters.map((p) => [p.name, parameterType(p.kind, dialect)]),
      );
      expect(found?.outputs, `${dialect} ${routine.name}`).toEqual(
        routine.result === 'status' ? statusOutputs[dialect] : [],
      );
    }
  });

  it.each(['postgres', 'sqlserver'] as const)(
    "%s: the example application fills in every exh_from_exh_* and exh_get_item_* with the definitions' parameters",
    (dialect) => {
      const example = generateScript(dialect).files.find((f) => f.path.endsWith('example-app.sql'));
      const parsed = parseRoutines(dialect, example?.content ?? '');
      const templates = routines(itemTypes).filter((r) => r.owner === 'application');
      expect(parsed.map((r) => r.name).sort()).toEqual(templates.map((r) => r.name).sort());
      for (const routine of templates) {
        expect(parsed.find((p) => p.name === routine.name)?.inputs).toEqual(
          routine.parameters.map((p) => [p.name, parameterType(p.kind, dialect)]),
        );
      }
    },
  );
});
