import type { XmlNode } from '../xml/node.js';
import { ns } from './envelope.js';
import { SoapFault } from './response-codes.js';

/**
 * A small checker for the shape of EWS requests, the part of Exchange's schema validation the emulator does on every
 * request before it runs anything: child elements in schema order, required ones present, non-empty arrays, required
 * attributes, and the values of the simple types it reads (ranges, enumerations, xs:dateTime, xs:boolean). What it
 * refuses is the SOAP fault ErrorSchemaValidation, worded like .NET's schema validator (which Exchange uses).
 *
 * Specs describe elements the way types.xsd does; anything a spec leaves open (`seq` or `text` undefined) is not
 * checked. The complete check against messages.xsd runs in the test suite (validation.ts).
 */

export interface Value {
  /** The schema type, for the message (`xs:int`, `t:SubscriptionTimeoutType`). */
  type: string;
  /** Why the value is not one of the type's, or undefined when it is. */
  check(raw: string): string | undefined;
}

export interface Attr {
  required?: boolean;
  value?: Value;
}

/** The spec of a particle's element, or of each element name a choice allows. */
export type ParticleSpec = Spec | ((name: string) => Spec | undefined);

export interface Particle {
  names: readonly string[];
  min: number;
  max: number;
  spec?: ParticleSpec | undefined;
}

export interface Spec {
  attrs?: Record<string, Attr>;
  /** Element-only content: these particles in this order. */
  seq?: Particle[];
  /** Text-only content (a simple type or simple content). */
  text?: Value;
}

const typeNamespaces: Record<string, string> = {
  xs: 'http://www.w3.org/2001/XMLSchema',
  t: ns.t,
  m: ns.m,
};

function qualified(type: string): string {
  const [prefix, name] = type.split(':') as [string, string];
  return `${typeNamespaces[prefix] ?? prefix}:${name}`;
}

export function schemaFault(detail: string): SoapFault {
  return new SoapFault('ErrorSchemaValidation', `The request failed schema validation: ${detail}`);
}

const collapse = (raw: string) => raw.replace(/\s+/g, ' ').trim();

export function integer(type = 'xs:int', min = -2_147_483_648, max = 2_147_483_647): Value {
  return {
    type,
    check(raw) {
      const value = collapse(raw);
      if (!/^[+-]?\d+$/.test(value)) return 'The string is not a valid integer.';
      const number = Number(value);
      if (number < min) return `The MinInclusive constraint failed (${min}).`;
      if (number > max) return `The MaxInclusive constraint failed (${max}).`;
      return undefined;
    },
  };
}

export function oneOf(type: string, values: readonly string[]): Value {
  const allowed = new Set(values);
  return { type, check: (raw) => (allowed.has(collapse(raw)) ? undefined : 'The Enumeration constraint failed.') };
}

export const string: Value = { type: 'xs:string', check: () => undefined };
export const boolean: Value = {
  type: 'xs:boolean',
  check: (raw) => (/^(true|false|1|0)$/.test(collapse(raw)) ? undefined : 'The string is not a valid Boolean value.'),
};
export const number: Value = {
  type: 'xs:double',
  check: (raw) =>
    /^([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|-?INF|NaN)$/.test(collapse(raw))
      ? undefined
      : 'The string is not a valid Double value.',
};
export const base64: Value = {
  type: 'xs:base64Binary',
  check: (raw) =>
    /^[A-Za-z0-9+/]*={0,2}$/.test(raw.replace(/\s+/g, '')) ? undefined : 'The string is not valid base64.',
};
const dateTimeShape = /^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/;
export const dateTime: Value = {
  type: 'xs:dateTime',
  check(raw) {
    const value = collapse(raw);
    const probe = /(Z|[+-]\d{2}:\d{2})$/.test(value) ? value : `${value}Z`;
    return dateTimeShape.test(value) && !Number.isNaN(Date.parse(probe))
      ? undefined
      : 'The string is not a valid dateTime value.';
  },
};

export function one(names: string | readonly string[], spec?: ParticleSpec): Particle {
  return { names: typeof names === 'string' ? [names] : names, min: 1, max: 1, spec };
}

export function optional(names: string | readonly string[], spec?: ParticleSpec): Particle {
  return { ...one(names, spec), min: 0 };
}

export function many(names: string | readonly string[], spec?: ParticleSpec, min = 1): Particle {
  return { ...one(names, spec), min, max: Number.POSITIVE_INFINITY };
}

/** A simple-typed element. */
export function text(value: Value): Spec {
  return { text: value };
}

/** The namespace URI of a parsed request element (from parseXml with namespaces). */
export type NamespaceOf = (node: XmlNode) => string;

function expected(particles: Particle[], from: number): string {
  const names: string[] = [];
  for (let i = from; i < particles.length; i++) {
    const particle = particles[i] as Particle;
    names.push(...particle.names);
    if (particle.min > 0) break;
  }
  return names.join(', ');
}

function checkValue(name: string, what: 'element' | 'attribute', raw: string, value: Value): void {
  const problem = value.check(raw);
  if (problem === undefined) return;
  throw schemaFault(
    `The '${name}' ${what} is invalid - The value '${raw}' is invalid according to its datatype '${qualified(value.type)}' - ${problem}`,
  );
}

/** Checks one element against its spec, and its children against theirs. */
export function checkElement(node: XmlNode, spec: Spec, namespaceOf: NamespaceOf): void {
  for (const [name, attr] of Object.entries(spec.attrs ?? {})) {
    const raw = node.a?.[name];
    if (raw === undefined) {
      if (attr.required) throw schemaFault(`The required attribute '${name}' is missing.`);
      continue;
    }
    if (attr.value) checkValue(name, 'attribute', raw, attr.value);
  }
  if (spec.text) {
    const first = node.c?.[0];
    if (first) {
      throw schemaFault(
        `The element '${node.n}' cannot contain child element '${first.n}' because the parent element's content model is text only.`,
      );
    }
    checkValue(node.n, 'element', node.t ?? '', spec.text);
    return;
  }
  if (spec.seq) checkSequence(node, spec.seq, namespaceOf);
}

function checkSequence(node: XmlNode, particles: Particle[], namespaceOf: NamespaceOf): void {
  const where = `The element '${node.n}' in namespace '${namespaceOf(node)}'`;
  if (!node.c && node.t !== undefined && node.t.trim() !== '') {
    throw schemaFault(`${where} cannot contain text. List of possible elements expected: '${expected(particles, 0)}'.`);
  }
  let index = 0;
  let count = 0;
  for (const element of node.c ?? []) {
    for (;;) {
      const particle = particles[index];
      if (!particle) {
        throw schemaFault(`${where} has invalid child element '${element.n}' in namespace '${namespaceOf(element)}'.`);
      }
      if (particle.names.includes(element.n) && count < particle.max) {
        count++;
        const spec = typeof particle.spec === 'function' ? particle.spec(element.n) : particle.spec;
        if (spec) checkElement(element, spec, namespaceOf);
        break;
      }
      if (count < particle.min) {
        throw schemaFault(
          `${where} has invalid child element '${element.n}' in namespace '${namespaceOf(element)}'. List of possible elements expected: '${expected(particles, index)}'.`,
        );
      }
      index++;
      count = 0;
    }
  }
  for (; index < particles.length; index++, count = 0) {
    const particle = particles[index] as Particle;
    if (count < particle.min) {
      throw schemaFault(
        `${where} has incomplete content. List of possible elements expected: '${expected(particles, index)}'.`,
      );
    }
  }
}
