import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { type ItemElement, itemElementNames } from '../../../emulator/items/item-schema.js';
import { ewsSchema, schemaChecks } from '../../support/ews-schema.js';

type Node = Record<string, unknown> & { ':@'?: Record<string, string> };

/** The element names of a complex type of types.xsd, its base type's first (complexContent extensions). */
function schemaElements(typeName: string): string[] {
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    removeNSPrefix: true,
  });
  const document = parser.parse(readFileSync(`${ewsSchema}/types.xsd`, 'utf8')) as Node[];
  const schema = (document.find((n) => n.schema)?.schema ?? []) as Node[];
  const types = new Map<string, Node[]>();
  for (const node of schema) if (node.complexType) types.set(node[':@']?.name ?? '', node.complexType as Node[]);
  const walk = (nodes: Node[], out: string[]): string[] => {
    for (const node of nodes) {
      if (node.element) out.push(node[':@']?.name ?? '');
      else if (node.sequence) walk(node.sequence as Node[], out);
    }
    return out;
  };
  const elementsOf = (name: string): string[] => {
    const out: string[] = [];
    for (const node of types.get(name) ?? []) {
      if (!node.complexContent) {
        walk([node], out);
        continue;
      }
      for (const part of node.complexContent as Node[]) {
        if (!part.extension) continue;
        out.push(...elementsOf((part[':@']?.base ?? '').replace(/^t:/, '')));
        walk(part.extension as Node[], out);
      }
    }
    return out;
  };
  return elementsOf(typeName);
}

describe.skipIf(!schemaChecks)('item elements in schema order (needs the EWS schema)', () => {
  const types: Record<ItemElement, string> = {
    Item: 'ItemType',
    Message: 'MessageType',
    CalendarItem: 'CalendarItemType',
    Contact: 'ContactItemType',
    Task: 'TaskType',
  };
  for (const [element, type] of Object.entries(types)) {
    it(`knows the elements of ${type} in types.xsd order`, () => {
      expect(itemElementNames(element as ItemElement)).toEqual(schemaElements(type));
    });
  }
});
