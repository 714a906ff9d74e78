"""training slices and the label y_slow21 (SPEC section 3), parameterised by eval_cutoff

Revision ID: 0010
Revises: 0009

ml.woe_anchor_slices_v1(eval_cutoff) is the one definition of train_sold, eval_sold_last_7d,
censored_ge_21d, y_slow21 and each row's label time (SPEC section 5) and UTC day. It is a
STABLE LANGUAGE sql table function with a single SELECT, so the planner inlines it into the
trainer's queries. Every duration is written in hours ('168 hours', '504 hours'): adding
'7 days' to a timestamptz follows the session TimeZone's daylight-saving rules, hours do not,
so the slices are the same whatever the session's TimeZone.
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
CREATE FUNCTION ml.woe_anchor_default_eval_cutoff_v1()
RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT max(o.sold_time) - interval '168 hours' FROM src.listing_outcomes AS o;
END;
COMMENT ON FUNCTION ml.woe_anchor_default_eval_cutoff_v1() IS
    'SPEC 3: the default eval_cutoff, the latest sold_time minus 7 days (NULL when nothing sold).';

CREATE FUNCTION ml.woe_anchor_slices_v1(eval_cutoff timestamptz)
RETURNS TABLE (
    generation  integer,
    listing_id  bigint,
    t0          timestamptz,
    slice       text,
    y_slow21    smallint,
    label_ts    timestamptz,
    t0_day      date)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT o.generation,
           o.listing_id,
           o.t0,
           CASE
               WHEN o.sold_time <= eval_cutoff THEN 'train_sold'
               WHEN o.sold_time <= eval_cutoff + interval '168 hours' THEN 'eval_sold_last_7d'
               ELSE 'censored_ge_21d'
           END,
           CASE WHEN o.sold_time IS NULL THEN NULL
                WHEN o.duration_hours >= 504 OR o.final_status = 'older21days' THEN 1
                ELSE 0
           END::smallint,
           CASE WHEN o.sold_time IS NULL THEN NULL
                WHEN o.duration_hours >= 504 OR o.final_status = 'older21days'
                    THEN o.t0 + interval '504 hours'
                ELSE o.sold_time
           END,
           (o.t0 AT TIME ZONE 'UTC')::date
    FROM src.listing_outcomes AS o
    WHERE o.sold_time <= eval_cutoff + interval '168 hours'
       OR (o.sold_time IS NULL
           AND o.final_status IN ('live', 'inactive')
           AND o.t0 <= eval_cutoff - interval '504 hours');
END;
COMMENT ON FUNCTION ml.woe_anchor_slices_v1(timestamptz) IS
    'SPEC 3: train_sold (sold_time <= cutoff), eval_sold_last_7d (cutoff, cutoff + 7 days], '
    'censored_ge_21d (unsold live/inactive, age at cutoff >= 21 days); y_slow21, label_ts and '
    'UTC t0_day for sold rows (NULL for censored rows).';
"""
    )


def downgrade() -> None:
    op.execute(
        """
DROP FUNCTION ml.woe_anchor_slices_v1(timestamptz);
DROP FUNCTION ml.woe_anchor_default_eval_cutoff_v1();
"""
    )
