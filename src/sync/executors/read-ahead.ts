import type { SyncPage } from '../../ports/exchange.port.js';

/** The next page of a folder, asked for while the page before it is applied (pipelined, not in turns). */
export interface PageAhead {
  readonly page: Promise<SyncPage>;
  /** Cancels the request (the page before failed or the run stopped): its outcome, whatever it is, is dropped. */
  abandon(): void;
}

/**
 * Starts reading a page ahead under the run's signal and a signal of its own. Its failure is left for whoever awaits
 * `page`; one that nobody awaits (abandoned) is no unhandled rejection.
 */
export function readAhead(read: (signal: AbortSignal) => Promise<SyncPage>, run: AbortSignal): PageAhead {
  const controller = new AbortController();
  const stop = () => controller.abort(run.reason);
  if (run.aborted) stop();
  else run.addEventListener('abort', stop, { once: true });
  const page = read(controller.signal);
  void page.then(
    () => run.removeEventListener('abort', stop),
    () => run.removeEventListener('abort', stop),
  );
  return {
    page,
    abandon: () => controller.abort(new Error('the page read ahead is not needed')),
  };
}
