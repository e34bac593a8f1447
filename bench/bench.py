"""Benchmark: csm's revenue metrics vs the same computation hand-written in DuckDB SQL.

    uv run python bench/bench.py                      # 50,000 accounts x 36 months
    uv run python bench/bench.py --accounts 5000 --months 24 --repeat 3

Data is made by `csm sample` (seeded) and cached under bench/.data/. Each engine is timed
end to end in-process (reading the CSVs, computing every month of the series, collecting),
best of --repeat runs, and the results are checked against the SQL's to 1e-6.
Not a test: timings depend on the machine; run it before and after performance work.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from common import best, sample_data

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
METRICS = [
    "mrr",
    "customers",
    "new_mrr",
    "expansion_mrr",
    "contraction_mrr",
    "churned_mrr",
    "reactivation_mrr",
    "churned_customers",
    "customer_churn_rate",
    "nrr",
]

SPEC = """\
version: 1
currency: USD
sources:
  subscriptions:
    path: subscriptions.csv
    columns: {account_id: customer, start_date: started_at, end_date: ended_at, amount: price,
              interval: billing_period, quantity: seats, discount: discount_amount, plan: plan_name}
metrics:
""" + "".join(f"  {m}: {{type: {m}}}\n" for m in METRICS)

SQL = """
WITH subs AS (
  SELECT customer AS account_id, started_at::DATE AS s, ended_at::DATE AS e,
         (price * coalesce(seats, 1) - coalesce(discount_amount, 0))
           / CASE billing_period WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 WHEN 'year' THEN 12 END AS m
  FROM read_csv('{csv}', header = true, all_varchar = false)
),
months AS (
  SELECT strftime(ms, '%Y-%m') AS period, ms::DATE AS p_start, (ms - INTERVAL 1 DAY)::DATE AS base,
         (ms + INTERVAL 1 MONTH - INTERVAL 1 DAY)::DATE AS p_end
  FROM generate_series(DATE '{first}', DATE '{last}', INTERVAL 1 MONTH) AS t(ms)
),
snap AS (
  SELECT account_id, period, p_start,
         round(greatest(sum(CASE WHEN s <= base AND (e IS NULL OR e > base) THEN m ELSE 0 END), 0), 6) AS before,
         round(greatest(sum(CASE WHEN s <= p_end AND (e IS NULL OR e > p_end) THEN m ELSE 0 END), 0), 6) AS after
  FROM subs JOIN months ON s <= p_end AND (e IS NULL OR e > base)
  GROUP BY ALL
),
deltas AS (
  SELECT account_id, d, sum(x) AS x FROM (
    SELECT account_id, s AS d, m AS x FROM subs
    UNION ALL SELECT account_id, e, -m FROM subs WHERE e IS NOT NULL) GROUP BY ALL
),
firsts AS (
  SELECT account_id, min(d) AS first_day FROM (
    SELECT account_id, d, round(sum(x) OVER (PARTITION BY account_id ORDER BY d), 6) AS level FROM deltas)
  WHERE level > 1e-9 GROUP BY ALL
),
rows AS (SELECT * FROM snap LEFT JOIN firsts USING (account_id))
SELECT period,
  sum(after) AS mrr,
  count(*) FILTER (WHERE after > 1e-9) AS customers,
  coalesce(sum(after) FILTER (WHERE before <= 1e-9 AND after > 1e-9 AND first_day >= p_start), 0) AS new_mrr,
  coalesce(sum(after - before) FILTER (WHERE before > 1e-9 AND after > before + 1e-9), 0) AS expansion_mrr,
  coalesce(sum(before - after) FILTER (WHERE before > 1e-9 AND after > 1e-9 AND after < before - 1e-9), 0) AS contraction_mrr,
  coalesce(sum(before) FILTER (WHERE before > 1e-9 AND after <= 1e-9), 0) AS churned_mrr,
  coalesce(sum(after) FILTER (WHERE before <= 1e-9 AND after > 1e-9 AND first_day < p_start), 0) AS reactivation_mrr,
  count(*) FILTER (WHERE before > 1e-9 AND after <= 1e-9) AS churned_customers,
  count(*) FILTER (WHERE before > 1e-9 AND after <= 1e-9)
    / nullif(count(*) FILTER (WHERE before > 1e-9), 0) AS customer_churn_rate,
  sum(after) FILTER (WHERE before > 1e-9) / nullif(sum(before), 0) AS nrr
FROM rows GROUP BY period ORDER BY period
"""


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--accounts", type=int, default=50_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    import duckdb
    import polars as pl

    from cs_metrics.api import compute_metrics
    from cs_metrics.periods import period_of
    from cs_metrics.spec import load_spec

    folder = sample_data(args.accounts, args.months, "bench.yaml", SPEC)
    end = date(2026, 10, 31)
    last = period_of(end, "month")
    first = last.shift(-(args.months - 2))
    spec = load_spec(folder / "bench.yaml")
    n_lines = pl.scan_csv(folder / "subscriptions.csv").select(pl.len()).collect().item()
    print(
        f"{args.accounts:,} accounts, {n_lines:,} subscription rows, {args.months - 1} months "
        f"({first.label}..{last.label}), best of {args.repeat}"
    )

    def run_csm(engine: str) -> pl.DataFrame:
        r = compute_metrics(spec, METRICS, start=first.label, end=last.label, engine=engine)
        return r.machine_frame(wide=True)

    def run_sql() -> pl.DataFrame:
        sql = SQL.format(csv=folder / "subscriptions.csv", first=first.start, last=last.start)
        return duckdb.sql(sql).pl()

    results = {}
    for name, fn in [
        ("csm polars", lambda: run_csm("polars")),
        ("csm duckdb", lambda: run_csm("duckdb")),
        ("DuckDB SQL", run_sql),
    ]:
        seconds, out, _ = best(fn, args.repeat)
        results[name] = (seconds, out)
    base = results["DuckDB SQL"][0]
    for name, (seconds, _) in results.items():
        print(f"  {name:<12} {seconds:8.3f} s   {seconds / base:5.2f}x the SQL")

    sql_df = results["DuckDB SQL"][1].sort("period")
    for name in ("csm polars", "csm duckdb"):
        ours = results[name][1].sort("period")
        for m in METRICS:
            a = ours[m].cast(pl.Float64).to_list()
            b = sql_df[m].cast(pl.Float64).to_list()
            for p, x, y in zip(ours["period"], a, b, strict=True):
                same = (x is None and y is None) or (
                    x is not None and y is not None and abs(x - y) <= 1e-6 * max(1.0, abs(y))
                )
                if not same:
                    print(f"MISMATCH {name} {m} {p}: csm {x} vs SQL {y}")
                    return 1
    print("  results identical (to 1e-6) across csm polars, csm duckdb and the SQL")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
