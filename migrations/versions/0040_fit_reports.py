"""fit reports: each package keeps the report of the fit that produced it

Revision ID: 0040
Revises: 0030

Rows per slice, base rate, Information Value per band and the OOF / evaluation AUC and Brier
are measured once, at fit time, from the same transaction's data. Keeping them beside the
package lets the main job, the report and a reviewer see them later without recomputing
(and without a second definition of the metrics). Frozen like every other artifact.
"""

from alembic import op

from harness.roles import from_alembic as roles

revision = "0040"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
CREATE TABLE ml.woe_anchor_fit_report_v1 (
    model_key   text   NOT NULL,
    report      jsonb  NOT NULL,
    CONSTRAINT woe_anchor_fit_report_v1_pkey PRIMARY KEY (model_key),
    CONSTRAINT woe_anchor_fit_report_v1_model_key_fkey FOREIGN KEY (model_key)
        REFERENCES ml.woe_anchor_model_registry_v1 (model_key),
    CONSTRAINT ck_woe_anchor_fit_report_v1_report CHECK (jsonb_typeof(report) = 'object')
);
COMMENT ON TABLE ml.woe_anchor_fit_report_v1 IS
    'The fit-time report of each package: rows per slice, base rate, IV per band, OOF and eval '
    'AUC/Brier.';

CREATE TRIGGER woe_anchor_fit_report_v1_freeze
    BEFORE UPDATE OR DELETE ON ml.woe_anchor_fit_report_v1
    FOR EACH ROW EXECUTE FUNCTION ml.reject_package_change();
CREATE TRIGGER woe_anchor_fit_report_v1_no_truncate
    BEFORE TRUNCATE ON ml.woe_anchor_fit_report_v1
    FOR EACH STATEMENT EXECUTE FUNCTION ml.reject_package_change();
CREATE TRIGGER woe_anchor_fit_report_v1_same_transaction
    AFTER INSERT ON ml.woe_anchor_fit_report_v1 REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ml.reject_rows_for_committed_package();
"""
        # the trainer writes reports with its packages; nobody else needs them
        + f"GRANT SELECT, INSERT ON ml.woe_anchor_fit_report_v1 TO {roles().trainer};\n"
    )


def downgrade() -> None:
    op.execute("DROP TABLE ml.woe_anchor_fit_report_v1;")
