import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { keepServing } from '../../src/http/keep-serving.js';
import { createLogging } from '../../src/logging/logger.js';

describe('keepServing', () => {
  it("turns a listening server's 'error' (EMFILE on accept) into a W record instead of an uncaught exception", async () => {
    const lines: string[] = [];
    const { logger } = createLogging({
      format: 'json',
      level: 'info',
      stdout: { write: (l: string) => void lines.push(l) },
    });
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      keepServing(server, logger, 'http');
      const emfile = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' });
      expect(() => server.emit('error', emfile)).not.toThrow();
      expect(server.listening).toBe(true);
      const record = JSON.parse(lines.find((l) => l.includes('listener.error')) ?? '{}');
      expect(record).toMatchObject({ cat: 'W', listener: 'http' });
      expect(record.msg).toContain('EMFILE');
      // Without the guard the same emit throws: the process would end.
      const bare = createServer();
      expect(() => bare.emit('error', emfile)).toThrow('accept EMFILE');
    } finally {
      server.close();
    }
  });
});
