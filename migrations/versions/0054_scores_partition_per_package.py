"""scores: one partition per package, its primary key built once after its rows

Revision ID: 0054
Revises: 0053

Persisting a package writes one OOF score row per training row (about a million at 1M
listings). Into one plain table, every row paid a primary-key insertion and its WAL record:
half or more of the INSERT (1.1M listings: 5.2-6.1 s against 2.7-2.9 s for the same rows
written into a bare table whose key is then built in one sorted pass).

ml.woe_anchor_scores_v1 becomes a table partitioned BY LIST (model_key), one partition per
package, with the same columns, checks, primary key and triggers. A trainer writes a package's
scores in three steps inside its one transaction:

1. ml.woe_anchor_scores_open_v1(model_key) creates the package's table (not yet a partition;
   no index, no triggers, the parent's checks plus model_key = the package's key) and grants
   the trainer role INSERT on it. It refuses a package without a registry row (23503) or one
   committed by another transaction (42501), as the insert trigger does, and a second open.
2. The trainer INSERTs the rows into that table (its name is what open returns).
3. ml.woe_anchor_scores_seal_v1(model_key) revokes that INSERT and attaches the table as the
   package's partition: the attach builds its primary key (one sorted build), skips the
   partition-constraint scan (the model_key check implies it) and clones the parent's row
   triggers (UPDATE and DELETE refused); seal adds the TRUNCATE refusal, a statement trigger
   that PostgreSQL does not clone.

Both are SECURITY DEFINER, so the partitions belong to the schema's owner and a trainer can
never drop, alter or (after seal) write a committed package's partition. Rows inserted
through the parent still go to the package's partition and through the same-transaction
trigger; a model_key without a partition has nowhere to go (23514). A deferred constraint
trigger on the registry refuses to commit a package whose scores were opened and not sealed,
so a commit never leaves a loose table behind. The partition's name is
ml.woe_anchor_scores_partition_v1(model_key), 'woe_anchor_scores_v1_' || md5(model_key).

Whether a package is still open (created by the current transaction, 0045's created_xid) is
now one function, ml.woe_anchor_package_open_v1, used by the insert trigger and by open and seal.
Existing packages' scores move into their own partitions here, unchanged.
"""

from alembic import op

from harness.roles import from_alembic as roles

revision = "0054"
down_revision = "0053"
branch_labels = None
depends_on = None

COLUMNS = """
    model_key   text             NOT NULL,
    generation  integer          NOT NULL,
    listing_id  bigint           NOT NULL,
    t0          timestamptz      NOT NULL,
    fold_id     integer,
    is_oof      boolean          NOT NULL,
    woe_logit   double precision NOT NULL,
    woe_p       double precision NOT NULL,
    CONSTRAINT woe_anchor_scores_v1_pkey PRIMARY KEY (model_key, generation, listing_id, t0),
    CONSTRAINT ck_woe_anchor_scores_v1_fold_id CHECK (fold_id >= 0),
    CONSTRAINT ck_woe_anchor_scores_v1_woe_logit
        CHECK (woe_logit > '-Infinity'::float8 AND woe_logit < 'Infinity'::float8),
    CONSTRAINT ck_woe_anchor_scores_v1_woe_p CHECK (woe_p BETWEEN 0 AND 1)
"""

COMMENT = (
    "COMMENT ON TABLE ml.woe_anchor_scores_v1 IS\n"
    "    'Out-of-fold training scores: one row per training row, scored by the fold that "
    "excluded it.';\n"
)

TRIGGERS = """
CREATE TRIGGER woe_anchor_scores_v1_freeze
    BEFORE UPDATE OR DELETE ON ml.woe_anchor_scores_v1
    FOR EACH ROW EXECUTE FUNCTION ml.reject_package_change();
CREATE TRIGGER woe_anchor_scores_v1_no_truncate
    BEFORE TRUNCATE ON ml.woe_anchor_scores_v1
    FOR EACH STATEMENT EXECUTE FUNCTION ml.reject_package_change();
CREATE TRIGGER woe_anchor_scores_v1_same_transaction
    AFTER INSERT ON ml.woe_anchor_scores_v1 REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ml.reject_rows_for_committed_package();
"""

# 0045's insert trigger, which downgrade restores.
PREVIOUS_INSERT_TRIGGER = r"""
CREATE OR REPLACE FUNCTION ml.reject_rows_for_committed_package() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_key text;
    v_committed boolean;
BEGIN
    -- One row per distinct model_key of the statement: an unknown key first (a missing
    -- registry row), then a key whose registry row was created by another transaction.
    SELECT n.model_key, r.model_key IS NOT NULL INTO v_key, v_committed
    FROM (SELECT DISTINCT new_rows.model_key FROM new_rows) AS n
    LEFT JOIN ml.woe_anchor_model_registry_v1 AS r ON r.model_key = n.model_key
    WHERE r.model_key IS NULL
       OR r.created_xid <> pg_current_xact_id()
    ORDER BY r.model_key IS NOT NULL, n.model_key
    LIMIT 1;
    IF v_key IS NOT NULL AND NOT v_committed THEN
        RAISE EXCEPTION 'WOE package % does not exist: INSERT into %.% refused',
            v_key, TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Insert the registry row of the package first, in the same transaction.';
    END IF;
    IF v_key IS NOT NULL THEN
        RAISE EXCEPTION 'WOE package % is already committed: INSERT into %.% refused',
            v_key, TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$function$;
"""


def _functions(trainer: str) -> str:
    return rf"""
CREATE FUNCTION ml.woe_anchor_package_open_v1(model_key text) RETURNS boolean
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT r.created_xid = pg_current_xact_id()
    FROM ml.woe_anchor_model_registry_v1 AS r
    WHERE r.model_key = woe_anchor_package_open_v1.model_key;
END;
COMMENT ON FUNCTION ml.woe_anchor_package_open_v1(text) IS
    'true: the package was created by the current transaction (its created_xid), so artifacts '
    'may still be added; false: committed; NULL: no such package.';

CREATE OR REPLACE FUNCTION ml.reject_rows_for_committed_package() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_key text;
    v_open boolean;
BEGIN
    -- One row per distinct model_key of the statement: an unknown key first, then a key whose
    -- package is committed.
    SELECT k.model_key, k.is_open INTO v_key, v_open
    FROM (SELECT d.model_key, ml.woe_anchor_package_open_v1(d.model_key) AS is_open
          FROM (SELECT DISTINCT new_rows.model_key FROM new_rows) AS d
          OFFSET 0) AS k
    WHERE k.is_open IS NOT TRUE
    ORDER BY k.is_open IS NOT NULL, k.model_key
    LIMIT 1;
    IF v_key IS NOT NULL AND v_open IS NULL THEN
        RAISE EXCEPTION 'WOE package % does not exist: INSERT into %.% refused',
            v_key, TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Insert the registry row of the package first, in the same transaction.';
    END IF;
    IF v_key IS NOT NULL THEN
        RAISE EXCEPTION 'WOE package % is already committed: INSERT into %.% refused',
            v_key, TG_TABLE_SCHEMA, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NULL;
END
$function$;

CREATE FUNCTION ml.woe_anchor_scores_partition_v1(model_key text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 'woe_anchor_scores_v1_' || md5(model_key);
COMMENT ON FUNCTION ml.woe_anchor_scores_partition_v1(text) IS
    'The name (in schema ml) of the partition of ml.woe_anchor_scores_v1 holding a package''s '
    'scores.';

-- Where a package's scores table is: 'absent' (not opened), 'open' (not yet a partition) or
-- 'sealed' (attached). Open, seal and the commit-time check all decide by it.
CREATE FUNCTION ml.woe_anchor_scores_state_v1(p_model_key text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_table regclass := to_regclass(format('ml.%I', ml.woe_anchor_scores_partition_v1(p_model_key)));
BEGIN
    IF v_table IS NULL THEN
        RETURN 'absent';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_inherits AS i WHERE i.inhrelid = v_table) THEN
        RETURN 'sealed';
    END IF;
    RETURN 'open';
END
$function$;

-- The two steps shared by open/seal and by this revision's move of the existing scores.
CREATE FUNCTION ml.woe_anchor_scores_create_partition_v1(p_model_key text) RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_name text := ml.woe_anchor_scores_partition_v1(p_model_key);
BEGIN
    -- The parent's NOT NULLs and checks (an attach requires them), and the package's key: it
    -- implies the partition constraint, so the attach need not scan the rows.
    EXECUTE format(
        'CREATE TABLE ml.%I (LIKE ml.woe_anchor_scores_v1 INCLUDING DEFAULTS INCLUDING CONSTRAINTS,'
        ' CONSTRAINT ck_woe_anchor_scores_v1_package CHECK (model_key = %L))',
        v_name, p_model_key);
    RETURN v_name;
END
$function$;

CREATE FUNCTION ml.woe_anchor_scores_attach_partition_v1(p_model_key text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_name text := ml.woe_anchor_scores_partition_v1(p_model_key);
BEGIN
    -- Builds the partition's primary key and clones the parent's row triggers.
    EXECUTE format('ALTER TABLE ml.woe_anchor_scores_v1 ATTACH PARTITION ml.%I FOR VALUES IN (%L)',
                   v_name, p_model_key);
    EXECUTE format('CREATE TRIGGER woe_anchor_scores_v1_no_truncate BEFORE TRUNCATE ON ml.%I '
                   'FOR EACH STATEMENT EXECUTE FUNCTION ml.reject_package_change()', v_name);
END
$function$;

CREATE FUNCTION ml.woe_anchor_scores_open_v1(p_model_key text) RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_open boolean := ml.woe_anchor_package_open_v1(p_model_key);
    v_name text;
BEGIN
    IF v_open IS NULL THEN
        RAISE EXCEPTION 'WOE package % does not exist: its scores cannot be opened', p_model_key
            USING ERRCODE = 'foreign_key_violation',
                  HINT = 'Insert the registry row of the package first, in the same transaction.';
    END IF;
    IF NOT v_open THEN
        RAISE EXCEPTION 'WOE package % is already committed: its scores cannot be opened',
            p_model_key USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF ml.woe_anchor_scores_state_v1(p_model_key) <> 'absent' THEN
        RAISE EXCEPTION 'the scores of WOE package % are already open', p_model_key
            USING ERRCODE = 'duplicate_table';
    END IF;
    v_name := ml.woe_anchor_scores_create_partition_v1(p_model_key);
    EXECUTE format('GRANT INSERT ON ml.%I TO {trainer}', v_name);
    RETURN v_name;
END
$function$;
COMMENT ON FUNCTION ml.woe_anchor_scores_open_v1(text) IS
    'Creates the table for the scores of a package created by this transaction (INSERT its '
    'rows, then call ml.woe_anchor_scores_seal_v1); returns its name in schema ml.';

CREATE FUNCTION ml.woe_anchor_scores_seal_v1(p_model_key text) RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    v_open boolean := ml.woe_anchor_package_open_v1(p_model_key);
    v_state text := ml.woe_anchor_scores_state_v1(p_model_key);
BEGIN
    IF v_open IS NOT TRUE THEN
        RAISE EXCEPTION 'WOE package % is not open in this transaction: its scores cannot be sealed',
            p_model_key USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF v_state = 'absent' THEN
        RAISE EXCEPTION 'the scores of WOE package % were not opened', p_model_key
            USING ERRCODE = 'undefined_table',
                  HINT = 'Call ml.woe_anchor_scores_open_v1 first.';
    END IF;
    IF v_state = 'sealed' THEN
        RAISE EXCEPTION 'the scores of WOE package % are already sealed', p_model_key
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    EXECUTE format('REVOKE INSERT ON ml.%I FROM {trainer}',
                   ml.woe_anchor_scores_partition_v1(p_model_key));
    PERFORM ml.woe_anchor_scores_attach_partition_v1(p_model_key);
END
$function$;
COMMENT ON FUNCTION ml.woe_anchor_scores_seal_v1(text) IS
    'Attaches the opened scores table of a package as its partition of ml.woe_anchor_scores_v1 '
    '(primary key built, rows frozen, the trainer''s INSERT revoked).';

CREATE FUNCTION ml.reject_unsealed_scores() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $function$
BEGIN
    IF ml.woe_anchor_scores_state_v1(NEW.model_key) = 'open' THEN
        RAISE EXCEPTION 'the scores of WOE package % were opened and never sealed: commit refused',
            NEW.model_key
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'Call ml.woe_anchor_scores_seal_v1 before committing.';
    END IF;
    RETURN NULL;
END
$function$;

CREATE CONSTRAINT TRIGGER woe_anchor_model_registry_v1_scores_sealed
    AFTER INSERT ON ml.woe_anchor_model_registry_v1
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ml.reject_unsealed_scores();

REVOKE EXECUTE ON FUNCTION ml.woe_anchor_scores_create_partition_v1(text),
    ml.woe_anchor_scores_attach_partition_v1(text), ml.woe_anchor_scores_open_v1(text),
    ml.woe_anchor_scores_seal_v1(text), ml.reject_unsealed_scores() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ml.woe_anchor_scores_open_v1(text), ml.woe_anchor_scores_seal_v1(text)
    TO {trainer};
"""


def upgrade() -> None:
    trainer = roles().trainer
    op.execute(
        # The plain table steps aside (its key's name with it) and its rows move below; its
        # name goes to the partitioned table in the same transaction, so no client sees a gap.
        "-- squawk-ignore renaming-table\n"
        "ALTER TABLE ml.woe_anchor_scores_v1 RENAME TO woe_anchor_scores_v1_unpartitioned;\n"
        "ALTER TABLE ml.woe_anchor_scores_v1_unpartitioned\n"
        "    -- squawk-ignore renaming-object\n"
        "    RENAME CONSTRAINT woe_anchor_scores_v1_pkey TO woe_anchor_scores_v1_unpartitioned_pkey;\n"
        f"CREATE TABLE ml.woe_anchor_scores_v1 ({COLUMNS}) PARTITION BY LIST (model_key);\n"
        + COMMENT + TRIGGERS
        + f"GRANT SELECT, INSERT ON ml.woe_anchor_scores_v1 TO {trainer};\n"
        + _functions(trainer)
        + r"""
DO $move$
DECLARE
    v_key text;
BEGIN
    FOR v_key IN SELECT DISTINCT u.model_key FROM ml.woe_anchor_scores_v1_unpartitioned AS u
                 ORDER BY 1 LOOP
        EXECUTE format('INSERT INTO ml.%I SELECT * FROM ml.woe_anchor_scores_v1_unpartitioned AS u '
                       'WHERE u.model_key = %L',
                       ml.woe_anchor_scores_create_partition_v1(v_key), v_key);
        PERFORM ml.woe_anchor_scores_attach_partition_v1(v_key);
    END LOOP;
END
$move$;
-- Its rows are in the partitions now.
-- squawk-ignore ban-drop-table
DROP TABLE ml.woe_anchor_scores_v1_unpartitioned;
"""
    )


def downgrade() -> None:
    trainer = roles().trainer
    op.execute(
        "ALTER TABLE ml.woe_anchor_scores_v1 RENAME TO woe_anchor_scores_v1_partitioned;\n"
        "ALTER TABLE ml.woe_anchor_scores_v1_partitioned\n"
        "    RENAME CONSTRAINT woe_anchor_scores_v1_pkey TO woe_anchor_scores_v1_partitioned_pkey;\n"
        f"CREATE TABLE ml.woe_anchor_scores_v1 ({COLUMNS});\n"
        + COMMENT
        + "INSERT INTO ml.woe_anchor_scores_v1 SELECT * FROM ml.woe_anchor_scores_v1_partitioned\n"
        "    ORDER BY model_key, generation, listing_id, t0;\n"
        # CASCADE: the partitions go with their parent.
        "DROP TABLE ml.woe_anchor_scores_v1_partitioned CASCADE;\n"
        + TRIGGERS
        + f"GRANT SELECT, INSERT ON ml.woe_anchor_scores_v1 TO {trainer};\n"
        + r"""
DROP TRIGGER woe_anchor_model_registry_v1_scores_sealed ON ml.woe_anchor_model_registry_v1;
DROP FUNCTION ml.reject_unsealed_scores();
DROP FUNCTION ml.woe_anchor_scores_seal_v1(text);
DROP FUNCTION ml.woe_anchor_scores_open_v1(text);
DROP FUNCTION ml.woe_anchor_scores_attach_partition_v1(text);
DROP FUNCTION ml.woe_anchor_scores_create_partition_v1(text);
DROP FUNCTION ml.woe_anchor_scores_state_v1(text);
DROP FUNCTION ml.woe_anchor_scores_partition_v1(text);
"""
        + PREVIOUS_INSERT_TRIGGER
        + "DROP FUNCTION ml.woe_anchor_package_open_v1(text);\n"
    )
