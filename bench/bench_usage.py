"""Benchmark: csm's usage metrics vs the same computation hand-written in DuckDB SQL.

    uv run python bench/bench_usage.py                         # 5,000 accounts x 12 months
    uv run python bench/bench_usage.py --accounts 20000 --months 24 --repeat 3
    uv run python bench/bench_usage.py --each                  # also time each metric alone

Data is made by `csm sample` (seeded) and cached under bench/.data/ (shared with
bench.py). Each engine is timed end to end in-process (reading the Parquet events and the
CSVs, computing every month of the series, collecting), best of --repeat runs, and the
results are checked against the SQL's to 1e-6. --each also times every metric computed on
its own on polars, which shows what the shared reduction saves.
Not a test: timings depend on the machine; run it before and after performance work.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from common import best, sample_data

HERE = Path(__file__).resolve().parent
FEATURES = ["report_sent", "export_csv"]
TTV_EVENT = "report_sent"
WORKFLOW_EVENT = "integration_connected"
WITHIN = 14

# name -> definition (every usage metric type, two flavours of feature_adoption)
METRICS = {
    "active_users": "{type: active_users}",
    "active_accounts": "{type: active_accounts}",
    "dau": "{type: dau}",
    "wau": "{type: wau}",
    "stickiness": "{type: stickiness}",
    "active_days_per_user": "{type: active_days_per_user}",
    "adoption": f"{{type: feature_adoption, features: [{', '.join(FEATURES)}]}}",
    "adoption_customers": (
        f"{{type: feature_adoption, features: [{', '.join(FEATURES)}], of: customers}}"
    ),
    "time_to_value": f"{{type: time_to_value_days, event: {TTV_EVENT}}}",
    "workflow_completion": (
        f"{{type: workflow_completion_rate, event: {WORKFLOW_EVENT}, within_days: {WITHIN}}}"
    ),
}

SPEC = """\
version: 1
currency: USD
sources:
  accounts:
    path: accounts.csv
    columns: {account_id: id, name: company, signup_date: created_at}
  subscriptions:
    path: subscriptions.csv
    columns: {account_id: customer, start_date: started_at, end_date: ended_at, amount: price,
              interval: billing_period, quantity: seats, discount: discount_amount, plan: plan_name}
  usage:
    path: "usage/*.parquet"
    columns: {timestamp: ts, event: event_name}
metrics:
""" + "".join(f"  {name}: {definition}\n" for name, definition in METRICS.items())

SQL = """
WITH ev AS (
  SELECT account_id, user_id, ts::TIMESTAMP AS ts, event_name AS event
  FROM read_parquet('{usage}') WHERE account_id IS NOT NULL AND ts IS NOT NULL
),
months AS (
  SELECT strftime(ms, '%Y-%m') AS period, ms::DATE AS p_start,
         (ms + INTERVAL 1 MONTH - INTERVAL 1 DAY)::DATE AS p_end
  FROM generate_series(DATE '{first}', DATE '{last}', INTERVAL 1 MONTH) AS t(ms)
),
cal AS (  -- days in P, and whole ISO weeks (Monday..Sunday) inside P
  SELECT period, p_start, p_end, (p_end - p_start + 1) AS n_days,
         (SELECT count(*) FROM generate_series(p_start, p_end, INTERVAL 1 DAY) AS g(d)
          WHERE isodow(d) = 1 AND d::DATE + 6 <= p_end) AS n_weeks
  FROM months
),
ud AS (  -- distinct (account, user, day) in the periods
  SELECT DISTINCT e.account_id, e.user_id, e.ts::DATE AS day, c.period, c.p_start, c.p_end
  FROM ev e JOIN cal c ON e.ts::DATE BETWEEN c.p_start AND c.p_end
),
act AS (
  SELECT period,
         count(DISTINCT account_id) AS accounts,
         count(DISTINCT (account_id, user_id)) FILTER (WHERE user_id IS NOT NULL) AS users,
         count(*) FILTER (WHERE user_id IS NOT NULL) AS user_days
  FROM ud GROUP BY period
),
wk AS (
  SELECT period, count(DISTINCT (account_id, user_id, date_trunc('week', day))) AS user_weeks
  FROM ud WHERE user_id IS NOT NULL
    AND date_trunc('week', day) >= p_start AND date_trunc('week', day) + INTERVAL 6 DAY <= p_end
  GROUP BY period
),
feat AS (  -- (period, account) that did a listed feature
  SELECT DISTINCT c.period, e.account_id
  FROM ev e JOIN cal c ON e.ts::DATE BETWEEN c.p_start AND c.p_end
  WHERE e.event IN ({features})
),
active_acc AS (SELECT DISTINCT period, account_id FROM ud),
subs AS (
  SELECT customer AS account_id, started_at::DATE AS s, ended_at::DATE AS e,
         (price * coalesce(seats, 1) - coalesce(discount_amount, 0))
           / CASE billing_period WHEN 'month' THEN 1 WHEN 'quarter' THEN 3 WHEN 'year' THEN 12 END AS m
  FROM read_csv('{subs}', header = true)
),
cust AS (  -- paying at the period's end
  SELECT c.period, s.account_id FROM subs s JOIN cal c ON s.s <= c.p_end AND (s.e IS NULL OR s.e > c.p_end)
  GROUP BY ALL HAVING round(greatest(sum(s.m), 0), 6) > 1e-9
),
adopt AS (
  SELECT a.period, count(*) AS den, count(f.account_id) AS num
  FROM active_acc a LEFT JOIN feat f USING (period, account_id) GROUP BY a.period
),
adopt_c AS (
  SELECT a.period, count(*) AS den, count(f.account_id) AS num
  FROM cust a LEFT JOIN feat f USING (period, account_id) GROUP BY a.period
),
accts AS (
  SELECT id AS account_id, min(created_at::DATE) AS signup
  FROM read_csv('{accounts}', header = true) WHERE created_at IS NOT NULL GROUP BY id
),
first_ttv AS (SELECT account_id, min(ts)::DATE AS d FROM ev WHERE event = '{ttv}' GROUP BY account_id),
first_wf AS (SELECT account_id, min(ts)::DATE AS d FROM ev WHERE event = '{wf}' GROUP BY account_id),
coh AS (
  SELECT c.period,
         -- DuckDB's greatest() skips nulls: greatest(0, NULL) is 0, so guard never-reached
         CASE WHEN t.d IS NOT NULL THEN greatest(0, t.d - a.signup) END AS ttv_days,
         CASE WHEN w.d IS NOT NULL THEN greatest(0, w.d - a.signup) END AS wf_days
  FROM accts a JOIN cal c ON a.signup BETWEEN c.p_start AND c.p_end
  LEFT JOIN first_ttv t USING (account_id) LEFT JOIN first_wf w USING (account_id)
),
cohort AS (
  SELECT period, median(ttv_days) AS ttv, count(*) AS signups,
         count(*) FILTER (WHERE wf_days <= {within}) AS done
  FROM coh GROUP BY period
)
SELECT cal.period,
  coalesce(act.users, 0)::DOUBLE AS active_users,
  coalesce(act.accounts, 0)::DOUBLE AS active_accounts,
  coalesce(act.user_days, 0) / cal.n_days AS dau,
  CASE WHEN cal.n_weeks > 0 THEN coalesce(wk.user_weeks, 0) / cal.n_weeks END AS wau,
  act.user_days / nullif(act.users * cal.n_days, 0) AS stickiness,
  act.user_days / nullif(act.users, 0) AS active_days_per_user,
  adopt.num / nullif(adopt.den, 0) AS adoption,
  adopt_c.num / nullif(adopt_c.den, 0) AS adoption_customers,
  cohort.ttv::DOUBLE AS time_to_value,
  cohort.done / nullif(cohort.signups, 0) AS workflow_completion
FROM cal LEFT JOIN act USING (period) LEFT JOIN wk USING (period)
  LEFT JOIN adopt USING (period) LEFT JOIN adopt_c USING (period) LEFT JOIN cohort USING (period)
ORDER BY cal.period
"""


def same(x: float | None, y: float | None) -> bool:
    if x is None or y is None:
        return x is None and y is None
    return abs(x - y) <= 1e-6 * max(1.0, abs(y))


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--accounts", type=int, default=5_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--each", action="store_true", help="also time each metric alone (polars)")
    ap.add_argument("--engines", default="polars,duckdb", help="csm engines to time")
    args = ap.parse_args()

    import duckdb
    import polars as pl

    from cs_metrics.api import compute_metrics
    from cs_metrics.periods import period_of
    from cs_metrics.spec import load_spec

    folder = sample_data(args.accounts, args.months, "bench_usage.yaml", SPEC)
    end = date(2026, 10, 31)
    last = period_of(end, "month")
    first = last.shift(-(args.months - 2))
    spec = load_spec(folder / "bench_usage.yaml")
    usage = str(folder / "usage" / "*.parquet")
    n_events = pl.scan_parquet(usage).select(pl.len()).collect().item()
    print(
        f"{args.accounts:,} accounts, {n_events:,} usage events, {args.months - 1} months "
        f"({first.label}..{last.label}), {len(METRICS)} usage metrics, best of {args.repeat}"
    )

    def run_csm(engine: str, names: list[str]) -> pl.DataFrame:
        r = compute_metrics(spec, names, start=first.label, end=last.label, engine=engine)
        return r.machine_frame(wide=True)

    def run_sql() -> pl.DataFrame:
        sql = SQL.format(
            usage=usage,
            subs=folder / "subscriptions.csv",
            accounts=folder / "accounts.csv",
            first=first.start,
            last=last.start,
            features=", ".join(f"'{f}'" for f in FEATURES),
            ttv=TTV_EVENT,
            wf=WORKFLOW_EVENT,
            within=WITHIN,
        )
        return duckdb.sql(sql).pl()

    names = list(METRICS)
    runs = [(f"csm {e}", (lambda e=e: run_csm(e, names))) for e in args.engines.split(",") if e]
    runs.append(("DuckDB SQL", run_sql))
    results = {}
    for name, fn in runs:
        results[name] = best(fn, args.repeat)
    base = results["DuckDB SQL"][0]
    for name, (seconds, _, cpu) in results.items():
        print(f"  {name:<12} {seconds:8.3f} s   {seconds / base:5.2f}x the SQL   (CPU {cpu:.3f} s)")

    if args.each:
        total = 0.0
        print("  each metric alone (csm polars):")
        for m in names:
            seconds, _, _ = best(lambda m=m: run_csm("polars", [m]), args.repeat)
            total += seconds
            print(f"    {m:<22} {seconds:8.3f} s")
        print(
            f"    {'sum of the above':<22} {total:8.3f} s  (all together: "
            f"{results['csm polars'][0]:.3f} s)"
            if "csm polars" in results
            else ""
        )

    sql_df = results["DuckDB SQL"][1].sort("period")
    for name in results:
        if name == "DuckDB SQL":
            continue
        ours = results[name][1].sort("period")
        assert ours["period"].to_list() == sql_df["period"].to_list(), (name, ours["period"])
        for m in names:
            a = ours[m].cast(pl.Float64).to_list()
            b = sql_df[m].cast(pl.Float64).to_list()
            for p, x, y in zip(ours["period"], a, b, strict=True):
                if not same(x, y):
                    print(f"MISMATCH {name} {m} {p}: csm {x} vs SQL {y}")
                    return 1
    print(f"  results identical (to 1e-6) across {', '.join(results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
