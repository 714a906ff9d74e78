"""dataset invalidation: every baselined day frozen, changes fail the certification at once

Revision ID: 0056
Revises: 0055

A review reproduced two holes in dataset drift, on both shipped entrypoints:
- A run hashed the policy's last check_days UTC days ending at the entrypoint's newest t0 day
  (plus, in strict mode, the baselined days from that window's first day on). One row dated
  far after the newest baselined day slid the window past every baselined day, and an edit to
  them went unseen. Runs now re-check every baselined day (harness/cert_checks.py), and the new
  policy column max_new_days bounds how far after the newest baselined day rows may lie: a row
  dated later fails the run's dataset_drift check, naming its days, so it can neither slide
  anything nor be baselined by a run.
- An edit to a baselined day was served by the guarded views until the next certify run.
  Statement-level AFTER triggers on the two source tables the entrypoints read
  (src.listing_snapshots_t0, src.listing_vision_features) now find the UTC t0 days a statement
  touched in its transition tables (old and new rows: an UPDATE moving a row out of a
  baselined day counts with its old day) and, when any lies at or before an entrypoint's
  newest baselined day, set that entrypoint's registry row and its alias rows to FAILED with
  the table, the operation, the days and the remedy, in the statement's own transaction. The
  guard refuses any status but CERTIFIED, so the guarded views refuse from the first
  statement after the change commits. A vision row has no t0 of its own: its days are those of
  the snapshots with its (generation, listing_id); one without a snapshot changes no
  entrypoint row (the snapshot's INSERT is judged when it comes). TRUNCATE invalidates every
  entrypoint with a baseline. INSERT ... ON CONFLICT, COPY, MERGE and writable CTEs fire the
  same statement triggers with the same transition tables; a multi-statement transaction is
  judged statement by statement.

Which entrypoints: every policy entrypoint whose newest baselined day is at or after the
earliest touched day (both shipped entrypoints read both tables and expose the snapshot's t0 as
their t0; the trigger does not walk closures, so an entrypoint reading neither table would be
invalidated needlessly: fail closed). The rows are written whatever their status, so a
certify run that read its snapshot before the change meets the trigger's row version and fails
to serialize (and records FAILED) instead of certifying data it never saw.

Cost: rows dated after every entrypoint's newest baselined day (the daily load of new days)
invalidate nothing; the trigger then costs one probe of the baseline per policy and one scan
of the statement's transition table. Vision rows have their days looked up only when a
snapshot before the bound lies within the listing_id range (per generation) of the
statement's rows: one range scan of the snapshots' primary key, short for new listings with
fresh ids; otherwise each row is joined to its snapshots. The triggers are ENABLE ALWAYS, so a
session in session_replication_role = replica fires them too.

A row inserted into a new day while a certify run that baselines that day is in progress (its
snapshot taken before the insert committed) invalidates nothing: the day was new when the
trigger ran. It was served like any new-day row; the next run finds the day changed (strict:
FAILED) instead of passing it silently.

Not covered (the next run still re-checks every baselined day): DDL that rewrites data
(ALTER COLUMN ... TYPE ... USING), ALTER TABLE ... DISABLE TRIGGER by the table owner, rows
reached through inheritance children, and logical replication's apply worker, which fires
only row-level triggers.
"""

from alembic import op

revision = "0056"
down_revision = "0055"
branch_labels = None
depends_on = None

FUNCTION = "audit.t0_invalidate_changed_days_v1()"
SOURCE_TABLES = ("src.listing_snapshots_t0", "src.listing_vision_features")

POLICY_COLUMN = r"""
ALTER TABLE audit.t0_entrypoint_policy
    ADD COLUMN max_new_days integer NOT NULL DEFAULT 7
        CONSTRAINT ck_t0_entrypoint_policy_max_new_days CHECK (max_new_days >= 0);
COMMENT ON COLUMN audit.t0_entrypoint_policy.max_new_days IS
    'Tolerance for new data, in UTC days: a certify run baselines the days after the newest '
    'baselined day up to this many days after it; a row dated later fails the run''s '
    'dataset_drift check (its days named) and is never baselined by a run. 0: every new day '
    'waits for certify baseline.';
COMMENT ON COLUMN audit.t0_entrypoint_policy.check_days IS
    'UTC t0_days that certify baseline hashes, ending at the entrypoint''s newest t0 day. Every '
    'run re-checks every baselined day, whatever new rows exist.';
COMMENT ON TABLE audit.t0_entrypoint_policy IS
    'One row per certified entrypoint: aliases inheriting its status, freshness, dataset-drift '
    'policy (certify baseline hashes the last check_days UTC t0_days; every run re-checks every '
    'baselined day and baselines new days up to max_new_days after the newest; strict: a '
    'changed day fails, tolerant: it is re-baselined; sample_limit NULL = every row), assertion '
    'function. package_bound: the certification is tied to the active WOE package. A change to '
    'a day at or before an entrypoint''s newest baselined day fails its certification at once '
    '(audit.t0_invalidate_changed_days_v1).';
"""

PREVIOUS_COMMENTS = r"""
COMMENT ON TABLE audit.t0_entrypoint_policy IS
    'One row per certified entrypoint: aliases inheriting its status, freshness, dataset-drift '
    'policy (last check_days UTC t0_days; sample_limit NULL = every row), assertion function. '
    'package_bound: the certification is tied to the active WOE package.';
COMMENT ON COLUMN audit.t0_entrypoint_policy.check_days IS NULL;
"""

# The days a statement touched that lie at or before the newest baselined day of any policy
# entrypoint (the UTC t0 day of each old and new row; for vision rows, of their snapshots),
# then FAILED for every entrypoint whose newest baselined day is at or after the first of them.
# Rows after every newest baselined day (new days) fail the first filter: nothing is written.
CREATE_FUNCTION = r"""
CREATE FUNCTION audit.t0_invalidate_changed_days_v1()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    v_newest date;         -- the newest baselined day of any policy entrypoint
    v_bound  timestamptz;  -- the start of the UTC day after it: earlier rows are baselined data
    v_days   date[];       -- the touched UTC t0 days before v_bound, ascending
    v_what   text;
    v_gen    integer[];    -- vision rows: per generation, the listing_id range they touch
    v_lo     bigint[];
    v_hi     bigint[];
BEGIN
    SELECT pg_catalog.max(n.t0_day) INTO v_newest
    FROM audit.t0_entrypoint_policy AS p
    CROSS JOIN LATERAL (SELECT b.t0_day FROM audit.t0_dataset_hash_baseline AS b
                        WHERE b.entrypoint = p.entrypoint
                        ORDER BY b.t0_day DESC LIMIT 1) AS n;
    IF v_newest IS NULL THEN
        RETURN NULL;  -- nothing is baselined
    END IF;
    v_bound := (v_newest + 1)::timestamp AT TIME ZONE 'UTC';

    IF TG_OP = 'TRUNCATE' THEN
        v_what := 'removed every row';
    ELSIF TG_RELID = 'src.listing_snapshots_t0'::pg_catalog.regclass THEN
        IF TG_OP = 'INSERT' THEN
            SELECT pg_catalog.array_agg(x.d ORDER BY x.d) INTO v_days
            FROM (SELECT DISTINCT (n.t0 AT TIME ZONE 'UTC')::date AS d
                  FROM new_rows AS n WHERE n.t0 < v_bound) AS x;
        ELSIF TG_OP = 'UPDATE' THEN
            SELECT pg_catalog.array_agg(x.d ORDER BY x.d) INTO v_days
            FROM (SELECT (o.t0 AT TIME ZONE 'UTC')::date AS d
                  FROM old_rows AS o WHERE o.t0 < v_bound
                  UNION
                  SELECT (n.t0 AT TIME ZONE 'UTC')::date
                  FROM new_rows AS n WHERE n.t0 < v_bound) AS x;
        ELSE
            SELECT pg_catalog.array_agg(x.d ORDER BY x.d) INTO v_days
            FROM (SELECT DISTINCT (o.t0 AT TIME ZONE 'UTC')::date AS d
                  FROM old_rows AS o WHERE o.t0 < v_bound) AS x;
        END IF;
        v_what := 'changed rows of UTC t0_day(s)';
    ELSIF TG_RELID = 'src.listing_vision_features'::pg_catalog.regclass THEN
        -- Cheap first: per generation, the listing_id range of the statement's rows. Only when
        -- a snapshot before v_bound lies in such a range (a range scan of the primary key: new
        -- listings' fresh ids keep it to the new snapshots) are the rows joined one by one.
        IF TG_OP = 'INSERT' THEN
            SELECT pg_catalog.array_agg(r.generation), pg_catalog.array_agg(r.lo),
                   pg_catalog.array_agg(r.hi) INTO v_gen, v_lo, v_hi
            FROM (SELECT n.generation, pg_catalog.min(n.listing_id) AS lo,
                         pg_catalog.max(n.listing_id) AS hi
                  FROM new_rows AS n GROUP BY n.generation) AS r;
        ELSIF TG_OP = 'UPDATE' THEN
            SELECT pg_catalog.array_agg(r.generation), pg_catalog.array_agg(r.lo),
                   pg_catalog.array_agg(r.hi) INTO v_gen, v_lo, v_hi
            FROM (SELECT k.generation, pg_catalog.min(k.listing_id) AS lo,
                         pg_catalog.max(k.listing_id) AS hi
                  FROM (SELECT o.generation, o.listing_id FROM old_rows AS o
                        UNION ALL
                        SELECT n.generation, n.listing_id FROM new_rows AS n) AS k
                  GROUP BY k.generation) AS r;
        ELSE
            SELECT pg_catalog.array_agg(r.generation), pg_catalog.array_agg(r.lo),
                   pg_catalog.array_agg(r.hi) INTO v_gen, v_lo, v_hi
            FROM (SELECT o.generation, pg_catalog.min(o.listing_id) AS lo,
                         pg_catalog.max(o.listing_id) AS hi
                  FROM old_rows AS o GROUP BY o.generation) AS r;
        END IF;
        IF NOT EXISTS (
            SELECT FROM ROWS FROM (pg_catalog.unnest(v_gen), pg_catalog.unnest(v_lo),
                                   pg_catalog.unnest(v_hi)) AS r(generation, lo, hi)
            WHERE EXISTS (SELECT FROM src.listing_snapshots_t0 AS s
                          WHERE s.generation = r.generation
                            AND s.listing_id BETWEEN r.lo AND r.hi AND s.t0 < v_bound)) THEN
            RETURN NULL;  -- no row of the statement has a snapshot before v_bound
        END IF;
        IF TG_OP = 'INSERT' THEN
            SELECT pg_catalog.array_agg(x.d ORDER BY x.d) INTO v_days
            FROM (SELECT DISTINCT (s.t0 AT TIME ZONE 'UTC')::date AS d
                  FROM new_rows AS v
                  JOIN src.listing_snapshots_t0 AS s
                    ON s.generation = v.generation AND s.listing_id = v.listing_id
                  WHERE s.t0 < v_bound) AS x;
        ELSIF TG_OP = 'UPDATE' THEN
            SELECT pg_catalog.array_agg(x.d ORDER BY x.d) INTO v_days
            FROM (SELECT (s.t0 AT TIME ZONE 'UTC')::date AS d
                  FROM old_rows AS v
                  JOIN src.listing_snapshots_t0 AS s
                    ON s.generation = v.generation AND s.listing_id = v.listing_id
                  WHERE s.t0 < v_bound
                  UNION
                  SELECT (s.t0 AT TIME ZONE 'UTC')::date
                  FROM new_rows AS v
                  JOIN src.listing_snapshots_t0 AS s
                    ON s.generation = v.generation AND s.listing_id = v.listing_id
                  WHERE s.t0 < v_bound) AS x;
        ELSE
            SELECT pg_catalog.array_agg(x.d ORDER BY x.d) INTO v_days
            FROM (SELECT DISTINCT (s.t0 AT TIME ZONE 'UTC')::date AS d
                  FROM old_rows AS v
                  JOIN src.listing_snapshots_t0 AS s
                    ON s.generation = v.generation AND s.listing_id = v.listing_id
                  WHERE s.t0 < v_bound) AS x;
        END IF;
        v_what := 'changed the vision rows of snapshots of UTC t0_day(s)';
    ELSE
        RAISE EXCEPTION 'audit.t0_invalidate_changed_days_v1: no rule for %.%',
            TG_TABLE_SCHEMA, TG_TABLE_NAME;
    END IF;
    IF TG_OP <> 'TRUNCATE' AND v_days IS NULL THEN
        RETURN NULL;  -- only days after every newest baselined day: new data
    END IF;

    -- Lock in one order (concurrent writers), then write whatever the status: a certify run
    -- whose snapshot predates this change must meet this row version and fail to serialize.
    PERFORM 1
    FROM audit.t0_cert_registry AS r
    JOIN audit.t0_entrypoint_policy AS p
      ON r.entrypoint = p.entrypoint OR r.inherited_from = p.entrypoint
         OR r.entrypoint = ANY (p.aliases)
    CROSS JOIN LATERAL (SELECT b.t0_day FROM audit.t0_dataset_hash_baseline AS b
                        WHERE b.entrypoint = p.entrypoint
                        ORDER BY b.t0_day DESC LIMIT 1) AS n
    WHERE v_days IS NULL OR v_days[1] <= n.t0_day
    ORDER BY r.entrypoint
    FOR UPDATE OF r;

    UPDATE audit.t0_cert_registry AS r
    SET status = 'FAILED', detail = e.detail  -- certified_at: still the last outcome's time
    FROM (
        SELECT p.entrypoint, p.aliases,
               pg_catalog.format(
                   'dataset changed after certification: %s on %I.%I %s%s (newest baselined '
                   'day %s of %s); %s',
                   TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME, v_what,
                   CASE WHEN v_days IS NULL THEN ''
                        ELSE ' ' || (SELECT pg_catalog.string_agg(
                                                pg_catalog.to_char(u.d, 'YYYY-MM-DD'), ', '
                                                ORDER BY u.d)
                                            FILTER (WHERE u.i <= 10)
                                            || CASE WHEN pg_catalog.count(*) > 10
                                                    THEN pg_catalog.format(' and %s more',
                                                                           pg_catalog.count(*) - 10)
                                                    ELSE '' END
                                     FROM pg_catalog.unnest(v_days) WITH ORDINALITY AS u(d, i)
                                     WHERE u.d <= n.t0_day) END,
                   pg_catalog.to_char(n.t0_day, 'YYYY-MM-DD'), p.entrypoint,
                   CASE WHEN p.drift_mode = 'tolerant'
                        THEN 'python -m harness.certify run re-checks and re-baselines them'
                        ELSE 'if intended: python -m harness.certify baseline, then python -m '
                             'harness.certify run' END) AS detail
        FROM audit.t0_entrypoint_policy AS p
        CROSS JOIN LATERAL (SELECT b.t0_day FROM audit.t0_dataset_hash_baseline AS b
                            WHERE b.entrypoint = p.entrypoint
                            ORDER BY b.t0_day DESC LIMIT 1) AS n
        WHERE v_days IS NULL OR v_days[1] <= n.t0_day
    ) AS e
    WHERE r.entrypoint = e.entrypoint OR r.inherited_from = e.entrypoint
       OR r.entrypoint = ANY (e.aliases);
    RETURN NULL;
END
$fn$;
COMMENT ON FUNCTION audit.t0_invalidate_changed_days_v1() IS
    'Statement trigger of the source tables: a change (INSERT, UPDATE, DELETE, TRUNCATE) to rows '
    'whose UTC t0 day (for vision rows: their snapshots'') is at or before an entrypoint''s '
    'newest baselined day sets that entrypoint''s and its aliases'' registry rows to FAILED in '
    'the same transaction, naming table, operation, days and remedy. Rows in later days (new '
    'data) change nothing.';
REVOKE ALL ON FUNCTION audit.t0_invalidate_changed_days_v1() FROM PUBLIC;
"""


def _trigger_prefix(table: str) -> str:
    return table.partition(".")[2]


def _triggers(table: str) -> list[tuple[str, str]]:
    """(name, CREATE TRIGGER) for each event: a trigger with transition tables has one event."""
    prefix = _trigger_prefix(table)
    return [
        (f"{prefix}_invalidate_on_insert",
         f"AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"),
        (f"{prefix}_invalidate_on_update",
         (f"AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
         "FOR EACH STATEMENT")),
        (f"{prefix}_invalidate_on_delete",
         f"AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"),
        (f"{prefix}_invalidate_on_truncate", f"AFTER TRUNCATE ON {table} FOR EACH STATEMENT"),
    ]


def upgrade() -> None:
    op.execute(POLICY_COLUMN)
    op.execute(CREATE_FUNCTION)
    for table in SOURCE_TABLES:
        for name, spec in _triggers(table):
            op.execute(f"CREATE TRIGGER {name} {spec} EXECUTE FUNCTION {FUNCTION};")
            op.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name};")


def downgrade() -> None:
    for table in SOURCE_TABLES:
        for name, _spec in _triggers(table):
            op.execute(f"DROP TRIGGER {name} ON {table};")
    op.execute(f"DROP FUNCTION {FUNCTION};")
    op.execute(PREVIOUS_COMMENTS)
    op.execute("ALTER TABLE audit.t0_entrypoint_policy DROP COLUMN max_new_days;")
