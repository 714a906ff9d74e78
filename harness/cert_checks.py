"""The checks of a certification run, in the order a run performs them.

Each check reads only and returns a Check; what a passing run must then record (re-recorded raw
hashes after cosmetic drift, new or re-baselined days) travels in Check.record so that the
caller writes it in the same transaction as the registry row, and only when the run passes.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from harness import closure, dataset_hash, normalize, t0_lint
from harness.policy import Policy


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    data: dict[str, Any] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)  # written only if the run passes

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, **self.data}


def assertion(conn: psycopg.Connection, policy: Policy) -> Check:
    """The entrypoint's own precondition function: it holds only when it returns true."""
    schema, _, name = policy.assertion_function.partition("(")[0].partition(".")
    try:
        with conn.transaction():
            [value] = conn.execute(
                sql.SQL("SELECT {}()").format(sql.Identifier(schema, name))).fetchone()
    except psycopg.Error as e:
        return Check("assertion", False, f"{policy.assertion_function}: {e.diag.message_primary}")
    if value is not True:  # false or NULL is not a pass, whatever the function meant
        shown = "null" if value is None else str(value).lower()
        return Check("assertion", False, f"{policy.assertion_function} returned {shown}")
    return Check("assertion", True, f"{policy.assertion_function} holds")


def normalized_closure(
    conn: psycopg.Connection, policy: Policy
) -> tuple[list[closure.ClosureObject], dict[str, normalize.Normalized]]:
    """The closure and the normalized form of every object that has a definition."""
    objects = closure.fetch(conn, policy.entrypoint)
    schema = closure.catalog_schema(conn)
    return objects, {
        o.name: normalize.normalize_object(o, schema) for o in objects if o.has_definition
    }


def lint(objects: list[closure.ClosureObject], norm: dict[str, normalize.Normalized]) -> Check:
    problems = t0_lint.lint(objects, norm)
    if problems:
        return Check("t0_lint", False, "; ".join(problems), {"problems": problems})
    return Check("t0_lint", True, f"{len(norm)} definitions free of clock calls and labels")


def key_uniqueness(conn: psycopg.Connection, policy: Policy) -> Check:
    keys = sql.SQL(", ").join(sql.Identifier(k) for k in policy.key_columns)
    query = sql.SQL(
        "SELECT count(*) FROM (SELECT 1 FROM {ep} GROUP BY {keys} HAVING count(*) > 1) AS d"
    ).format(ep=dataset_hash.relation(policy.entrypoint), keys=keys)
    with conn.transaction():
        duplicated = conn.execute(query).fetchone()[0]
    label = "(" + ", ".join(policy.key_columns) + ")"
    if duplicated:
        return Check("key_uniqueness", False, f"{duplicated} duplicated keys {label}")
    return Check("key_uniqueness", True, f"{label} is unique")


def viewdef_drift(
    conn: psycopg.Connection,
    policy: Policy,
    objects: list[closure.ClosureObject],
    norm: dict[str, normalize.Normalized],
) -> Check:
    """Cosmetic drift (raw changed, normalized equal) passes; anything else fails with a diff."""
    baseline = {
        name: (raw, nsha, nsql)
        for name, raw, nsha, nsql in conn.execute(
            "SELECT object_name, raw_sha256, normalized_sha256, normalized_sql "
            "FROM audit.t0_viewdef_baseline WHERE entrypoint = %s",
            (policy.entrypoint,),
        )
    }
    if not baseline:
        return Check("viewdef_drift", False, "no view-definition baseline: run `baseline` first")
    current = {o.name: o for o in objects if o.has_definition}
    added = sorted(set(current) - set(baseline))
    removed = sorted(set(baseline) - set(current))
    semantic, cosmetic, diffs = [], [], []
    for name in sorted(set(current) & set(baseline)):
        raw, nsha, nsql = baseline[name]
        if norm[name].sha256 != nsha:
            semantic.append(name)
            diffs.append(_diff(name, nsql, norm[name].sql))
        elif current[name].raw_sha256 != raw:
            cosmetic.append(name)
    data = {"added": added, "removed": removed, "semantic": semantic, "cosmetic": cosmetic,
            "diff": "\n".join(diffs)}
    if added or removed or semantic:
        parts = [f"{k} {', '.join(v)}" for k, v in
                 (("semantic change in", semantic), ("added", added), ("removed", removed)) if v]
        return Check("viewdef_drift", False, "; ".join(parts), data)
    record = {"raw_sha256": {n: current[n].raw_sha256 for n in cosmetic},
              "catalog_version": {n: o.catalog_version for n, o in current.items()}}
    if cosmetic:
        detail = (f"cosmetic only: raw text changed, normalized SQL equal for {', '.join(cosmetic)}; "
                  "raw hashes re-recorded")
        return Check("viewdef_drift", True, detail, data, record)
    return Check("viewdef_drift", True, f"{len(current)} definitions match their baseline", data,
                 record)


def alias_views(
    conn: psycopg.Connection, policy: Policy, objects: list[closure.ClosureObject]
) -> tuple[dict[str, closure.ClosureObject | None], dict[str, normalize.Normalized]]:
    """The aliases outside the entrypoint's closure (the guarded consumer views) with their own
    definitions (None: no such view). Nothing else watches them: the guard cannot check the
    view that is supposed to call it."""
    in_closure = {o.name for o in objects}
    own: dict[str, closure.ClosureObject | None] = {}
    for alias in policy.aliases:
        if alias not in in_closure:
            try:
                found = [o for o in closure.fetch(conn, alias) if o.name == alias]
            except LookupError:
                found = []
            own[alias] = found[0] if found and found[0].has_definition else None
    schema = closure.catalog_schema(conn) if own else {}
    return own, {n: normalize.normalize_object(o, schema) for n, o in own.items() if o}


def alias_drift(
    conn: psycopg.Connection, policy: Policy, objects: list[closure.ClosureObject]
) -> Check:
    """Each alias outside the closure against the baseline row keyed by its own name (the
    guard's fast path reads only the entrypoint's rows). Like viewdef_drift, cosmetic passes;
    not linted: a guarded view calls the guard, which reads the clock by design."""
    own, norm = alias_views(conn, policy, objects)
    baseline = {
        name: (raw, nsha, nsql)
        for name, raw, nsha, nsql in conn.execute(
            "SELECT object_name, raw_sha256, normalized_sha256, normalized_sql "
            "FROM audit.t0_viewdef_baseline WHERE entrypoint = object_name "
            "AND entrypoint = ANY(%s)", (list(own),))
    }
    problems, semantic, cosmetic, diffs = [], [], [], []
    for name, o in own.items():
        if o is None:
            problems.append(f"alias {name} is not a view")
        elif name not in baseline:
            problems.append(f"alias {name} has no baseline: run `baseline` first")
        elif norm[name].sha256 != baseline[name][1]:
            semantic.append(name)
            problems.append(f"semantic change in alias {name}")
            diffs.append(_diff(name, baseline[name][2], norm[name].sql))
        elif o.raw_sha256 != baseline[name][0]:
            cosmetic.append(name)
    data = {"aliases": list(own), "semantic": semantic, "cosmetic": cosmetic,
            "diff": "\n".join(diffs)}
    if problems:
        return Check("alias_drift", False, "; ".join(problems), data)
    detail = f"{len(own)} alias definitions match their baseline"
    if cosmetic:
        detail += f"; cosmetic only for {', '.join(cosmetic)}: raw hashes re-recorded"
    record = {"alias_raw_sha256": {n: own[n].raw_sha256 for n in cosmetic}}
    return Check("alias_drift", True, detail, data, record)


def _diff(name: str, baseline_sql: str, current_sql: str) -> str:
    return "".join(difflib.unified_diff(baseline_sql.splitlines(True),
                                        current_sql.splitlines(True),
                                        f"baseline/{name}", f"current/{name}"))


def dataset_drift(conn: psycopg.Connection, policy: Policy) -> Check:
    """strict: a changed or vanished baselined day fails; tolerant: changes are recorded and
    re-baselined.

    Days of the window without a baseline (new data) are baselined when the run passes.
    """
    baseline = {
        d: (n, h)
        for d, n, h in conn.execute(
            "SELECT t0_day, row_count, dataset_sha256 FROM audit.t0_dataset_hash_baseline "
            "WHERE entrypoint = %s", (policy.entrypoint,))
    }
    strict = policy.drift_mode == "strict"
    with conn.transaction():
        days = dataset_hash.window(conn, policy)
        # strict also compares the baselined days from the window's first day on: deleting
        # the newest days would otherwise slide the window back past them (older baselined
        # days are not re-hashed, so a run's cost does not grow with the history)
        recent = [d for d in baseline if not days or d >= min(days)]
        checked = sorted(set(days) | set(recent)) if strict else days
        hashes = dataset_hash.day_hashes(conn, policy, checked)
    if not hashes:
        return Check("dataset_drift", False, f"0 days checked: {policy.entrypoint} has no rows")
    if not baseline and strict:
        return Check("dataset_drift", False, "no dataset baseline: run `baseline` first")
    changed = [
        {"t0_day": d.isoformat(), "baseline_rows": baseline[d][0], "rows": h.row_count}
        for d, h in hashes.items() if d in baseline and baseline[d] != (h.row_count, h.sha256)
    ]
    new_days = [d for d in days if d not in baseline]
    to_record = list(hashes.values()) if not strict else [hashes[d] for d in new_days]
    data = {"days": [d.isoformat() for d in days], "changed": changed,
            "new_days": [d.isoformat() for d in new_days], "mode": policy.drift_mode}
    record = {"days": to_record}
    if changed and strict:
        return Check("dataset_drift", False, "changed days: " + _days_text(changed), data)
    detail = f"{len(hashes)} days checked ({policy.drift_mode})"
    if changed:
        detail += "; tolerated and re-baselined: " + _days_text(changed)
    if new_days:
        detail += f"; {len(new_days)} new days baselined"
    return Check("dataset_drift", True, detail, data, record)


def _days_text(changed: list[dict[str, Any]]) -> str:
    return ", ".join(f"{c['t0_day']} ({c['baseline_rows']} -> {c['rows']} rows)" for c in changed)


def window_hashes(conn: psycopg.Connection, policy: Policy) -> list[dataset_hash.DayHash]:
    """The current hashes of the policy's window (for `baseline`)."""
    with conn.transaction():
        days = dataset_hash.window(conn, policy)
        return list(dataset_hash.day_hashes(conn, policy, days).values())
