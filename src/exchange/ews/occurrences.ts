import type { BodyType, CallOptions, ExchangeItem } from '../../ports/exchange.port.js';
import type { EwsMailbox } from './connection.js';
import { fromResponseCode } from './errors.js';
import { getItems, type ItemRef } from './items.js';

/**
 * The first `max` occurrences of a recurring series, by GetItem with OccurrenceItemId (RecurringMasterId +
 * InstanceIndex 1, 2, …), which Exchange 2007 and later and the emulator both answer, unlike a CalendarView, whose
 * range would have to be guessed. An index is a position in the pattern, so the window does not shift when an
 * occurrence is deleted: a deleted one is simply absent (../expand-series.ts compares with what was reported), a modified one
 * (an exception) comes with its new times. Each item carries `originalStart`. Batches grow from 16 until the series
 * ends (ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange) or `max` is reached.
 */

const firstBatch = 16;
const largestBatch = 256;

export async function occurrences(
  mailbox: EwsMailbox,
  masterId: string,
  options: CallOptions & { max: number; bodyType?: BodyType },
): Promise<ExchangeItem[]> {
  const found: ExchangeItem[] = [];
  let index = 1;
  let batch = firstBatch;
  let ended = false;
  while (!ended && index <= options.max) {
    const refs: ItemRef[] = [];
    for (let i = index; i < index + batch && i <= options.max; i++) refs.push({ masterId, index: i });
    const results = await mailbox.request(options, { itemId: masterId }, (signal) =>
      getItems(mailbox.transport, mailbox.target, refs, options.bodyType ?? 'html', signal),
    );
    for (const result of results) {
      if ('item' in result) {
        found.push(result.item);
        continue;
      }
      const code = result.fault.responseCode;
      if (code === 'ErrorCalendarOccurrenceIsDeletedFromRecurrence') continue;
      if (code === 'ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange') {
        ended = true;
        break;
      }
      // The master itself is gone (EXH_EXCHANGE_ITEM_NOT_FOUND) or Exchange refuses: nothing partial is returned.
      throw fromResponseCode(result.fault, {
        url: mailbox.target.url,
        user: mailbox.user,
        account: mailbox.target.account,
        itemId: masterId,
      });
    }
    index += refs.length;
    batch = Math.min(largestBatch, batch * 2);
  }
  return found.sort((a, b) => String(a.properties.start ?? '').localeCompare(String(b.properties.start ?? '')));
}
