import { escapeText } from '../xml/write.js';

/**
 * Body conversions as Exchange makes them when a client asks for another BodyType than the stored one: text becomes
 * an HTML document with the text escaped, HTML becomes text with tags removed and block elements turned into lines.
 */

const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

export function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)[^>]*>[\s\S]*?<\/\1>/gi, '')
    .replace(/<br\s*\/?>/gi, '\r\n')
    .replace(/<\/(p|div|li|tr|h[1-6])>/gi, '\r\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (match, entity: string) => {
      if (entity.startsWith('#x') || entity.startsWith('#X'))
        return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
      if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
      return entities[entity.toLowerCase()] ?? match;
    })
    .replace(/[ \t]+\r\n/g, '\r\n')
    .trim();
}

export function textToHtml(text: string): string {
  const escaped = escapeText(text).replace(/\r?\n/g, '<br>\r\n');
  return (
    '<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n</head>\r\n' +
    `<body>\r\n<div>${escaped}</div>\r\n</body>\r\n</html>\r\n`
  );
}

export type BodyType = 'HTML' | 'Text';

export function convertBody(value: string, from: BodyType, to: BodyType): string {
  if (from === to) return value;
  return to === 'Text' ? htmlToText(value) : textToHtml(value);
}
