"""WOE artifact tables: registry, cuts, map, scores; one active package enforced by an index

Revision ID: 0005
Revises: 0004

fold_id IS NULL marks the final mapping (used for inference); fold rows carry their fold.
Partial unique indexes keep one final row per key and one row per (key, fold).
base_rate, base_logit, dsold_t1..t4 and code_sha256 are nullable only so that packages adopted
from pre-Alembic databases keep their history; a package missing them scores nothing
(SPEC section 4, edge rules). Packages written by harness.train always fill them.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
CREATE TABLE ml.woe_anchor_model_registry_v1 (
    model_key            text             NOT NULL,
    train_cutoff_ts      timestamptz      NOT NULL,
    half_life_days       double precision NOT NULL,
    eps                  double precision NOT NULL,
    n_folds              integer          NOT NULL,
    band_schema_version  integer          NOT NULL,
    code_sha256          text,
    created_at           timestamptz      NOT NULL DEFAULT now(),
    is_active            boolean          NOT NULL DEFAULT false,
    base_rate            double precision,
    base_logit           double precision,
    dsold_t1             double precision,
    dsold_t2             double precision,
    dsold_t3             double precision,
    dsold_t4             double precision,
    CONSTRAINT woe_anchor_model_registry_v1_pkey PRIMARY KEY (model_key),
    CONSTRAINT ck_woe_anchor_model_registry_v1_model_key
        CHECK (model_key ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$'),
    CONSTRAINT ck_woe_anchor_model_registry_v1_half_life_days
        CHECK (half_life_days > 0 AND half_life_days < 'Infinity'::float8),
    CONSTRAINT ck_woe_anchor_model_registry_v1_eps CHECK (eps > 0 AND eps < 'Infinity'::float8),
    CONSTRAINT ck_woe_anchor_model_registry_v1_n_folds CHECK (n_folds >= 1),
    CONSTRAINT ck_woe_anchor_model_registry_v1_band_schema_version CHECK (band_schema_version >= 1),
    CONSTRAINT ck_woe_anchor_model_registry_v1_code_sha256 CHECK (code_sha256 ~ '^[0-9a-f]{64}$'),
    CONSTRAINT ck_woe_anchor_model_registry_v1_base_rate CHECK (base_rate > 0 AND base_rate < 1),
    CONSTRAINT ck_woe_anchor_model_registry_v1_base_logit
        CHECK (base_logit > '-Infinity'::float8 AND base_logit < 'Infinity'::float8),
    CONSTRAINT ck_woe_anchor_model_registry_v1_dsold_t1
        CHECK (dsold_t1 > '-Infinity'::float8 AND dsold_t1 < dsold_t2),
    CONSTRAINT ck_woe_anchor_model_registry_v1_dsold_t2 CHECK (dsold_t2 < dsold_t3),
    CONSTRAINT ck_woe_anchor_model_registry_v1_dsold_t3 CHECK (dsold_t3 < dsold_t4),
    CONSTRAINT ck_woe_anchor_model_registry_v1_dsold_t4 CHECK (dsold_t4 < 'Infinity'::float8)
);
-- At most one active package, enforced by the database itself.
CREATE UNIQUE INDEX woe_anchor_model_registry_v1_one_active
    ON ml.woe_anchor_model_registry_v1 (is_active) WHERE is_active;
COMMENT ON TABLE ml.woe_anchor_model_registry_v1 IS
    'One row per immutable WOE package; is_active is the only column that ever changes.';

CREATE TABLE ml.woe_anchor_cuts_v1 (
    model_key  text             NOT NULL,
    fold_id    integer,
    c1         double precision NOT NULL,
    c2         double precision NOT NULL,
    CONSTRAINT woe_anchor_cuts_v1_model_key_fkey FOREIGN KEY (model_key)
        REFERENCES ml.woe_anchor_model_registry_v1 (model_key),
    CONSTRAINT ck_woe_anchor_cuts_v1_fold_id CHECK (fold_id >= 0),
    CONSTRAINT ck_woe_anchor_cuts_v1_c1 CHECK (c1 > '-Infinity'::float8 AND c1 <= c2),
    CONSTRAINT ck_woe_anchor_cuts_v1_c2 CHECK (c2 < 'Infinity'::float8)
);
CREATE UNIQUE INDEX woe_anchor_cuts_v1_final_key
    ON ml.woe_anchor_cuts_v1 (model_key) WHERE fold_id IS NULL;
CREATE UNIQUE INDEX woe_anchor_cuts_v1_fold_key
    ON ml.woe_anchor_cuts_v1 (model_key, fold_id) WHERE fold_id IS NOT NULL;
COMMENT ON TABLE ml.woe_anchor_cuts_v1 IS
    'Presentation-score cuts (1/3 and 2/3 quantiles); fold_id NULL is the final mapping.';

CREATE TABLE ml.woe_anchor_map_v1 (
    model_key   text             NOT NULL,
    fold_id     integer,
    band_name   text             NOT NULL,
    band_value  text             NOT NULL,
    woe         double precision NOT NULL,
    sum_w_pos   double precision,
    sum_w_neg   double precision,
    n_rows      bigint,
    CONSTRAINT woe_anchor_map_v1_model_key_fkey FOREIGN KEY (model_key)
        REFERENCES ml.woe_anchor_model_registry_v1 (model_key),
    CONSTRAINT ck_woe_anchor_map_v1_fold_id CHECK (fold_id >= 0),
    CONSTRAINT ck_woe_anchor_map_v1_band_name CHECK (band_name IN
        ('dsold', 'trust', 'ship', 'sale', 'cond', 'dmg', 'bat', 'present', 'vdmg', 'acc')),
    CONSTRAINT ck_woe_anchor_map_v1_woe CHECK (woe > '-Infinity'::float8 AND woe < 'Infinity'::float8),
    CONSTRAINT ck_woe_anchor_map_v1_sum_w_pos
        CHECK (sum_w_pos >= 0 AND sum_w_pos < 'Infinity'::float8),
    CONSTRAINT ck_woe_anchor_map_v1_sum_w_neg
        CHECK (sum_w_neg >= 0 AND sum_w_neg < 'Infinity'::float8),
    CONSTRAINT ck_woe_anchor_map_v1_n_rows CHECK (n_rows >= 0)
);
CREATE UNIQUE INDEX woe_anchor_map_v1_final_key
    ON ml.woe_anchor_map_v1 (model_key, band_name, band_value) WHERE fold_id IS NULL;
CREATE UNIQUE INDEX woe_anchor_map_v1_fold_key
    ON ml.woe_anchor_map_v1 (model_key, fold_id, band_name, band_value) WHERE fold_id IS NOT NULL;
COMMENT ON TABLE ml.woe_anchor_map_v1 IS
    'WOE per (band_name, band_value); sum_w_pos/sum_w_neg are the weighted class sums W+_b, W-_b.';

CREATE TABLE ml.woe_anchor_scores_v1 (
    model_key   text             NOT NULL,
    generation  integer          NOT NULL,
    listing_id  bigint           NOT NULL,
    t0          timestamptz      NOT NULL,
    fold_id     integer,
    is_oof      boolean          NOT NULL,
    woe_logit   double precision NOT NULL,
    woe_p       double precision NOT NULL,
    CONSTRAINT woe_anchor_scores_v1_pkey PRIMARY KEY (model_key, generation, listing_id, t0),
    CONSTRAINT woe_anchor_scores_v1_model_key_fkey FOREIGN KEY (model_key)
        REFERENCES ml.woe_anchor_model_registry_v1 (model_key),
    CONSTRAINT ck_woe_anchor_scores_v1_fold_id CHECK (fold_id >= 0),
    CONSTRAINT ck_woe_anchor_scores_v1_woe_logit
        CHECK (woe_logit > '-Infinity'::float8 AND woe_logit < 'Infinity'::float8),
    CONSTRAINT ck_woe_anchor_scores_v1_woe_p CHECK (woe_p BETWEEN 0 AND 1)
);
CREATE INDEX woe_anchor_scores_v1_listing_idx
    ON ml.woe_anchor_scores_v1 (generation, listing_id, t0);
COMMENT ON TABLE ml.woe_anchor_scores_v1 IS
    'Out-of-fold training scores: one row per training row, scored by the fold that excluded it.';
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP TABLE ml.woe_anchor_scores_v1;
DROP TABLE ml.woe_anchor_map_v1;
DROP TABLE ml.woe_anchor_cuts_v1;
DROP TABLE ml.woe_anchor_model_registry_v1;
"""
    )
