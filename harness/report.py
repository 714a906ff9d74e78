"""One self-contained HTML report for a package: WOE per band, OOF calibration, certification.

`python -m harness.report` reads aggregates only (the final map, ten calibration bins, the
audit tables), draws PNG charts with matplotlib (the optional `report` extra) and writes a
single HTML file with the images inlined, so it can be mailed or attached to a review.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg.rows import dict_row

from harness import cli, db
from harness.cli import BadInput
from harness.embedded import PROJECT_ROOT

DEFAULT_OUT = PROJECT_ROOT / "reports" / "woe_anchor_report.html"
BAND_ORDER = ("dsold", "trust", "ship", "sale", "cond", "dmg", "bat", "present", "vdmg", "acc")

PACKAGE_SQL = """
SELECT model_key, train_cutoff_ts, half_life_days, eps, n_folds, band_schema_version,
       code_sha256, created_at, is_active, base_rate, base_logit,
       dsold_t1, dsold_t2, dsold_t3, dsold_t4
FROM ml.woe_anchor_model_registry_v1
WHERE model_key = coalesce(%(model_key)s,
      (SELECT model_key FROM ml.woe_anchor_model_registry_v1 WHERE is_active))
"""

BANDS_SQL = """
SELECT band_name, band_value, woe, n_rows, sum_w_pos, sum_w_neg
FROM ml.woe_anchor_map_v1
WHERE model_key = %(model_key)s AND fold_id IS NULL
ORDER BY band_name, woe
"""

# Ten equal-count bins of OOF probability against the observed slow21 rate of train_sold.
CALIBRATION_SQL = """
WITH scored AS (
    SELECT s.woe_p, l.y_slow21,
           ntile(10) OVER (ORDER BY s.woe_p) AS bin
    FROM ml.woe_anchor_scores_v1 AS s
    JOIN ml.woe_anchor_model_registry_v1 AS r ON r.model_key = s.model_key
    JOIN ml.woe_anchor_slices_v1(r.train_cutoff_ts) AS l
      ON l.generation = s.generation AND l.listing_id = s.listing_id AND l.t0 = s.t0
    WHERE s.model_key = %(model_key)s AND s.is_oof AND l.slice = 'train_sold'
)
SELECT bin, count(*) AS n, avg(woe_p) AS mean_p, avg(y_slow21) AS observed
FROM scored GROUP BY bin ORDER BY bin
"""

REGISTRY_SQL = """
SELECT entrypoint, status, certified_at, certified_model_key, inherited_from, detail
FROM audit.t0_cert_registry ORDER BY entrypoint
"""

VIEWDEF_SQL = """
SELECT entrypoint, object_name, object_kind, left(raw_sha256, 12) AS raw_sha256,
       left(normalized_sha256, 12) AS normalized_sha256, server_version_num, baselined_at
FROM audit.t0_viewdef_baseline ORDER BY entrypoint, object_kind, object_name
"""

DATASET_SQL = """
SELECT entrypoint, count(*) AS days, min(t0_day) AS first_day, max(t0_day) AS last_day,
       sum(row_count) AS rows, max(baselined_at) AS baselined_at
FROM audit.t0_dataset_hash_baseline GROUP BY entrypoint ORDER BY entrypoint
"""

RUNS_SQL = """
SELECT run_id, entrypoint, status, started_at, finished_at, model_key, detail
FROM audit.t0_cert_run_history ORDER BY run_id DESC LIMIT 20
"""


class ReportError(RuntimeError):
    """The report cannot be made (no such package, plotting extra missing, ...)."""


@dataclass
class ReportData:
    package: dict
    bands: dict[str, list[dict]] = field(default_factory=dict)
    calibration: list[dict] = field(default_factory=list)
    registry: list[dict] = field(default_factory=list)
    viewdefs: list[dict] = field(default_factory=list)
    datasets: list[dict] = field(default_factory=list)
    runs: list[dict] = field(default_factory=list)


def gather(conn: psycopg.Connection, model_key: str | None = None) -> ReportData:
    cur = conn.cursor(row_factory=dict_row)
    package = cur.execute(PACKAGE_SQL, {"model_key": model_key}).fetchone()
    if package is None:
        if model_key:
            raise BadInput(f"no package {model_key!r} in ml.woe_anchor_model_registry_v1")
        raise ReportError("no active package: train one first (python -m harness.train)")
    key = {"model_key": package["model_key"]}
    data = ReportData(package)
    for row in cur.execute(BANDS_SQL, key):
        data.bands.setdefault(row["band_name"], []).append(row)
    data.calibration = cur.execute(CALIBRATION_SQL, key).fetchall()
    data.registry = cur.execute(REGISTRY_SQL).fetchall()
    data.viewdefs = cur.execute(VIEWDEF_SQL).fetchall()
    data.datasets = cur.execute(DATASET_SQL).fetchall()
    data.runs = cur.execute(RUNS_SQL).fetchall()
    conn.rollback()
    return data


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ReportError("charts need matplotlib: pip install -e '.[report]'") from exc
    return plt


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    _pyplot().close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def band_chart(name: str, rows: list[dict]) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 2.8))
    labels = [r["band_value"] for r in rows]
    woes = [r["woe"] for r in rows]
    bars = ax.barh(labels, woes, color=["#b2182b" if w > 0 else "#2166ac" for w in woes])
    for bar, row in zip(bars, rows, strict=True):
        n = row["n_rows"]
        ax.annotate(f" n={n:,}" if n is not None else " n=?", (bar.get_width(), bar.get_y()),
                    fontsize=7, va="bottom")
    ax.axvline(0, color="black", linewidth=0.6)
    ax.set_title(f"{name}: WOE per value (positive = slower to sell)", fontsize=9)
    ax.set_xlabel("WOE (log-odds of slow21 vs. base)", fontsize=8)
    ax.tick_params(labelsize=7)
    return _png(fig)


def calibration_chart(bins: list[dict]) -> str:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=0.8, label="perfect")
    ax.plot([float(b["mean_p"]) for b in bins], [float(b["observed"]) for b in bins],
            marker="o", label="OOF deciles")
    ax.set_xlabel("mean OOF P(slow21)")
    ax.set_ylabel("observed slow21 rate (train_sold)")
    ax.set_title("Calibration of out-of-fold scores", fontsize=10)
    ax.legend(fontsize=8)
    return _png(fig)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return html.escape(str(value))


def _table(rows: list[dict], empty: str) -> str:
    if not rows:
        return f"<p class=empty>{html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in r.values()) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(png: str, alt: str) -> str:
    return f'<img class=chart alt="{html.escape(alt)}" src="data:image/png;base64,{png}">'


def render(data: ReportData) -> str:
    pkg = data.package
    charts = [
        _img(band_chart(name, data.bands[name]), f"WOE chart for band {name}")
        for name in BAND_ORDER
        if name in data.bands
    ]
    calibration = (
        _img(calibration_chart(data.calibration), "calibration of OOF scores")
        if data.calibration
        else "<p class=empty>No OOF scores for this package (trained with --disable-woe-oof?).</p>"
    )
    drift = [r for r in data.runs if r["status"] == "FAILED" and r["detail"]]
    drift_html = "".join(
        f"<h3>run {r['run_id']} ({html.escape(r['entrypoint'])}, {r['started_at']:%Y-%m-%d %H:%M})</h3>"
        f"<pre>{html.escape(r['detail'])}</pre>"
        for r in drift
    ) or "<p class=empty>No failed runs recorded.</p>"
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""<!DOCTYPE html>
<html lang=en><head><meta charset=utf-8>
<title>WOE anchor report: {html.escape(pkg['model_key'])}</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}}
table{{border-collapse:collapse;font-size:12px;margin:.5em 0}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:left}} th{{background:#f3f3f3}}
.charts{{display:flex;flex-wrap:wrap;gap:12px}} pre{{background:#f7f7f7;padding:8px;overflow:auto}}
.empty{{color:#777;font-style:italic}}
</style></head>
<body data-charts-expected="{len(charts) + (1 if data.calibration else 0)}">
<h1>WOE anchor store report</h1>
<p>Package <code id=model-key>{html.escape(pkg['model_key'])}</code>
({'active' if pkg['is_active'] else 'not active'}), generated {generated}.</p>
<h2>Package</h2>{_table([pkg], "")}
<h2>WOE per band (final mapping)</h2><div class=charts>{''.join(charts)}</div>
<h2>Calibration (out-of-fold, train_sold)</h2>{calibration}
{_table(data.calibration, "")}
<h2>Certification</h2>
<h3>Entrypoints</h3>{_table(data.registry, "Nothing certified yet (python -m harness.certify run).")}
<h3>Closure objects and view-definition baselines</h3>{_table(data.viewdefs, "No baselines recorded.")}
<h3>Dataset-hash baselines</h3>{_table(data.datasets, "No dataset baselines recorded.")}
<h3>Last runs</h3>{_table(data.runs, "No certification runs yet.")}
<h3>Drift and failures</h3>{drift_html}
<script>
// Lets a headless browser check that every chart decoded (data-charts-loaded).
window.addEventListener('load', function () {{
  var ok = Array.from(document.images).filter(function (i) {{ return i.complete && i.naturalWidth > 0; }});
  document.body.setAttribute('data-charts-loaded', String(ok.length));
}});
</script>
</body></html>
"""


def write(url: str, model_key: str | None = None, out: Path = DEFAULT_OUT) -> str:
    """Render the report of a package (default: the active one) to `out`; returns its model_key.

    Nothing is written when the report cannot be made (:class:`ReportError`).
    """
    with db.connect(url) as conn:
        data = gather(conn, model_key)
    page = render(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page)
    return data.package["model_key"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.report",
        description="Write one self-contained HTML report (WOE per band, OOF calibration, "
        "certification) for a package. Needs the optional `report` extra (matplotlib).",
    )
    db.add_database_url_argument(parser)
    parser.add_argument("--model-key", help="package to report (default: the active one)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output file (default {DEFAULT_OUT.relative_to(PROJECT_ROOT)})")
    args = parser.parse_args(argv)
    return cli.finish("report", lambda: _main(args))


def _main(args: argparse.Namespace) -> int:
    try:
        model_key = write(db.resolve(args.database_url).url, args.model_key, args.out)
    except ReportError as exc:
        print(f"[report] error: {exc}", file=sys.stderr)
        return cli.FAILED
    print(args.out)
    print(f"[report] wrote {args.out} for package {model_key}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
