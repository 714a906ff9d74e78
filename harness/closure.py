"""An entrypoint's closure as the database sees it, with what normalization and the lint need.

The walk itself lives in SQL (audit.t0_closure_walk_v1, printed by audit.t0_closure_v1) so the
guard and the harness can never disagree about which objects are watched or how their raw hash
is computed.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from harness import pgsettings

QUERY_KINDS = ("view", "materialized_view", "function")  # definitions sqlglot parses

CLOSURE_SQL = """
SELECT t.object_name, t.object_kind, t.definition, t.raw_sha256, t.catalog_version,
       coalesce(l.lanname = 'sql' AND p.prosqlbody IS NOT NULL, false),
       CASE WHEN p.prosqlbody IS NOT NULL THEN pg_catalog.pg_get_function_sqlbody(p.oid)
            ELSE p.prosrc END,
       l.lanname, t.classid, t.object_oid, t.reads, t.reached_from
FROM audit.t0_closure_v1(pg_catalog.to_regclass(%s)) AS t
LEFT JOIN pg_catalog.pg_proc AS p ON t.object_kind = 'function' AND p.oid = t.object_oid
LEFT JOIN pg_catalog.pg_language AS l ON l.oid = p.prolang
"""


@dataclass(frozen=True)
class ClosureObject:
    """One object the entrypoint depends on; definition and raw hash are the server's."""

    name: str
    kind: str  # one of the kinds of audit.t0_closure_walk_v1 (view, function, table, policy, ...)
    definition: str | None
    raw_sha256: str | None
    catalog_version: str | None  # changes with any change to its catalog rows (see the guard)
    sql_standard_body: bool = False
    body: str | None = None  # functions: SQL-standard body as printed, or prosrc
    language: str | None = None
    classid: int = 0  # catalog and oid of the object
    objid: int = 0
    reads: bool = True  # False: hashed only (a trigger, a parent table, a trigger's function)
    reached_from: tuple[str, ...] = ()

    @property
    def has_definition(self) -> bool:
        return self.definition is not None

    @property
    def is_query(self) -> bool:
        """A view or function: its definition is SQL that normalization parses."""
        return self.kind in QUERY_KINDS


def fetch(conn: psycopg.Connection, entrypoint: str) -> list[ClosureObject]:
    """Every object reachable from the entrypoint; raises if the entrypoint does not exist."""
    # pg_get_viewdef and pg_get_function_sqlbody qualify names relative to search_path: the
    # raw text, hence the raw hash, is only comparable under the guard's fixed path.
    with pgsettings.pinned(conn):
        try:
            with conn.transaction():
                oid = conn.execute("SELECT pg_catalog.to_regclass(%s)", (entrypoint,)).fetchone()[0]
        except (psycopg.errors.InvalidName, psycopg.errors.SyntaxError,
                psycopg.errors.FeatureNotSupported) as e:
            # a text that cannot name a relation: "a.b.c.d" and "db.schema.view" on every
            # version, invalid syntax on PostgreSQL 15 too (18 returns NULL for that)
            raise LookupError(
                f"entrypoint {entrypoint} does not exist: {e.diag.message_primary}") from None
        if oid is None:
            raise LookupError(f"entrypoint {entrypoint} does not exist")
        rows = conn.execute(CLOSURE_SQL, (entrypoint,)).fetchall()
    return [
        ClosureObject(name, kind, definition, raw, version, bool(std), body, lang, classid, objid,
                      reads, tuple(via))
        for name, kind, definition, raw, version, std, body, lang, classid, objid, reads, via
        in rows
    ]


def path(objects: list[ClosureObject], name: str) -> list[str]:
    """The shortest chain of objects from the entrypoint to the named one (entrypoint first)."""
    by_name = {o.name: o for o in objects}
    routes = {name: [name]}
    queue = [name]
    while queue:
        current = queue.pop(0)
        obj = by_name.get(current)
        if obj is None or not obj.reached_from:
            return list(reversed(routes[current]))
        for parent in obj.reached_from:
            if parent not in routes:
                routes[parent] = routes[current] + [parent]
                queue.append(parent)
    return [name]


def catalog_schema(conn: psycopg.Connection) -> dict[str, dict[str, dict[str, str]]]:
    """{schema: {relation: {column: type}}} of every user relation, for sqlglot's qualify."""
    rows = conn.execute(
        """
        SELECT n.nspname, c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)
        FROM pg_catalog.pg_attribute AS a
        JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
        JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c') AND a.attnum > 0 AND NOT a.attisdropped
          AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
        ORDER BY n.nspname, c.relname, a.attnum
        """
    ).fetchall()
    schema: dict[str, dict[str, dict[str, str]]] = {}
    for nsp, rel, col, typ in rows:
        schema.setdefault(nsp, {}).setdefault(rel, {})[col] = typ
    return schema
