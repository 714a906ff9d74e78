"""audit schema: view-definition and dataset-hash baselines, certification registry, run history

Revision ID: 0001
Revises:
"""

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
CREATE SCHEMA audit;
COMMENT ON SCHEMA audit IS 'T0 certification primitives: baselines, registry, history, guard.';

CREATE TABLE audit.t0_viewdef_baseline (
    entrypoint          text        NOT NULL,
    object_name         text        NOT NULL,
    object_kind         text        NOT NULL,
    raw_sha256          text        NOT NULL,
    normalized_sha256   text        NOT NULL,
    normalized_sql      text        NOT NULL,
    server_version_num  integer     NOT NULL,
    baselined_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT t0_viewdef_baseline_pkey PRIMARY KEY (entrypoint, object_name),
    CONSTRAINT ck_t0_viewdef_baseline_object_kind
        CHECK (object_kind IN ('view', 'materialized_view', 'function')),
    CONSTRAINT ck_t0_viewdef_baseline_raw_sha256 CHECK (raw_sha256 ~ '^[0-9a-f]{64}$'),
    CONSTRAINT ck_t0_viewdef_baseline_normalized_sha256
        CHECK (normalized_sha256 ~ '^[0-9a-f]{64}$')
);
COMMENT ON TABLE audit.t0_viewdef_baseline IS
    'One row per object in an entrypoint''s closure: raw and sqlglot-normalized definition hashes.';

CREATE TABLE audit.t0_dataset_hash_baseline (
    entrypoint      text        NOT NULL,
    t0_day          date        NOT NULL,
    row_count       bigint      NOT NULL,
    dataset_sha256  text        NOT NULL,
    sample_limit    integer,
    baselined_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT t0_dataset_hash_baseline_pkey PRIMARY KEY (entrypoint, t0_day),
    CONSTRAINT ck_t0_dataset_hash_baseline_row_count CHECK (row_count >= 0),
    CONSTRAINT ck_t0_dataset_hash_baseline_dataset_sha256 CHECK (dataset_sha256 ~ '^[0-9a-f]{64}$'),
    CONSTRAINT ck_t0_dataset_hash_baseline_sample_limit CHECK (sample_limit > 0)
);
COMMENT ON TABLE audit.t0_dataset_hash_baseline IS
    'Per UTC t0_day content hash of an entrypoint''s rows, independent of physical row order.';

CREATE TABLE audit.t0_cert_registry (
    entrypoint           text        NOT NULL,
    status               text        NOT NULL,
    certified_at         timestamptz NOT NULL,
    certified_model_key  text,
    inherited_from       text,
    detail               text,
    CONSTRAINT t0_cert_registry_pkey PRIMARY KEY (entrypoint),
    CONSTRAINT ck_t0_cert_registry_status CHECK (status IN ('CERTIFIED', 'FAILED'))
);
COMMENT ON TABLE audit.t0_cert_registry IS
    'Latest certification outcome per entrypoint (and alias rows inheriting it).';

CREATE TABLE audit.t0_cert_run_history (
    run_id        bigint GENERATED ALWAYS AS IDENTITY,
    entrypoint    text        NOT NULL,
    status        text        NOT NULL,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    model_key     text,
    checks        jsonb       NOT NULL DEFAULT '[]'::jsonb,
    detail        text,
    CONSTRAINT t0_cert_run_history_pkey PRIMARY KEY (run_id),
    CONSTRAINT ck_t0_cert_run_history_status CHECK (status IN ('CERTIFIED', 'FAILED'))
);
CREATE INDEX t0_cert_run_history_entrypoint_idx
    ON audit.t0_cert_run_history (entrypoint, started_at);
COMMENT ON TABLE audit.t0_cert_run_history IS 'Append-only log of every certification run.';

CREATE FUNCTION audit.reject_modification() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $function$
BEGIN
    RAISE EXCEPTION '% on %.% is not allowed: rows are append-only',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$function$;

CREATE TRIGGER t0_cert_run_history_append_only
    BEFORE UPDATE OR DELETE ON audit.t0_cert_run_history
    FOR EACH ROW EXECUTE FUNCTION audit.reject_modification();
CREATE TRIGGER t0_cert_run_history_no_truncate
    BEFORE TRUNCATE ON audit.t0_cert_run_history
    FOR EACH STATEMENT EXECUTE FUNCTION audit.reject_modification();
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TABLE audit.t0_cert_run_history;
DROP FUNCTION audit.reject_modification();
DROP TABLE audit.t0_cert_registry;
DROP TABLE audit.t0_dataset_hash_baseline;
DROP TABLE audit.t0_viewdef_baseline;
DROP SCHEMA audit;
"""
    )
