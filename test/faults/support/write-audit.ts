import type pg from 'pg';

/**
 * Who wrote under which lease, as PostgreSQL saw it at commit: a deferred trigger on exh_watermark (every page's
 * watermark) and on exh_outbox (a row leaving `pending`: an outbox completion) records the writing session's
 * application_name (each instance connects with its instance id as application_name) beside the user's exh_lease row
 * read at that moment. The audit row is written in the page's own transaction, so it exists exactly when the page
 * committed. With fencing, the page's first statement share-locks the lease row it checked (pg-page.ts, fenceCheck),
 * so at commit the holder is the writer; without it, a write from an instance that lost the lease shows another
 * holder (or none).
 */
export async function installWriteAudit(admin: pg.Client, schema: string): Promise<void> {
  await admin.query(`
    CREATE TABLE ${schema}.test_write_audit (
      id bigserial PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT clock_timestamp(),
      tbl text NOT NULL,
      writer text NOT NULL,
      exh_user text NOT NULL,
      holder text,
      fence bigint,
      expired boolean
    );
    CREATE FUNCTION ${schema}.test_write_audit() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      l ${schema}.exh_lease%ROWTYPE;
    BEGIN
      IF NEW.exh_user IS NULL THEN RETURN NULL; END IF;
      SELECT * INTO l FROM ${schema}.exh_lease WHERE exh_user_key = lower(NEW.exh_user);
      INSERT INTO ${schema}.test_write_audit (tbl, writer, exh_user, holder, fence, expired)
        VALUES (TG_TABLE_NAME, current_setting('application_name'), NEW.exh_user, l.exh_instance_id, l.exh_fence,
                l.exh_expires_at <= clock_timestamp());
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER test_write_audit AFTER INSERT OR UPDATE ON ${schema}.exh_watermark
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ${schema}.test_write_audit();
    CREATE CONSTRAINT TRIGGER test_write_audit AFTER UPDATE ON ${schema}.exh_outbox
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
      WHEN (OLD.exh_state = 'pending' AND NEW.exh_state <> 'pending')
      EXECUTE FUNCTION ${schema}.test_write_audit();
  `);
  // For a failure's story only: every row of an item table inserted or deleted, by whom and when.
  await admin.query(`
    CREATE TABLE ${schema}.test_item_audit (
      id bigserial PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT clock_timestamp(),
      tbl text NOT NULL,
      op text NOT NULL,
      writer text NOT NULL,
      exh_user text,
      exh_item_id text
    );
    CREATE FUNCTION ${schema}.test_item_audit() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      r record;
    BEGIN
      IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
      INSERT INTO ${schema}.test_item_audit (tbl, op, writer, exh_user, exh_item_id)
        VALUES (TG_TABLE_NAME, TG_OP, current_setting('application_name'), r.exh_user, r.exh_item_id);
      RETURN NULL;
    END $$;
  `);
  for (const table of ['task_item', 'contact_item', 'calendar_item', 'email_item']) {
    await admin.query(`CREATE TRIGGER test_item_audit AFTER INSERT OR DELETE OR UPDATE OF exh_item_id ON ${schema}.${table}
      FOR EACH ROW EXECUTE FUNCTION ${schema}.test_item_audit()`);
  }
}

/** The story of items and of their users' watermarks, for a failure message. */
export async function itemStory(admin: pg.Client, schema: string, itemIds: readonly string[]): Promise<string[]> {
  const { rows } = await admin.query<{ line: string }>(
    `SELECT format('%s %s %s %s %s by %s', at, tbl, op, exh_user, exh_item_id, writer) AS line
     FROM ${schema}.test_item_audit WHERE exh_item_id = ANY($1::text[]) ORDER BY id`,
    [itemIds],
  );
  return rows.map((r) => r.line);
}

export async function watermarkStory(admin: pg.Client, schema: string, user: string): Promise<string[]> {
  const { rows } = await admin.query<{ line: string }>(
    `SELECT format('%s %s by %s, lease %s fence %s', at, tbl, writer, holder, fence) AS line
     FROM ${schema}.test_write_audit WHERE exh_user = $1 AND tbl = 'exh_watermark' ORDER BY id`,
    [user],
  );
  return rows.map((r) => r.line);
}

export interface WriteAudit {
  /** Committed watermark writes and outbox completions. */
  writes: number;
  /** Of those, committed while another instance (or none) held the user's lease. */
  fenced: number;
  /** Committed by the holder after the lease's time had run out by the clock, the lease row still locked by the page. */
  lateButHeld: number;
  examples: string[];
}

export async function readWriteAudit(admin: pg.Client, schema: string): Promise<WriteAudit> {
  const { rows } = await admin.query<{ writes: number; fenced: number; late: number }>(
    `SELECT count(*)::int AS writes,
       count(*) FILTER (WHERE holder IS DISTINCT FROM writer)::int AS fenced,
       count(*) FILTER (WHERE holder = writer AND expired)::int AS late
     FROM ${schema}.test_write_audit`,
  );
  const { rows: examples } = await admin.query<{ line: string }>(
    `SELECT format('%s %s of %s by %s at %s, lease %s (fence %s)', tbl, id, exh_user, writer, at, holder, fence) AS line
     FROM ${schema}.test_write_audit WHERE holder IS DISTINCT FROM writer ORDER BY id LIMIT 5`,
  );
  const counts = rows[0] ?? { writes: 0, fenced: 0, late: 0 };
  return {
    writes: counts.writes,
    fenced: counts.fenced,
    lateButHeld: counts.late,
    examples: examples.map((r) => r.line),
  };
}
