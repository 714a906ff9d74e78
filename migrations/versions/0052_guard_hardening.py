"""guard hardening: policy max_age, statement time, future certified_at, alias parents, renames

Revision ID: 0052
Revises: 0051

A review reproduced five ways audit.require_certified_strict served what it should refuse:
- The policy's max_age (audit.t0_entrypoint_policy) was never read: the guarded views pass a
  fixed 24 hours, so a policy of one minute still served a two-hour-old certification. The
  limit is now the smaller of the argument and the policy's max_age (for an alias, its parent
  entrypoint's policy).
- Age was measured with now(), the start of the reader's transaction: a transaction kept open
  went on reading long after the certification went stale. It is now measured with
  statement_timestamp() (parallel workers get the leader's, so every process of one query
  agrees).
- A certified_at in the future never went stale, and woe_certifier may UPDATE the registry. It
  is refused, with no clock tolerance: certify writes certified_at with the server's own now()
  (its transaction's start, before its commit) and the guard compares with the same server's
  clock, so a genuine row is never later than the start of a statement that can see it. The
  only exceptions (a statement that received its query before a whole certify transaction
  started and committed, i.e. one blocked for seconds before taking its snapshot; the server
  clock stepped back) fail closed until a retry starts after certified_at.
- An alias row (inherited_from set) kept serving after its parent's row went FAILED or stale,
  and after the parent's policy stopped listing it (a run then no longer rewrites the alias
  row). An alias now needs its parent's row to be CERTIFIED and fresh by the same rules, to be
  listed in the parent policy's aliases, and (package-bound) the active package to be the one
  both rows name.
- The fast path compared each closure definition's catalog row (pg_rewrite / pg_proc oid:xmin)
  with the baseline. ALTER VIEW/TABLE/TYPE ... RENAME COLUMN rewrites only pg_attribute rows:
  swapping two columns by renames changed what the views print and serve while every
  pg_rewrite row stayed the same, so the guard never compared the raw hashes. Each catalog
  version (audit.t0_closure_objects_v1) now also carries the distinct xmins of the
  pg_attribute rows of every relation in the closure (its views, the tables and composite
  types they read). An update of such a row gives it a transaction id the recorded set cannot
  contain (ids are handed out in order; a row becomes visible only once its transaction is
  done), so a rename anywhere in the closure misses the fast path and the raw hashes decide.
  One set for the whole closure costs about 0.05 ms a query on PostgreSQL 18 (per-object sets
  of the columns each rule reads cost 0.14 ms). The price: a harmless column change in the
  closure (SET STATISTICS, a column GRANT, ADD COLUMN to a source table) also misses it, and
  the guard compares raw hashes (about 1 ms a query, no refusal) until the next certify run
  re-records the versions.

audit.t0_closure_objects_v1 also becomes PL/pgSQL (the same query, RETURN QUERY), so its plan
is kept for the session: before PostgreSQL 18 a SQL function is planned on every call, most of
the guard's cost there (PostgreSQL 15: 0.65 ms a call before this revision, 0.3 ms after). 18
caches SQL functions' plans too; there the guard goes from about 0.14 to 0.19 ms a call (a
server-side loop of 2,000 calls; per client round trip, less an empty query's, 0.22-0.27 ms
before and 0.28-0.36 ms after).

certify baseline and run record catalog_version through the same function, so they keep
agreeing with the guard. Baselines recorded before this revision (and, on downgrade, after it)
are re-recorded here for every object whose raw hash still matches (as a passing run does), so
an upgrade does not send every query through the slow path until the next run.
"""

from alembic import op

revision = "0052"
down_revision = "0051"
branch_labels = None
depends_on = None

# The catalog versions of objects whose raw hash is verified now, as a passing run records them.
RERECORD_CATALOG_VERSIONS = r"""
UPDATE audit.t0_viewdef_baseline AS b
   SET catalog_version = c.catalog_version
  FROM audit.t0_entrypoint_policy AS p
 CROSS JOIN LATERAL audit.t0_closure_v1(pg_catalog.to_regclass(p.entrypoint)) AS c
 WHERE b.entrypoint = p.entrypoint
   AND b.object_name = c.object_name
   AND b.raw_sha256 = c.raw_sha256
   AND b.catalog_version IS DISTINCT FROM c.catalog_version;
"""

PREVIOUS_DEFINITIONS = r"""
COMMENT ON COLUMN audit.t0_viewdef_baseline.catalog_version IS
    'oid:xmin of the catalog row holding the definition (pg_rewrite or pg_proc) when the raw '
    'hash was last verified; lets the guard skip re-printing definitions that cannot have changed.';

CREATE OR REPLACE FUNCTION audit.t0_closure_objects_v1(p_entrypoint regclass)
RETURNS TABLE (object_name text, object_kind text, object_oid oid, catalog_version text)
LANGUAGE sql
STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $function$
WITH RECURSIVE closure (classid, objid) AS (
    SELECT 'pg_catalog.pg_class'::regclass::oid, p_entrypoint::oid
    UNION
    SELECT x.refclassid, x.refobjid
    FROM closure AS c
    CROSS JOIN LATERAL (
        SELECT d.refclassid, d.refobjid, d.deptype
        FROM pg_catalog.pg_rewrite AS rw
        JOIN pg_catalog.pg_depend AS d
          ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = rw.oid
        WHERE c.classid = 'pg_catalog.pg_class'::regclass AND rw.ev_class = c.objid
        UNION ALL
        SELECT d.refclassid, d.refobjid, d.deptype
        FROM pg_catalog.pg_depend AS d
        WHERE c.classid = 'pg_catalog.pg_proc'::regclass
          AND d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = c.objid
    ) AS x
    WHERE x.refclassid IN ('pg_catalog.pg_class'::regclass, 'pg_catalog.pg_proc'::regclass)
      AND x.refobjid >= 16384  -- FirstNormalObjectId: user objects only
      AND x.deptype = 'n'
)
SELECT cl.oid::regclass::text,
       CASE cl.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized_view'
            WHEN 'c' THEN 'composite_type' ELSE 'table' END,
       cl.oid,
       (SELECT rw.oid::text || ':' || rw.xmin::text FROM pg_catalog.pg_rewrite AS rw
        WHERE rw.ev_class = cl.oid AND rw.rulename = '_RETURN')
FROM closure AS c
JOIN pg_catalog.pg_class AS cl
  ON c.classid = 'pg_catalog.pg_class'::regclass AND cl.oid = c.objid
UNION ALL
SELECT p.oid::regprocedure::text, 'function', p.oid, p.oid::text || ':' || p.xmin::text
FROM closure AS c
JOIN pg_catalog.pg_proc AS p
  ON c.classid = 'pg_catalog.pg_proc'::regclass AND p.oid = c.objid
$function$;
COMMENT ON FUNCTION audit.t0_closure_objects_v1(regclass) IS
    'The objects an entrypoint depends on, transitively, with the catalog row version (oid:xmin) '
    'of each definition; no definitions are printed, so this is cheap enough for every query.';

CREATE OR REPLACE FUNCTION audit.require_certified_strict(p_entrypoint text, p_max_age interval)
RETURNS boolean
LANGUAGE plpgsql
STABLE
PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    r        audit.t0_cert_registry%ROWTYPE;
    pol      audit.t0_entrypoint_policy%ROWTYPE;
    v_ep     regclass;
    v_drift  text;
    v_active text;
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
    SELECT * INTO pol FROM audit.t0_entrypoint_policy
    WHERE entrypoint = coalesce(r.inherited_from, p_entrypoint);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'NOT CERTIFIED: % has no row in audit.t0_entrypoint_policy',
            coalesce(r.inherited_from, p_entrypoint)
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    v_ep := to_regclass(pol.entrypoint);
    IF v_ep IS NULL THEN
        RAISE EXCEPTION 'DEFINITION DRIFT: entrypoint % no longer exists', pol.entrypoint
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- Fast path: if every closure object's catalog row is the one whose raw hash was verified
    -- (same oid:xmin, same set of objects), no definition can have changed. Otherwise compare
    -- the raw hashes of the definitions as printed now.
    IF EXISTS (
        SELECT 1
        FROM (SELECT t.object_name, t.catalog_version FROM audit.t0_closure_objects_v1(v_ep) AS t
              WHERE t.object_kind IN ('view', 'materialized_view', 'function')) AS c
        FULL JOIN (SELECT vb.object_name, vb.catalog_version FROM audit.t0_viewdef_baseline AS vb
                   WHERE vb.entrypoint = pol.entrypoint) AS b
          ON b.object_name = c.object_name
        WHERE c.catalog_version IS NULL OR b.catalog_version IS NULL
           OR c.catalog_version <> b.catalog_version
    ) THEN
    SELECT string_agg(format('%s %s', d.change, d.object_name), '; ' ORDER BY d.object_name)
    INTO v_drift
    FROM (
        SELECT coalesce(c.object_name, b.object_name) AS object_name,
               CASE WHEN b.object_name IS NULL THEN 'added'
                    WHEN c.object_name IS NULL THEN 'removed'
                    ELSE 'changed' END AS change
        FROM (SELECT t.object_name, t.raw_sha256 FROM audit.t0_closure_v1(v_ep) AS t
              WHERE t.object_kind IN ('view', 'materialized_view', 'function')) AS c
        FULL JOIN (SELECT vb.object_name, vb.raw_sha256 FROM audit.t0_viewdef_baseline AS vb
                   WHERE vb.entrypoint = pol.entrypoint) AS b
          ON b.object_name = c.object_name
        WHERE c.raw_sha256 IS DISTINCT FROM b.raw_sha256
    ) AS d;
    END IF;
    IF v_drift IS NOT NULL THEN
        RAISE EXCEPTION 'DEFINITION DRIFT: % differs from its certified baseline: %',
            pol.entrypoint, v_drift
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Run python -m harness.certify check to see the normalized diff.';
    END IF;
    IF pol.package_bound THEN
        SELECT m.model_key INTO v_active FROM ml.woe_anchor_model_registry_v1 AS m WHERE m.is_active;
        IF v_active IS DISTINCT FROM r.certified_model_key THEN
            RAISE EXCEPTION 'PACKAGE CHANGED: active WOE package % is not the certified package %',
                coalesce(v_active, '(none)'), coalesce(r.certified_model_key, '(none)')
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Certify the new package: python -m harness.certify run';
        END IF;
    END IF;
    RETURN true;
END
$function$;
COMMENT ON FUNCTION audit.require_certified_strict(text, interval) IS
    'Fail-closed guard: raises unless the entrypoint (or alias) is CERTIFIED, fresh, its closure '
    'matches the baseline raw hashes and, if package-bound, the active package is the certified one.';
"""


# The closure objects function and the guard as this revision writes them (revision 0057 loads
# them from here on downgrade).
GUARD_AND_CLOSURE_OBJECTS = r"""
COMMENT ON COLUMN audit.t0_viewdef_baseline.catalog_version IS
    'Catalog version of the definition when the raw hash was last verified '
    '(audit.t0_closure_objects_v1: oid:xmin of its pg_rewrite or pg_proc row, then the xmins of '
    'the closure''s column rows); lets the guard skip re-printing definitions that cannot have '
    'changed.';

CREATE OR REPLACE FUNCTION audit.t0_closure_objects_v1(p_entrypoint regclass)
RETURNS TABLE (object_name text, object_kind text, object_oid oid, catalog_version text)
LANGUAGE plpgsql
STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $function$
BEGIN
-- PL/pgSQL keeps this query's plan for the session; before PostgreSQL 18 a SQL function is
-- planned again on every call (most of the guard's cost there).
RETURN QUERY
WITH RECURSIVE closure (classid, objid) AS (
    SELECT 'pg_catalog.pg_class'::regclass::oid, p_entrypoint::oid
    UNION
    SELECT x.refclassid, x.refobjid
    FROM closure AS c
    CROSS JOIN LATERAL (
        SELECT d.refclassid, d.refobjid, d.deptype
        FROM pg_catalog.pg_rewrite AS rw
        JOIN pg_catalog.pg_depend AS d
          ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = rw.oid
        WHERE c.classid = 'pg_catalog.pg_class'::regclass AND rw.ev_class = c.objid
        UNION ALL
        SELECT d.refclassid, d.refobjid, d.deptype
        FROM pg_catalog.pg_depend AS d
        WHERE c.classid = 'pg_catalog.pg_proc'::regclass
          AND d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = c.objid
    ) AS x
    WHERE x.refclassid IN ('pg_catalog.pg_class'::regclass, 'pg_catalog.pg_proc'::regclass)
      AND x.refobjid >= 16384  -- FirstNormalObjectId: user objects only
      AND x.deptype = 'n'
),
-- A RENAME COLUMN (of a view, table or composite type) rewrites only pg_attribute rows: the
-- distinct xmins of the column rows of every relation in the closure go into each version.
closure_columns (xmins) AS (
    SELECT string_agg(DISTINCT at.xmin::text, ',' ORDER BY at.xmin::text)
    FROM closure AS c
    JOIN pg_catalog.pg_attribute AS at
      ON c.classid = 'pg_catalog.pg_class'::regclass AND at.attrelid = c.objid AND at.attnum > 0
)
SELECT cl.oid::regclass::text,
       CASE cl.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized_view'
            WHEN 'c' THEN 'composite_type' ELSE 'table' END,
       cl.oid,
       (SELECT rw.oid::text || ':' || rw.xmin::text || ':' || k.xmins
        FROM pg_catalog.pg_rewrite AS rw
        WHERE rw.ev_class = cl.oid AND rw.rulename = '_RETURN')
FROM closure AS c
JOIN pg_catalog.pg_class AS cl
  ON c.classid = 'pg_catalog.pg_class'::regclass AND cl.oid = c.objid
CROSS JOIN closure_columns AS k
UNION ALL
SELECT p.oid::regprocedure::text, 'function', p.oid,
       p.oid::text || ':' || p.xmin::text || ':' || k.xmins
FROM closure AS c
JOIN pg_catalog.pg_proc AS p
  ON c.classid = 'pg_catalog.pg_proc'::regclass AND p.oid = c.objid
CROSS JOIN closure_columns AS k;
END
$function$;
COMMENT ON FUNCTION audit.t0_closure_objects_v1(regclass) IS
    'The objects an entrypoint depends on, transitively, with the catalog version of each '
    'definition (oid:xmin of its pg_rewrite / pg_proc row, then the distinct xmins of the '
    'pg_attribute rows of the closure''s relations); no definitions are printed, so this is '
    'cheap enough for every query.';

CREATE OR REPLACE FUNCTION audit.require_certified_strict(p_entrypoint text, p_max_age interval)
RETURNS boolean
LANGUAGE plpgsql
STABLE
PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    r         audit.t0_cert_registry%ROWTYPE;
    parent    audit.t0_cert_registry%ROWTYPE;
    pol       audit.t0_entrypoint_policy%ROWTYPE;
    v_now     timestamptz := statement_timestamp();
    v_max_age interval;
    v_ep      regclass;
    v_drift   text;
    v_active  text;
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
    SELECT * INTO pol FROM audit.t0_entrypoint_policy
    WHERE entrypoint = coalesce(r.inherited_from, p_entrypoint);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'NOT CERTIFIED: % has no row in audit.t0_entrypoint_policy',
            coalesce(r.inherited_from, p_entrypoint)
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- Freshness, at this statement's start (not the transaction's): the smaller of the
    -- caller's limit and the policy's; a certification in the future has no age.
    v_max_age := least(p_max_age, pol.max_age);
    IF r.certified_at < v_now - v_max_age THEN
        RAISE EXCEPTION 'STALE CERTIFICATION: % was certified at %, older than %',
            p_entrypoint, r.certified_at, v_max_age
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF r.certified_at > v_now THEN
        RAISE EXCEPTION 'STALE CERTIFICATION: % was certified at %, in the future of this statement (%)',
            p_entrypoint, r.certified_at, v_now
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- An alias serves only while its parent entrypoint is certified and fresh by the same
    -- rules and its policy still lists the alias.
    IF r.inherited_from IS NOT NULL THEN
        SELECT * INTO parent FROM audit.t0_cert_registry WHERE entrypoint = pol.entrypoint;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'NOT CERTIFIED: % inherits from %, which has no row in audit.t0_cert_registry',
                p_entrypoint, pol.entrypoint
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF parent.status IS DISTINCT FROM 'CERTIFIED' THEN
            RAISE EXCEPTION 'NOT CERTIFIED: % inherits from %, which has status % (%)',
                p_entrypoint, pol.entrypoint, parent.status, coalesce(parent.detail, 'no detail')
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF parent.certified_at < v_now - v_max_age THEN
            RAISE EXCEPTION 'STALE CERTIFICATION: % inherits from %, which was certified at %, older than %',
                p_entrypoint, pol.entrypoint, parent.certified_at, v_max_age
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF parent.certified_at > v_now THEN
            RAISE EXCEPTION 'STALE CERTIFICATION: % inherits from %, which was certified at %, in the future of this statement (%)',
                p_entrypoint, pol.entrypoint, parent.certified_at, v_now
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NOT (p_entrypoint = ANY (pol.aliases)) THEN
            RAISE EXCEPTION 'NOT CERTIFIED: % is no longer an alias of % in audit.t0_entrypoint_policy',
                p_entrypoint, pol.entrypoint
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    v_ep := to_regclass(pol.entrypoint);
    IF v_ep IS NULL THEN
        RAISE EXCEPTION 'DEFINITION DRIFT: entrypoint % no longer exists', pol.entrypoint
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    -- Fast path: if every closure object's catalog version is the one whose raw hash was
    -- verified (same rule or function row, same column rows, same set of objects), no
    -- definition can have changed. Otherwise compare the raw hashes of the definitions as
    -- printed now.
    IF EXISTS (
        SELECT 1
        FROM (SELECT t.object_name, t.catalog_version FROM audit.t0_closure_objects_v1(v_ep) AS t
              WHERE t.object_kind IN ('view', 'materialized_view', 'function')) AS c
        FULL JOIN (SELECT vb.object_name, vb.catalog_version FROM audit.t0_viewdef_baseline AS vb
                   WHERE vb.entrypoint = pol.entrypoint) AS b
          ON b.object_name = c.object_name
        WHERE c.catalog_version IS NULL OR b.catalog_version IS NULL
           OR c.catalog_version <> b.catalog_version
    ) THEN
    SELECT string_agg(format('%s %s', d.change, d.object_name), '; ' ORDER BY d.object_name)
    INTO v_drift
    FROM (
        SELECT coalesce(c.object_name, b.object_name) AS object_name,
               CASE WHEN b.object_name IS NULL THEN 'added'
                    WHEN c.object_name IS NULL THEN 'removed'
                    ELSE 'changed' END AS change
        FROM (SELECT t.object_name, t.raw_sha256 FROM audit.t0_closure_v1(v_ep) AS t
              WHERE t.object_kind IN ('view', 'materialized_view', 'function')) AS c
        FULL JOIN (SELECT vb.object_name, vb.raw_sha256 FROM audit.t0_viewdef_baseline AS vb
                   WHERE vb.entrypoint = pol.entrypoint) AS b
          ON b.object_name = c.object_name
        WHERE c.raw_sha256 IS DISTINCT FROM b.raw_sha256
    ) AS d;
    END IF;
    IF v_drift IS NOT NULL THEN
        RAISE EXCEPTION 'DEFINITION DRIFT: % differs from its certified baseline: %',
            pol.entrypoint, v_drift
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Run python -m harness.certify check to see the normalized diff.';
    END IF;
    IF pol.package_bound THEN
        SELECT m.model_key INTO v_active FROM ml.woe_anchor_model_registry_v1 AS m WHERE m.is_active;
        -- an alias row and its parent's must both name the active package
        IF v_active IS DISTINCT FROM r.certified_model_key
           OR (r.inherited_from IS NOT NULL AND v_active IS DISTINCT FROM parent.certified_model_key) THEN
            RAISE EXCEPTION 'PACKAGE CHANGED: active WOE package % is not the certified package %',
                coalesce(v_active, '(none)'),
                coalesce(CASE WHEN v_active IS DISTINCT FROM r.certified_model_key
                              THEN r.certified_model_key ELSE parent.certified_model_key END,
                         '(none)')
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'Certify the new package: python -m harness.certify run';
        END IF;
    END IF;
    RETURN true;
END
$function$;
COMMENT ON FUNCTION audit.require_certified_strict(text, interval) IS
    'Fail-closed guard: raises unless the entrypoint (or alias, with its parent) is CERTIFIED, '
    'certified no longer ago than the smaller of max_age and the policy''s max_age and not in '
    'the future (at statement start), its closure matches the baseline raw hashes and, if '
    'package-bound, the active package is the certified one.';
"""


def upgrade() -> None:
    op.execute(GUARD_AND_CLOSURE_OBJECTS + RERECORD_CATALOG_VERSIONS)


def downgrade() -> None:
    op.execute(PREVIOUS_DEFINITIONS + RERECORD_CATALOG_VERSIONS)
