/**
 * The shape of emulator/soap/generated/ews-schema.ts, the compact table of Microsoft's EWS schema written by
 * scripts/generate-ews-schema.ts. Names are qualified with the prefix of their schema: `t:` types.xsd, `m:`
 * messages.xsd, `xs:` the XML Schema built-ins. Occurrences: `n` minOccurs (default 1), `x` maxOccurs (default 1,
 * -1 unbounded).
 */

export type Particle =
  | { e: string; t?: string; n?: number; x?: number }
  | { g: 's' | 'c' | 'a'; p: Particle[]; n?: number; x?: number }
  | { any: 1; n?: number; x?: number };

export interface ComplexType {
  /** Base type and derivation: extension ('e') or restriction ('r'). */
  b?: string;
  d?: 'e' | 'r';
  /** Content model. */
  p?: Particle;
  /** Attributes: name → [type, required]. */
  a?: Record<string, [string, 0 | 1]>;
  /** Simple content of this type (simpleContent base). */
  s?: string;
  mixed?: 1;
  abstract?: 1;
}

export interface SimpleType {
  b?: string;
  e?: string[];
  /** Facets: minInclusive, maxInclusive, minLength, length, pattern. */
  f?: Record<string, string>;
  /** List of this item type. */
  l?: string;
  /** Union of these member types. */
  u?: string[];
}
