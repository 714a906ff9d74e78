"""The checks of a certification run, in the order a run performs them.

Each check reads only and returns a Check; what a passing run must then record (re-recorded raw
hashes after cosmetic drift, new or re-baselined days) travels in Check.record so that the
caller writes it in the same transaction as the registry row, and only when the run passes.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
from psycopg import sql

from harness import closure, dataset_hash, normalize, normalize_proof, t0_lint
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


def lint(conn: psycopg.Connection, policy: Policy,
         objects: list[closure.ClosureObject]) -> Check:
    problems = t0_lint.lint(conn, policy.entrypoint, objects)
    if problems:
        return Check("t0_lint", False, "; ".join(problems), {"problems": problems})
    read = sum(o.reads for o in objects)
    return Check("t0_lint", True, f"{read} objects read: IMMUTABLE only, no clock, session, "
                 "catalog or label read, every body tracked")


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
    drift = compare(conn, current, norm, baseline)
    data = {"added": added, "removed": removed, "semantic": drift.semantic,
            "cosmetic": drift.cosmetic, "unproven": drift.unproven,
            "unreadable": drift.unreadable, "diff": "\n".join(drift.diffs)}
    if added or removed or drift.semantic or drift.unreadable:
        parts = [f"{k} {', '.join(v)}" for k, v in
                 (("semantic change in", drift.semantic), ("added", added),
                  ("removed", removed)) if v]
        parts += [f"cannot normalize {n}: {e}" for n, e in drift.unreadable.items()]
        return Check("viewdef_drift", False, "; ".join(parts + drift.notes()), data)
    record = {"raw_sha256": {n: current[n].raw_sha256 for n in drift.cosmetic},
              "normalized": drift.renormalized,
              "catalog_version": {n: o.catalog_version for n, o in current.items()}}
    detail = f"{len(current)} definitions match their baseline"
    if drift.cosmetic:
        detail = (f"cosmetic only: raw text changed, normalized SQL equal for "
                  f"{', '.join(drift.cosmetic)}; raw hashes re-recorded")
    return Check("viewdef_drift", True, "; ".join([detail, *drift.notes()]), data, record)


@dataclass
class Drift:
    """What changed in definitions since their baseline, object by object."""

    semantic: list[str] = field(default_factory=list)
    cosmetic: list[str] = field(default_factory=list)  # raw changed, proven normalized equal
    diffs: list[str] = field(default_factory=list)
    unproven: dict[str, str] = field(default_factory=dict)  # view -> why its raw hash decides
    unreadable: dict[str, str] = field(default_factory=dict)  # view -> sqlglot's error
    # raw unchanged, normalized form changed (a new normalizer): re-recorded when the run passes
    renormalized: dict[str, list[str]] = field(default_factory=dict)

    def notes(self) -> list[str]:
        return [f"normalization unproven for {n} ({why}): raw hash used"
                for n, why in self.unproven.items()]


def compare(conn: psycopg.Connection, current: dict[str, closure.ClosureObject],
            norm: dict[str, normalize.Normalized],
            baseline: dict[str, tuple[str, str, str]]) -> Drift:
    """Each definition against its baseline row (raw, normalized sha256, normalized SQL).

    An unchanged raw hash is no change. Otherwise a view's normalized hash decides only when
    the server proves the normalization (harness/normalize_proof.py), else its raw hash does
    (a changed raw hash is then a semantic change); other objects keep their normalized hash.
    A view sqlglot cannot read is reported, whatever its hashes.
    """
    drift = Drift()
    for name, n in norm.items():
        if name in current and n.error:
            drift.unreadable[name] = n.error
    for name in sorted(set(current) & set(baseline)):
        raw, nsha, nsql = baseline[name]
        o, n = current[name], norm[name]
        if n.error or (o.raw_sha256 == raw and n.sha256 == nsha):
            continue
        # only a changed text needs the server's proof (it is a scratch view per object)
        proof = normalize_proof.prove(conn, o, n) if o.kind in normalize_proof.PROVABLE_KINDS \
            else None
        trusted = proof is None or proof.proven
        if o.raw_sha256 == raw:
            if trusted:
                drift.renormalized[name] = [n.sha256, n.sql]
            continue
        if not trusted:
            drift.unproven[name] = proof.reason
        if trusted and n.sha256 == nsha:
            drift.cosmetic.append(name)
        else:
            drift.semantic.append(name)
            drift.diffs.append(_diff(name, nsql, n.sql))
    return drift


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
    problems = [f"alias {name} is not a view" for name, o in own.items() if o is None]
    problems += [f"alias {name} has no baseline: run `baseline` first"
                 for name, o in own.items() if o is not None and name not in baseline]
    drift = compare(conn, {n: o for n, o in own.items() if o is not None}, norm, baseline)
    problems += [f"semantic change in alias {name}" for name in drift.semantic]
    problems += [f"cannot normalize alias {n}: {e}" for n, e in drift.unreadable.items()]
    data = {"aliases": list(own), "semantic": drift.semantic, "cosmetic": drift.cosmetic,
            "unproven": drift.unproven, "unreadable": drift.unreadable,
            "diff": "\n".join(drift.diffs)}
    if problems:
        return Check("alias_drift", False, "; ".join(problems + drift.notes()), data)
    detail = f"{len(own)} alias definitions match their baseline"
    if drift.cosmetic:
        detail += f"; cosmetic only for {', '.join(drift.cosmetic)}: raw hashes re-recorded"
    record = {"alias_raw_sha256": {n: own[n].raw_sha256 for n in drift.cosmetic},
              "alias_normalized": drift.renormalized}
    return Check("alias_drift", True, "; ".join([detail, *drift.notes()]), data, record)


def _diff(name: str, baseline_sql: str, current_sql: str) -> str:
    return "".join(difflib.unified_diff(baseline_sql.splitlines(True),
                                        current_sql.splitlines(True),
                                        f"baseline/{name}", f"current/{name}"))


def dataset_drift(conn: psycopg.Connection, policy: Policy) -> Check:
    """Every baselined day is re-checked, whatever new rows exist: strict, a changed or
    vanished one fails; tolerant, changed days are re-baselined (the run passes and names them).

    The days after the newest baselined day, up to the policy's max_new_days after it, are new
    data: hashed, and baselined when the run passes (empty days in between too, so every day up
    to the newest baselined one has a hash that a later insert would break). A row dated later
    fails the check in either mode, naming its days: it cannot slide what is checked, and a run
    never baselines it. Without a baseline, strict fails; tolerant hashes the policy's window
    (the last check_days days) and baselines it. Between runs the source tables' triggers
    (revision 0056) fail the certification at once when a day up to the newest baselined day
    changes.
    """
    baseline = {
        d: (n, h)
        for d, n, h in conn.execute(
            "SELECT t0_day, row_count, dataset_sha256 FROM audit.t0_dataset_hash_baseline "
            "WHERE entrypoint = %s", (policy.entrypoint,))
    }
    strict = policy.drift_mode == "strict"
    newest = max(baseline, default=None)
    beyond: list[tuple[str, int]] = []
    with conn.transaction():
        latest = dataset_hash.latest_day(conn, policy)  # None: no rows
        if newest is None:
            new_days = dataset_hash.window(conn, policy)
        else:
            found, beyond = dataset_hash.days_after(conn, policy, newest, policy.max_new_days)
            last = max(found, default=newest)
            new_days = [newest + timedelta(days=i) for i in range(1, (last - newest).days + 1)]
        checked = sorted(baseline) + new_days
        hashes = dataset_hash.day_hashes(conn, policy, checked)
    if not hashes:
        return Check("dataset_drift", False, f"0 days checked: {policy.entrypoint} has no rows")
    if newest is None and strict:
        return Check("dataset_drift", False, "no dataset baseline: run `baseline` first")
    changed_days = [d for d, h in hashes.items()
                    if d in baseline and baseline[d] != (h.row_count, h.sha256)]
    changed = [{"t0_day": d.isoformat(), "baseline_rows": baseline[d][0],
                "rows": hashes[d].row_count} for d in changed_days]
    data = {"days": [d.isoformat() for d in checked], "changed": changed,
            "new_days": [d.isoformat() for d in new_days],
            "newest_baselined_day": newest.isoformat() if newest else None,
            "max_new_days": policy.max_new_days,
            "beyond_max_new_days": [{"t0_day": d, "rows": n} for d, n in beyond],
            "mode": policy.drift_mode}
    problems = []
    if latest is None:
        problems.append(f"{policy.entrypoint} has no rows")
    if changed and strict:
        problems.append("changed days: " + _days_text(changed))
    if beyond:
        shown = ", ".join(f"{d} ({n} rows)" for d, n in beyond[:10])
        more = f" and {len(beyond) - 10} more days" if len(beyond) > 10 else ""
        problems.append(
            f"rows dated more than max_new_days ({policy.max_new_days}) after the newest "
            f"baselined day {newest.isoformat()}: {shown}{more}; not baselined (if genuine: "
            "raise the policy's max_new_days, or certify baseline, then run)")
    if problems:
        return Check("dataset_drift", False, "; ".join(problems), data)
    record = {"days": [hashes[d] for d in checked if d in changed_days or d not in baseline]}
    detail = f"{len(baseline)} baselined days re-checked ({policy.drift_mode})"
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
