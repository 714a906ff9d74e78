"""audit.require_certified_strict(entrypoint, max_age): registry presence, status, freshness

Revision ID: 0002
Revises: 0001

The certification revisions replace this function with the full guard (closure drift, active
package); this first version already fails closed on the registry alone.
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        r"""
CREATE FUNCTION audit.require_certified_strict(p_entrypoint text, p_max_age interval)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    r audit.t0_cert_registry%ROWTYPE;
BEGIN
    IF p_entrypoint IS NULL OR p_max_age IS NULL THEN
        RAISE EXCEPTION 'require_certified_strict: entrypoint and max_age must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO r FROM audit.t0_cert_registry WHERE entrypoint = p_entrypoint;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'NOT CERTIFIED: % has no row in audit.t0_cert_registry', p_entrypoint
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF r.status IS DISTINCT FROM 'CERTIFIED' THEN
        RAISE EXCEPTION 'NOT CERTIFIED: % has status % (%)', p_entrypoint, r.status,
            coalesce(r.detail, 'no detail')
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF r.certified_at < now() - p_max_age THEN
        RAISE EXCEPTION 'STALE CERTIFICATION: % was certified at %, older than %',
            p_entrypoint, r.certified_at, p_max_age
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN true;
END
$function$;
COMMENT ON FUNCTION audit.require_certified_strict(text, interval) IS
    'Fail-closed guard: raises unless the entrypoint is CERTIFIED and fresh; returns true.';
"""
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION audit.require_certified_strict(text, interval);")
