/**
 * Writes emulator/soap/generated/ews-schema.ts, the compact table of Microsoft's EWS schema (messages.xsd and
 * types.xsd) the emulator's request checker walks (emulator/soap/request-schema.ts): per type its content model
 * (sequence, choice, all; elements with min/max occurs and their types), attributes, simple content, and per simple
 * type its base, enumeration and facets; the top-level elements and their substitution groups.
 *
 * The schema is not in the repository: run it with the directory holding messages.xsd and types.xsd,
 *   npx tsx scripts/generate-ews-schema.ts /path/to/ews-schema     (or EXH_EWS_SCHEMA_DIR=/path/to/ews-schema)
 * test/emulator/soap/generated-schema.test.ts regenerates the table when EXH_EWS_SCHEMA_DIR is set and fails when the
 * committed file differs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser } from 'fast-xml-parser';
import type { ComplexType, Particle, SimpleType } from '../emulator/soap/schema-table.js';

type Raw = Record<string, unknown>;
/** fast-xml-parser's preserveOrder node: one key (the tag, or '#text'), ':@' for attributes. */
type Node = Raw & { ':@'?: Record<string, string> };

const tagOf = (node: Node) => Object.keys(node).find((key) => key !== ':@') as string;
const kids = (node: Node) => (node[tagOf(node)] as Node[]) ?? [];
const attrs = (node: Node) => node[':@'] ?? {};
const elements = (node: Node, tag?: string) =>
  kids(node).filter((kid) => !tagOf(kid).startsWith('#') && (!tag || tagOf(kid) === tag));

function occurs(node: Node): { n?: number; x?: number } {
  const { minOccurs, maxOccurs } = attrs(node);
  const out: { n?: number; x?: number } = {};
  if (minOccurs !== undefined && minOccurs !== '1') out.n = Number(minOccurs);
  if (maxOccurs !== undefined && maxOccurs !== '1') out.x = maxOccurs === 'unbounded' ? -1 : Number(maxOccurs);
  return out;
}

export function generateEwsSchema(dir: string): string {
  const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: false,
    attributeNamePrefix: '',
    removeNSPrefix: false,
    commentPropName: '#comment',
  });
  const complex: Record<string, ComplexType> = {};
  const simple: Record<string, SimpleType> = {};
  const topElements: Record<string, string> = {};
  const substitutions: Record<string, string[]> = {};
  const abstractElements: string[] = [];
  const groups: Record<string, Node> = {};
  const attributeGroups: Record<string, Node> = {};
  const schemas: [string, Node][] = [];

  for (const [file, prefix] of [
    ['types.xsd', 't'],
    ['messages.xsd', 'm'],
  ] as const) {
    const parsed = parser.parse(readFileSync(join(dir, file), 'utf8')) as Node[];
    const schema = parsed.find((node) => tagOf(node) === 'xs:schema') as Node;
    schemas.push([prefix, schema]);
    for (const node of elements(schema, 'xs:group')) groups[`${prefix}:${attrs(node).name}`] = node;
    for (const node of elements(schema, 'xs:attributeGroup')) attributeGroups[`${prefix}:${attrs(node).name}`] = node;
  }

  for (const [prefix, schema] of schemas) {
    const simpleType = (node: Node): SimpleType => {
      const out: SimpleType = {};
      for (const part of elements(node)) {
        const tag = tagOf(part);
        if (tag === 'xs:restriction') {
          const base = attrs(part).base;
          if (base) out.b = base;
          else {
            const inner = elements(part, 'xs:simpleType')[0];
            if (inner) Object.assign(out, simpleType(inner));
          }
          for (const facet of elements(part)) {
            const name = tagOf(facet).slice(3);
            const value = attrs(facet).value as string;
            if (name === 'enumeration') out.e = [...(out.e ?? []), value];
            else if (name !== 'simpleType' && name !== 'annotation') out.f = { ...out.f, [name]: value };
          }
        } else if (tag === 'xs:list') {
          const inner = elements(part, 'xs:simpleType')[0];
          out.l = attrs(part).itemType ?? (inner ? anonymousSimple('list', inner) : 'xs:string');
        } else if (tag === 'xs:union') {
          out.u = (attrs(part).memberTypes ?? '').split(/\s+/).filter(Boolean);
          elements(part, 'xs:simpleType').forEach((inner, index) => {
            out.u?.push(anonymousSimple(`union${index}`, inner));
          });
        }
      }
      return out;
    };
    let anonymous = 0;
    const anonymousSimple = (hint: string, node: Node) => {
      const name = `${prefix}:#${hint}${anonymous++}`;
      simple[name] = simpleType(node);
      return name;
    };

    const attributesOf = (node: Node, owner: string, into: Record<string, [string, 0 | 1]>) => {
      for (const attribute of elements(node)) {
        const tag = tagOf(attribute);
        const a = attrs(attribute);
        if (tag === 'xs:attribute') {
          const name = a.name ?? a.ref;
          if (!name) continue;
          const inner = elements(attribute, 'xs:simpleType')[0];
          const type = a.type ?? (inner ? anonymousSimple(`${owner}@${name}`, inner) : 'xs:string');
          into[name] = [type, a.use === 'required' ? 1 : 0];
        } else if (tag === 'xs:attributeGroup' && a.ref) {
          const group = attributeGroups[a.ref];
          if (group) attributesOf(group, owner, into);
        }
      }
    };

    const particle = (node: Node, owner: string): Particle | undefined => {
      const tag = tagOf(node);
      const a = attrs(node);
      if (tag === 'xs:element') {
        if (a.ref) return { e: a.ref, ...occurs(node) };
        const name = `${prefix}:${a.name}`;
        let type = a.type;
        if (!type) {
          const inlineComplex = elements(node, 'xs:complexType')[0];
          const inlineSimple = elements(node, 'xs:simpleType')[0];
          if (inlineComplex) {
            type = `${owner}/${a.name}`;
            complex[type] = complexType(inlineComplex, type);
          } else if (inlineSimple) type = anonymousSimple(`${owner}/${a.name}`, inlineSimple);
          else type = 'xs:anyType';
        }
        return { e: name, t: type, ...occurs(node) };
      }
      if (tag === 'xs:sequence' || tag === 'xs:choice' || tag === 'xs:all') {
        const p = elements(node)
          .map((kid) => particle(kid, owner))
          .filter((kid): kid is Particle => kid !== undefined);
        return { g: tag === 'xs:sequence' ? 's' : tag === 'xs:choice' ? 'c' : 'a', p, ...occurs(node) };
      }
      if (tag === 'xs:group' && a.ref) {
        const group = groups[a.ref] as Node;
        const inner = elements(group).find((kid) => tagOf(kid) !== 'xs:annotation') as Node;
        const content = particle(inner, owner) as Particle;
        return { ...content, ...occurs(node) };
      }
      if (tag === 'xs:any') return { any: 1, ...occurs(node) };
      return undefined;
    };

    const modelOf = (node: Node, owner: string): Particle | undefined => {
      for (const kid of elements(node)) {
        const tag = tagOf(kid);
        if (tag === 'xs:sequence' || tag === 'xs:choice' || tag === 'xs:all' || tag === 'xs:group') {
          return particle(kid, owner);
        }
      }
      return undefined;
    };

    const complexType = (node: Node, name: string): ComplexType => {
      const out: ComplexType = {};
      const a = attrs(node);
      if (a.abstract === 'true') out.abstract = 1;
      if (a.mixed === 'true') out.mixed = 1;
      const attributes: Record<string, [string, 0 | 1]> = {};
      const content = elements(node).find((kid) => /^xs:(complex|simple)Content$/.test(tagOf(kid)));
      if (content) {
        if (attrs(content).mixed === 'true') out.mixed = 1;
        const derivation = elements(content).find((kid) => /^xs:(extension|restriction)$/.test(tagOf(kid))) as Node;
        const base = attrs(derivation).base as string;
        if (tagOf(content) === 'xs:simpleContent') {
          out.s = base;
        } else {
          out.b = base;
          out.d = tagOf(derivation) === 'xs:extension' ? 'e' : 'r';
        }
        const model = modelOf(derivation, name);
        if (model) out.p = model;
        attributesOf(derivation, name, attributes);
      } else {
        const model = modelOf(node, name);
        if (model) out.p = model;
        attributesOf(node, name, attributes);
      }
      if (Object.keys(attributes).length > 0) out.a = attributes;
      return out;
    };

    for (const node of elements(schema)) {
      const tag = tagOf(node);
      const a = attrs(node);
      if (tag === 'xs:complexType') complex[`${prefix}:${a.name}`] = complexType(node, `${prefix}:${a.name}`);
      else if (tag === 'xs:simpleType') simple[`${prefix}:${a.name}`] = simpleType(node);
      else if (tag === 'xs:element') {
        const name = `${prefix}:${a.name}`;
        let type = a.type;
        if (!type) {
          const inline = elements(node, 'xs:complexType')[0];
          type = name;
          complex[name] = inline ? complexType(inline, name) : {};
        }
        topElements[name] = type;
        if (a.abstract === 'true') abstractElements.push(name);
        if (a.substitutionGroup)
          substitutions[a.substitutionGroup] = [...(substitutions[a.substitutionGroup] ?? []), name];
      }
    }
  }

  const lines = (record: Record<string, unknown>) =>
    Object.entries(record)
      .map(([key, value]) => `  ${JSON.stringify(key)}: ${JSON.stringify(value)},`)
      .join('\n');
  return `// biome-ignore-all format: generated, one entry a line
// Generated by scripts/generate-ews-schema.ts from Microsoft's EWS schema (messages.xsd, types.xsd): do not edit.
// Regenerate: npx tsx scripts/generate-ews-schema.ts <directory of the xsd files>
import type { ComplexType, SimpleType } from '../schema-table.js';

/** Top-level elements: qualified name → type. */
export const ewsElements: Record<string, string> = {
${lines(topElements)}
};

export const ewsAbstractElements: readonly string[] = ${JSON.stringify(abstractElements)};

/** Substitution groups: head element → its members. */
export const ewsSubstitutions: Record<string, readonly string[]> = {
${lines(substitutions)}
};

export const ewsComplexTypes: Record<string, ComplexType> = {
${lines(complex)}
};

export const ewsSimpleTypes: Record<string, SimpleType> = {
${lines(simple)}
};
`;
}

export const generatedPath = fileURLToPath(new URL('../emulator/soap/generated/ews-schema.ts', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2] ?? process.env.EXH_EWS_SCHEMA_DIR;
  if (!dir) {
    console.error('usage: tsx scripts/generate-ews-schema.ts <directory of messages.xsd and types.xsd>');
    process.exit(1);
  }
  writeFileSync(generatedPath, generateEwsSchema(dir));
  console.log(`wrote ${generatedPath}`);
}
