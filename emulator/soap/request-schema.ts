import type { XmlNode } from '../xml/node.js';
import { ns } from './envelope.js';
import {
  ewsAbstractElements,
  ewsComplexTypes,
  ewsElements,
  ewsSimpleTypes,
  ewsSubstitutions,
} from './generated/ews-schema.js';
import {
  base64,
  boolean,
  dateTime,
  integer,
  type NamespaceOf,
  number,
  schemaFault,
  type Value,
} from './schema-check.js';
import type { ComplexType, Particle } from './schema-table.js';

/**
 * The request check: the whole body of an operation against messages.xsd and types.xsd, walked from the table
 * scripts/generate-ews-schema.ts derives from them (generated/ews-schema.ts), so any operation of messages.xsd is
 * checked the same way. Elements in schema order with their min/max occurs (an empty ItemIds is a schema fault, not an
 * empty answer), choices and substitution groups (FieldURI for Path, IsEqualTo for SearchExpression), each element in
 * its schema's namespace (messages.xsd's local elements in the messages namespace, t: ones in the types namespace),
 * required attributes, and simple values by their types: enumerations, facets (ConnectionTimeout 1-30, Timeout and
 * StatusFrequency 1-1440, MaxChangesReturned 1-512), xs:dateTime, xs:boolean, numbers. What fails is the SOAP fault
 * ErrorSchemaValidation, worded like .NET's schema validator (which Exchange uses). Attributes the schema does not
 * declare and xs:any content are let through; the complete check against messages.xsd runs in the test suite
 * (validation.ts) on every request the emulator accepts.
 */

const prefixes: Record<string, string> = { t: ns.t, m: ns.m, xs: 'http://www.w3.org/2001/XMLSchema' };
const localName = (qualified: string) => qualified.slice(qualified.indexOf(':') + 1);
const namespaceOfName = (qualified: string) => prefixes[qualified.slice(0, qualified.indexOf(':'))] ?? '';
const abstractElements = new Set(ewsAbstractElements);

const builtins: Record<string, Value> = {
  'xs:boolean': boolean,
  'xs:dateTime': dateTime,
  'xs:int': integer('xs:int'),
  'xs:long': integer('xs:long', -(2 ** 63), 2 ** 63),
  'xs:short': integer('xs:short', -32_768, 32_767),
  'xs:byte': integer('xs:byte', -128, 127),
  'xs:integer': integer('xs:integer', Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY),
  'xs:nonNegativeInteger': integer('xs:nonNegativeInteger', 0, Number.POSITIVE_INFINITY),
  'xs:positiveInteger': integer('xs:positiveInteger', 1, Number.POSITIVE_INFINITY),
  'xs:unsignedInt': integer('xs:unsignedInt', 0, 4_294_967_295),
  'xs:unsignedShort': integer('xs:unsignedShort', 0, 65_535),
  'xs:unsignedByte': integer('xs:unsignedByte', 0, 255),
  'xs:unsignedLong': integer('xs:unsignedLong', 0, 2 ** 64),
  'xs:double': number,
  'xs:float': { ...number, type: 'xs:float' },
  'xs:decimal': { ...number, type: 'xs:decimal' },
  'xs:base64Binary': base64,
  'xs:date': pattern('xs:date', /^-?\d{4,}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?$/, 'The string is not a valid Date value.'),
  'xs:time': pattern(
    'xs:time',
    /^\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/,
    'The string is not a valid Time value.',
  ),
  'xs:duration': pattern(
    'xs:duration',
    /^-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/,
    'The string is not a valid TimeSpan value.',
  ),
  'xs:hexBinary': pattern('xs:hexBinary', /^([0-9a-fA-F]{2})*$/, 'The string is not valid hexadecimal.'),
};

function pattern(type: string, shape: RegExp, problem: string): Value {
  return { type, check: (raw) => (shape.test(raw.trim()) ? undefined : problem) };
}

const collapse = (raw: string) => raw.replace(/\s+/g, ' ').trim();

/** Why a value is not one of the (simple) type's, or undefined when it is. */
function valueProblem(type: string, raw: string): string | undefined {
  const builtin = builtins[type];
  if (builtin) return builtin.check(raw);
  const simple = ewsSimpleTypes[type];
  if (!simple) {
    // A complex type with simple content (an attribute or element typed by one).
    const complex = ewsComplexTypes[type];
    return complex?.s ? valueProblem(complex.s, raw) : undefined;
  }
  if (simple.l) {
    for (const item of collapse(raw).split(' ').filter(Boolean)) {
      const problem = valueProblem(simple.l, item);
      if (problem) return problem;
    }
    return undefined;
  }
  if (simple.u) {
    return simple.u.some((member) => valueProblem(member, raw) === undefined)
      ? undefined
      : 'The value is not valid for any member of the union.';
  }
  if (simple.b) {
    const problem = valueProblem(simple.b, raw);
    if (problem) return problem;
  }
  if (simple.e && !simple.e.includes(collapse(raw))) return 'The Enumeration constraint failed.';
  const facets = simple.f ?? {};
  if (facets.minInclusive !== undefined && Number(collapse(raw)) < Number(facets.minInclusive)) {
    return `The MinInclusive constraint failed (${facets.minInclusive}).`;
  }
  if (facets.maxInclusive !== undefined && Number(collapse(raw)) > Number(facets.maxInclusive)) {
    return `The MaxInclusive constraint failed (${facets.maxInclusive}).`;
  }
  if (facets.minLength !== undefined && raw.length < Number(facets.minLength))
    return 'The MinLength constraint failed.';
  if (facets.length !== undefined && raw.length !== Number(facets.length)) return 'The Length constraint failed.';
  if (facets.pattern !== undefined && !patternOf(facets.pattern).test(raw)) return 'The Pattern constraint failed.';
  return undefined;
}

const patterns = new Map<string, RegExp>();
function patternOf(source: string): RegExp {
  let regex = patterns.get(source);
  if (!regex) {
    try {
      regex = new RegExp(`^(?:${source})$`, 'u');
    } catch {
      regex = /^/; // an XSD-only construct: left unchecked
    }
    patterns.set(source, regex);
  }
  return regex;
}

interface Content {
  /** The content model: the base's particles then the extension's, in order. */
  particles: Particle[];
  attrs: Record<string, [string, 0 | 1]>;
  /** The simple type of simple content. */
  simple?: string;
  mixed: boolean;
  any: boolean;
}

const contents = new Map<string, Content>();
/** A type's content and attributes with those of the types it extends. */
function contentOf(type: string): Content {
  const cached = contents.get(type);
  if (cached) return cached;
  const complex = ewsComplexTypes[type] as ComplexType | undefined;
  let content: Content;
  if (!complex) {
    content = { particles: [], attrs: {}, mixed: false, any: type === 'xs:anyType' };
  } else {
    const base = complex.b && complex.d === 'e' ? contentOf(complex.b) : undefined;
    const inherited = complex.b && complex.d === 'r' ? contentOf(complex.b).attrs : {};
    content = {
      particles: [...(base?.particles ?? []), ...(complex.p ? [complex.p] : [])],
      attrs: { ...inherited, ...base?.attrs, ...complex.a },
      mixed: complex.mixed === 1 || (base?.mixed ?? false),
      any: base?.any ?? false,
    };
    const simple = complex.s ?? base?.simple;
    if (simple) content.simple = simple;
  }
  contents.set(type, content);
  return content;
}

const isSimple = (type: string) => type in builtins || type in ewsSimpleTypes || type === 'xs:string';

interface Declaration {
  name: string;
  type: string;
}

/** The element declarations a particle's element name stands for (a substitution group's members). */
function declarationsOf(particle: { e: string; t?: string }): Declaration[] {
  const declarations: Declaration[] = [];
  if (!abstractElements.has(particle.e)) {
    declarations.push({ name: particle.e, type: particle.t ?? ewsElements[particle.e] ?? 'xs:anyType' });
  }
  for (const member of ewsSubstitutions[particle.e] ?? []) declarations.push(...declarationsOf({ e: member }));
  return declarations;
}

/** Matches children to a content model: every position the model can end at, from `start`. */
class Matcher {
  /** The declaration each child matched. */
  readonly matched = new Map<number, Declaration>();
  /** The element names the model could take at each position it reached. */
  readonly expected = new Map<number, Set<string>>();
  furthest = 0;

  constructor(
    private readonly children: XmlNode[],
    private readonly namespaceOf: NamespaceOf,
  ) {}

  ends(particle: Particle, start: number): Set<number> {
    const min = particle.n ?? 1;
    const max = particle.x === undefined ? 1 : particle.x < 0 ? Number.POSITIVE_INFINITY : particle.x;
    const result = new Set<number>(min === 0 ? [start] : []);
    let frontier = new Set([start]);
    const seen = new Set([start]);
    for (let count = 1; count <= max && frontier.size > 0; count++) {
      const next = new Set<number>();
      for (const position of frontier) for (const end of this.once(particle, position)) next.add(end);
      if (count >= min) for (const end of next) result.add(end);
      // A repeat that consumes nothing new adds nothing: stop (a group that can match empty).
      frontier = new Set([...next].filter((end) => !seen.has(end) || count < min));
      for (const end of next) seen.add(end);
    }
    return result;
  }

  private once(particle: Particle, start: number): Set<number> {
    if ('e' in particle) {
      const child = this.children[start];
      const declarations = declarationsOf(particle);
      const names = this.expected.get(start) ?? new Set<string>();
      for (const declaration of declarations) names.add(localName(declaration.name));
      this.expected.set(start, names);
      if (!child) return new Set();
      const namespace = this.namespaceOf(child);
      const declaration = declarations.find(
        (candidate) => localName(candidate.name) === child.n && namespaceOfName(candidate.name) === namespace,
      );
      if (!declaration) return new Set();
      this.matched.set(start, declaration);
      this.furthest = Math.max(this.furthest, start + 1);
      return new Set([start + 1]);
    }
    if ('any' in particle) {
      if (!this.children[start]) return new Set();
      this.furthest = Math.max(this.furthest, start + 1);
      return new Set([start + 1]);
    }
    if (particle.g === 's') {
      let positions = new Set([start]);
      for (const part of particle.p) {
        const next = new Set<number>();
        for (const position of positions) for (const end of this.ends(part, position)) next.add(end);
        positions = next;
        if (positions.size === 0) break;
      }
      return positions;
    }
    // A choice; xs:all as a choice repeated once per member (order free, each member at most once in practice).
    const choice = (from: number) => {
      const ends = new Set<number>();
      for (const part of particle.p) for (const end of this.ends(part, from)) ends.add(end);
      return ends;
    };
    if (particle.g === 'c') return choice(start);
    return this.ends({ g: 'c', p: particle.p, n: 0, x: particle.p.length }, start);
  }
}

function elementProblem(name: string, raw: string, type: string, what: 'element' | 'attribute'): void {
  const problem = valueProblem(type, raw);
  if (problem === undefined) return;
  throw schemaFault(
    `The '${name}' ${what} is invalid - The value '${raw}' is invalid according to its datatype '${namespaceOfName(type) || 'http://www.w3.org/2001/XMLSchema'}:${localName(type)}' - ${problem}`,
  );
}

/** Checks one element against its schema type, and its children against theirs. */
function checkElement(node: XmlNode, type: string, namespaceOf: NamespaceOf): void {
  if (isSimple(type)) {
    const first = node.c?.[0];
    if (first) {
      throw schemaFault(
        `The element '${node.n}' cannot contain child element '${first.n}' because the parent element's content model is text only.`,
      );
    }
    elementProblem(node.n, node.t ?? '', type, 'element');
    return;
  }
  const content = contentOf(type);
  if (content.any) return;
  for (const [name, [attrType, required]] of Object.entries(content.attrs)) {
    const raw = node.a?.[name];
    if (raw === undefined) {
      if (required) throw schemaFault(`The required attribute '${name}' is missing.`);
      continue;
    }
    elementProblem(name, raw, attrType, 'attribute');
  }
  if (content.simple) {
    const first = node.c?.[0];
    if (first) {
      throw schemaFault(
        `The element '${node.n}' cannot contain child element '${first.n}' because the parent element's content model is text only.`,
      );
    }
    elementProblem(node.n, node.t ?? '', content.simple, 'element');
    return;
  }
  const where = `The element '${node.n}' in namespace '${namespaceOf(node)}'`;
  const children = node.c ?? [];
  const matcher = new Matcher(children, namespaceOf);
  const model: Particle = { g: 's', p: content.particles };
  const ends = matcher.ends(model, 0);
  if (!ends.has(children.length)) {
    const at = matcher.furthest;
    const expected = [...(matcher.expected.get(at) ?? [])].join(', ');
    const list = expected ? ` List of possible elements expected: '${expected}'.` : '';
    const child = children[at];
    if (child) {
      throw schemaFault(`${where} has invalid child element '${child.n}' in namespace '${namespaceOf(child)}'.${list}`);
    }
    throw schemaFault(`${where} has incomplete content.${list}`);
  }
  if (children.length === 0 && !content.mixed && node.t !== undefined && node.t.trim() !== '') {
    throw schemaFault(`${where} cannot contain text.`);
  }
  children.forEach((child, index) => {
    const declaration = matcher.matched.get(index);
    if (declaration) checkElement(child, declaration.type, namespaceOf);
  });
}

/**
 * The operation must be in the messages namespace (a GetFolder without namespaces is refused before the emulator
 * looks for the operation); checkOperation checks the namespace of everything below it.
 */
export function checkNamespaces(operation: XmlNode, namespaceOf: NamespaceOf): void {
  const actual = namespaceOf(operation);
  if (actual !== ns.m) {
    throw schemaFault(
      `The element '${operation.n}' in namespace '${actual}' is not an EWS operation: operations are in namespace '${ns.m}'.`,
    );
  }
}

/** Checks an operation's element against messages.xsd (any operation the schema declares). */
export function checkOperation(operation: XmlNode, namespaceOf: NamespaceOf): void {
  checkNamespaces(operation, namespaceOf);
  const type = ewsElements[`m:${operation.n}`];
  if (type) checkElement(operation, type, namespaceOf);
}

/** Whether the schema declares this operation (an element of messages.xsd). */
export function isSchemaOperation(name: string): boolean {
  return `m:${name}` in ewsElements;
}
