import { readFile } from 'node:fs/promises';
import { errors } from '../errors.js';
import { type DatabaseListener, type DatabaseListenerOptions, startDatabaseListener } from './listener.js';

export interface OpenListenerOptions extends Omit<DatabaseListenerOptions, 'tls'> {
  /** PEM files: speak TLS (listeners.database.tls). */
  tls?: { certFile: string; keyFile: string } | undefined;
}

/**
 * Starts the database listener of `listeners.database`, with its TLS files read first. Either failure stops the
 * service, so each names its fix: a PEM file that cannot be read (EXH_LISTENER_TLS_UNREADABLE, naming the key), a
 * port that cannot be listened on (EXH_LISTENER_FAILED).
 */
export async function openDatabaseListener(options: OpenListenerOptions): Promise<DatabaseListener> {
  const { tls: files, ...listener } = options;
  const tls = files ? await readTls(files) : undefined;
  return startDatabaseListener({ ...listener, ...(tls ? { tls } : {}) }).catch((cause: unknown) => {
    throw errors.listenerFailed('database', options.host, options.port, cause);
  });
}

async function readTls(files: { certFile: string; keyFile: string }) {
  const read = (file: string, key: string) =>
    readFile(file).catch((cause: unknown) => {
      throw errors.listenerTlsUnreadable(`listeners.database.tls.${key}`, file, cause);
    });
  return { cert: await read(files.certFile, 'certFile'), key: await read(files.keyFile, 'keyFile') };
}
