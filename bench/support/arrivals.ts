/**
 * When a change made in Exchange reaches the application, measured in the database itself: each change carries a
 * marker `bench-<seq>-<ms>` in a text field (the subject; a contact's given name), `ms` being when it was asked of the
 * emulator (Date.now(), this machine's clock). A deferred constraint trigger on the example application's tables —
 * run when the connector's transaction commits (the exh_from_exh_* procedure's page) — records each marker it sees
 * with clock_timestamp(), the same machine's clock, in bench_arrival.
 *
 *   await trackArrivals(db.pool);   // once, on the fresh schema
 *   const arrived = await arrivals(db.pool, firstSeq, lastSeq);  // Map seq → latency in ms (first arrival)
 */
import type pg from 'pg';

/** The column of each example table that carries the marker (the subject; contacts have none: the given name). */
export const markerColumn = {
  calendar_item: 'exh_subject',
  email_item: 'exh_subject',
  task_item: 'exh_subject',
  contact_item: 'exh_given_name',
} as const;

export const markerPattern = /bench-(\d+)-(\d+)/g;

export function marker(seq: number, sentMs: number): string {
  return `bench-${seq}-${sentMs}`;
}

export async function trackArrivals(pool: pg.Pool): Promise<void> {
  await pool.query(`
    create table bench_arrival (seq bigint not null, sent_ms bigint not null, arrived_ms double precision not null);
    create function bench_arrival() returns trigger language plpgsql as $fn$
    declare
      found text[];
    begin
      found := regexp_match(to_jsonb(NEW) ->> TG_ARGV[0], 'bench-(\\d+)-(\\d+)');
      if found is not null then
        insert into bench_arrival values (found[1]::bigint, found[2]::bigint,
                                          extract(epoch from clock_timestamp()) * 1000);
      end if;
      return null;
    end
    $fn$;`);
  for (const [table, column] of Object.entries(markerColumn)) {
    // Deferred: it runs at the commit of the connector's transaction, not when the row is first written.
    await pool.query(
      `create constraint trigger bench_arrival after insert or update on ${table}
       deferrable initially deferred for each row execute function bench_arrival('${column}')`,
    );
  }
}

/** Latency in ms of each change seq in [first, last] that arrived (its first arrival). */
export async function arrivals(pool: pg.Pool, first: number, last: number): Promise<Map<number, number>> {
  const { rows } = await pool.query<{ seq: string; latency: number }>(
    `select seq, min(arrived_ms) - min(sent_ms) as latency from bench_arrival
     where seq between $1 and $2 group by seq`,
    [first, last],
  );
  return new Map(rows.map((r) => [Number(r.seq), r.latency]));
}

/** The q-quantile (0..1) of latencies, nearest rank; a change that never arrived counts as Infinity. */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

/** p50/p95/p99 as printed: `p50 12 ms, p95 40 ms, p99 80 ms`, a never-arrived share as `> <wait>`. */
export function describeLatencies(sorted: number[], waitedMs: number): string {
  const show = (ms: number) =>
    Number.isFinite(ms)
      ? ms >= 10_000
        ? `${(ms / 1000).toFixed(1)} s`
        : `${Math.round(ms)} ms`
      : `> ${waitedMs / 1000} s`;
  return `p50 ${show(quantile(sorted, 0.5))}, p95 ${show(quantile(sorted, 0.95))}, p99 ${show(quantile(sorted, 0.99))}`;
}
