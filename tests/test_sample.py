"""The seeded sample-data generator (cs_metrics.sample)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml

from cs_metrics.sample import ROLES, generate

REPO = Path(__file__).resolve().parents[1]
END = date(2026, 10, 31)
MONTHS = {"month": 1, "quarter": 3, "year": 12}

EXPECTED_COLUMNS = {
    "accounts": [
        "id", "company", "created_at", "trial_start", "trial_end", "onboarded_at", "plan",
        "region", "industry", "employees", "owner", "renewal_date", "churn_reason",
    ],
    "subscriptions": [
        "subscription_id", "customer", "started_at", "ended_at", "price", "billing_period",
        "seats", "discount_amount", "currency", "plan_name",
    ],
    "invoices": [
        "invoice_id", "customer_id", "line_period_start", "line_period_end", "amount",
        "line_kind", "discount", "currency",
    ],
    "tickets": [
        "id", "organization_id", "created", "first_reply_at", "solved_at", "replies", "reopens",
        "status", "via", "satisfaction_rating",
    ],
    "surveys": ["person", "account", "created_at", "survey_type", "score", "comment"],
    "usage": ["account_id", "user_id", "ts", "event_name", "value"],
    "spend": ["day", "channel", "cost"],
    "orders": ["order_id", "customer_id", "ordered_at", "total"],
    "activities": ["account", "occurred_at", "kind", "owner"],
    "fx": ["currency", "rate", "date"],
}  # fmt: skip

# SPEC.md "Source roles and canonical columns"
CANONICAL = {
    "accounts": {"account_id", "name", "signup_date", "trial_start", "trial_end",
                 "onboarded_at", "renewal_date", "churn_reason"},
    "subscriptions": {"account_id", "start_date", "end_date", "amount", "interval", "quantity",
                      "discount", "currency", "plan", "subscription_id"},
    "invoices": {"account_id", "period_start", "period_end", "amount", "line_type", "discount",
                 "currency", "invoice_id"},
    "tickets": {"ticket_id", "account_id", "created_at", "first_response_at", "resolved_at",
                "contacts", "reopened", "status", "channel", "satisfaction"},
    "surveys": {"account_id", "submitted_at", "score", "survey", "respondent_id", "comment"},
    "usage": {"account_id", "timestamp", "user_id", "event", "value"},
    "spend": {"date", "amount", "channel"},
    "orders": {"order_id", "customer_id", "ordered_at", "amount"},
    "activities": {"account_id", "occurred_at", "type", "owner"},
    "fx": {"currency", "rate", "date"},
}  # fmt: skip


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[Path]]]:
    """The default-sized data set (what sample_data/ holds)."""
    out = tmp_path_factory.mktemp("sample")
    return out, generate(out)


def read(files: dict[str, list[Path]], role: str) -> pl.DataFrame:
    if role == "usage":
        return pl.read_parquet(files[role])
    return pl.read_csv(files[role][0], try_parse_dates=True)


def subscriptions_with_mrr(files: dict[str, list[Path]]) -> pl.DataFrame:
    return read(files, "subscriptions").with_columns(
        mrr=(pl.col("price") * pl.col("seats") - pl.col("discount_amount"))
        / pl.col("billing_period").replace_strict(MONTHS, return_dtype=pl.Int64)
    )


def churn_events(subs: pl.DataFrame) -> pl.DataFrame:
    """Paid versions that end with no paid version of the same account starting that day."""
    paid = subs.filter(pl.col("price") > 0)
    successors = paid.select("customer", ended_at="started_at").unique().with_columns(succ=True)
    return (
        paid.filter(pl.col("ended_at").is_not_null())
        .join(successors, on=["customer", "ended_at"], how="left")
        .filter(pl.col("succ").is_null())
        .select("customer", "ended_at")
    )


def all_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# ----------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    generate(tmp_path / "a", accounts=40, months=6)
    generate(tmp_path / "b", accounts=40, months=6)
    a, b = all_bytes(tmp_path / "a"), all_bytes(tmp_path / "b")
    assert a.keys() == b.keys()
    assert len(a) == 9 + 6
    assert [k for k in a if a[k] != b[k]] == []


def test_other_seed_gives_other_data(tmp_path: Path) -> None:
    generate(tmp_path / "a", accounts=40, months=6, seed=1)
    generate(tmp_path / "b", accounts=40, months=6, seed=2)
    a, b = all_bytes(tmp_path / "a"), all_bytes(tmp_path / "b")
    assert a["accounts.csv"] != b["accounts.csv"]
    assert a["usage/events-2026-10.parquet"] != b["usage/events-2026-10.parquet"]


def test_rerun_into_same_dir_replaces_stale_usage_months(tmp_path: Path) -> None:
    generate(tmp_path, accounts=5, months=4)
    generate(tmp_path, accounts=5, months=2)
    assert sorted(p.name for p in (tmp_path / "usage").iterdir()) == [
        "events-2026-09.parquet",
        "events-2026-10.parquet",
    ]


def test_committed_sample_is_current(sample) -> None:
    """sample_data/ is exactly what generate() writes with its defaults (CSV files; the
    Parquet bytes embed the polars version). Regenerate with `python -m cs_metrics.sample`."""
    out, _ = sample
    committed = REPO / "sample_data"
    for path in sorted(out.glob("*.csv")):
        assert (committed / path.name).read_bytes() == path.read_bytes(), path.name
    fresh = pl.read_parquet(sorted((out / "usage").glob("*.parquet")))
    assert fresh.equals(pl.read_parquet(sorted((committed / "usage").glob("*.parquet"))))


# ----------------------------------------------------------------------------- shape


def test_every_role_is_written_with_its_columns(sample) -> None:
    out, files = sample
    assert list(files) == list(ROLES)
    for role in ROLES:
        assert files[role], role
        for path in files[role]:
            assert path.is_file() and path.parent in (out, out / "usage")
        assert read(files, role).columns == EXPECTED_COLUMNS[role], role
    assert [p.name for p in files["usage"]][:2] == [
        "events-2024-11.parquet",
        "events-2024-12.parquet",
    ]
    assert len(files["usage"]) == 24
    assert files["usage"][-1].name == "events-2026-10.parquet"


def test_size_budget(sample) -> None:
    out, _ = sample
    assert sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) < 3_000_000


def test_data_stays_in_the_window(sample) -> None:
    _, files = sample
    acc = read(files, "accounts")
    assert acc["created_at"].min() >= date(2024, 11, 1)
    assert acc["created_at"].max() <= END
    assert acc.height == 300 and acc["id"].n_unique() == 300
    assert acc["owner"].n_unique() == 6
    usage = pl.scan_parquet(files["usage"]).select(
        lo=pl.col("ts").min(), hi=pl.col("ts").max(), n=pl.len()
    )
    lo, hi, n = usage.collect().row(0)
    assert lo.date() >= date(2024, 11, 1) and hi.date() <= END
    assert n > 20_000
    for path in files["usage"]:  # each monthly file holds its month only
        month = path.stem.removeprefix("events-")
        months = pl.read_parquet(path)["ts"].dt.strftime("%Y-%m").unique().to_list()
        assert months in ([month], [])
    tickets = read(files, "tickets")
    assert tickets["created"].max().date() <= END
    surveys = read(files, "surveys")
    assert surveys["created_at"].max().date() <= END


def test_ids_join_across_sources(sample) -> None:
    _, files = sample
    ids = set(read(files, "accounts")["id"])
    assert set(read(files, "subscriptions")["customer"]) <= ids
    assert set(read(files, "invoices")["customer_id"]) <= ids
    assert set(read(files, "tickets")["organization_id"]) <= ids
    assert set(read(files, "surveys")["account"]) <= ids
    assert set(read(files, "orders")["customer_id"]) <= ids
    assert set(read(files, "activities")["account"]) <= ids
    assert set(read(files, "usage")["account_id"]) <= ids
    assert read(files, "tickets")["id"].is_unique().all()
    assert read(files, "orders")["order_id"].is_unique().all()


# ----------------------------------------------------------------------------- lifecycle


def test_lifecycle_features_appear(sample) -> None:
    _, files = sample
    subs = subscriptions_with_mrr(files)
    acc = read(files, "accounts")
    paid = subs.filter(pl.col("price") > 0).sort("customer", "subscription_id", "started_at")
    chained = paid.with_columns(
        prev_mrr=pl.col("mrr").shift().over("customer", "subscription_id"),
        prev_end=pl.col("ended_at").shift().over("customer", "subscription_id"),
        prev_plan=pl.col("plan_name").shift().over("customer", "subscription_id"),
    ).filter(pl.col("prev_end") == pl.col("started_at"))
    assert chained.filter(pl.col("mrr") > pl.col("prev_mrr")).height >= 1, "upgrade"
    assert chained.filter(pl.col("mrr") < pl.col("prev_mrr")).height >= 1, "downgrade"
    assert chained.filter(pl.col("plan_name") != pl.col("prev_plan")).height >= 1, "plan change"
    churns = churn_events(subs)
    assert churns.height >= 5, "churn"
    # reactivation: a new subscription months after the account's previous one ended
    spans = paid.group_by("customer", "subscription_id").agg(
        start=pl.col("started_at").min(), stop=pl.col("ended_at").max()
    )
    later = spans.join(spans, on="customer", suffix="_next").filter(
        pl.col("start_next") > pl.col("stop") + pl.duration(days=28)
    )
    assert later.height >= 1, "reactivation"
    assert (subs["billing_period"] == "year").any(), "annual plan"
    assert (subs["billing_period"] == "quarter").any(), "quarterly plan"
    assert (subs["billing_period"] == "month").sum() > subs.height / 2
    credits = subs.filter(pl.col("price") < 0)
    assert credits.height >= 1 and (credits["ended_at"].is_not_null()).all(), "credit"
    assert (subs["price"] == 0).any(), "$0 trial version"
    trials = acc.filter(pl.col("trial_start").is_not_null())
    assert 0.12 < trials.height / acc.height < 0.3
    assert (acc["plan"] == "trial").any(), "a trial that did not convert"
    assert (subs["discount_amount"] > 0).any()
    assert acc["churn_reason"].drop_nulls().len() >= 3
    assert set(subs["currency"]) == {"USD"}


def test_no_overlapping_versions_except_credits(sample) -> None:
    _, files = sample
    subs = read(files, "subscriptions").filter(pl.col("price") >= 0)
    far = date(2100, 1, 1)
    overlaps = (
        subs.sort("customer", "started_at", "ended_at", nulls_last=True)
        .with_columns(prev_end=pl.col("ended_at").fill_null(far).shift().over("customer"))
        .filter(pl.col("started_at") < pl.col("prev_end"))
    )
    assert overlaps.height == 0, overlaps
    assert (subs["ended_at"].is_null() | (subs["ended_at"] > subs["started_at"])).all()
    # credits sit inside an ongoing paid subscription and never drive MRR below 0
    credits = read(files, "subscriptions").filter(pl.col("price") < 0)
    for row in credits.iter_rows(named=True):
        covering = subs.filter(
            (pl.col("customer") == row["customer"])
            & (pl.col("price") > 0)
            & (pl.col("started_at") <= row["started_at"])
            & (pl.col("ended_at").is_null() | (pl.col("ended_at") > row["started_at"]))
        )
        assert covering.height == 1


def test_invoice_mrr_matches_subscription_mrr_at_month_ends(sample) -> None:
    _, files = sample
    subs = subscriptions_with_mrr(files)
    lines = read(files, "invoices")
    assert set(lines["line_kind"]) == {"subscription", "one_time", "tax", "refund"}
    assert 2 <= (lines["line_kind"] == "refund").sum() <= 10
    recurring = lines.filter(pl.col("line_kind") == "subscription").with_columns(
        months=(pl.col("line_period_end").dt.year() - pl.col("line_period_start").dt.year()) * 12
        + pl.col("line_period_end").dt.month().cast(pl.Int64)
        - pl.col("line_period_start").dt.month().cast(pl.Int64)
    )
    full = recurring.filter(pl.col("amount") != 0)
    # every priced line is a whole number of calendar months
    assert (full["line_period_end"].dt.day() == full["line_period_start"].dt.day()).all()
    recurring = recurring.with_columns(
        mrr=pl.when(pl.col("months") > 0)
        .then((pl.col("amount") - pl.col("discount")) / pl.col("months"))
        .otherwise(0.0)
    )
    ends = pl.date_range(date(2024, 11, 1), END, "1mo", eager=True).dt.month_end()
    for e in ends:
        a = subs.filter(
            (pl.col("started_at") <= e) & (pl.col("ended_at").is_null() | (pl.col("ended_at") > e))
        )["mrr"].sum()
        b = recurring.filter((pl.col("line_period_start") <= e) & (pl.col("line_period_end") > e))[
            "mrr"
        ].sum()
        assert a == pytest.approx(b, abs=0.01), e
    assert a > 10_000  # the last month end


# ----------------------------------------------------------------------------- support etc.


def test_tickets(sample) -> None:
    _, files = sample
    t = read(files, "tickets")
    assert t.filter(pl.col("first_reply_at") > pl.col("solved_at")).height == 2
    assert t["first_reply_at"].is_null().any(), "never answered"
    assert t["solved_at"].is_null().any(), "still open"
    assert set(t["status"]) <= {"new", "open", "pending", "solved", "closed"}
    assert {"good", "bad"} <= set(t["satisfaction_rating"])
    assert (t.filter(pl.col("solved_at").is_null())["status"] != "closed").all()
    assert (t["reopens"] > 0).any()
    one_touch = (t.filter(pl.col("solved_at").is_not_null())["replies"] <= 1).mean()
    assert 0.3 < one_touch < 0.85


def test_surveys(sample) -> None:
    _, files = sample
    s = read(files, "surveys")
    ranges = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
    assert set(s["survey_type"]) == set(ranges)
    for kind, (lo, hi) in ranges.items():
        scores = s.filter(pl.col("survey_type") == kind)["score"]
        assert scores.min() >= lo and scores.max() <= hi, kind
    nps = s.filter(pl.col("survey_type") == "nps")["score"]
    assert (nps <= 6).any() and (nps >= 9).any()
    twice = s.group_by("person", "survey_type", pl.col("created_at").dt.strftime("%Y-%m")).len()
    assert (twice["len"] > 1).any(), "someone answered twice in a month"
    assert s["comment"].is_null().any() and s["comment"].is_not_null().any()


def test_other_sources(sample) -> None:
    _, files = sample
    spend = read(files, "spend")
    assert spend["cost"].min() > 0 and spend["channel"].n_unique() >= 4
    fx = read(files, "fx")
    assert set(fx["currency"]) == {"USD", "EUR", "GBP"}
    assert (fx.filter(pl.col("currency") == "USD")["rate"] == 1.0).all()
    orders = read(files, "orders")
    assert orders.height > 10 and orders["total"].min() > 0
    one_off = read(files, "invoices").filter(pl.col("line_kind") == "one_time")
    assert one_off.height == orders.height
    assert one_off["amount"].sum() == pytest.approx(orders["total"].sum())
    activities = read(files, "activities")
    assert set(activities["kind"]) == {"call", "email", "meeting", "qbr", "reference"}
    events = read(files, "usage")
    assert {"login", "report_created", "report_sent", "dashboard_viewed"} <= set(
        events["event_name"]
    )
    assert events.schema["ts"] == pl.Datetime("ms")


# ----------------------------------------------------------------------------- signal


def test_pre_churn_signal_on_aggregate(sample) -> None:
    """Accounts that churn in month m are, on average, less active in m-1 than in m-3."""
    _, files = sample
    churns = churn_events(subscriptions_with_mrr(files)).select(
        account_id="customer", m=pl.col("ended_at").dt.truncate("1mo")
    )
    events = read(files, "usage")
    monthly = events.group_by("account_id", m=pl.col("ts").dt.date().dt.truncate("1mo")).agg(
        n=pl.len(), users=pl.col("user_id").n_unique()
    )
    x = (
        churns.with_columns(
            m1=pl.col("m").dt.offset_by("-1mo"), m3=pl.col("m").dt.offset_by("-3mo")
        )
        .join(
            monthly.rename({"m": "m1", "n": "n1", "users": "u1"}),
            on=["account_id", "m1"],
            how="left",
        )
        .join(monthly.rename({"m": "m3", "n": "n3", "users": "u3"}), on=["account_id", "m3"])
        .with_columns(pl.col("n1").fill_null(0), pl.col("u1").fill_null(0))
    )
    assert x.height >= 10
    assert x["n1"].mean() < x["n3"].mean()
    assert x["u1"].mean() < x["u3"].mean()
    # noisy, not a perfect signal: some churners do not decline at all
    assert (x["n1"] >= x["n3"]).any()


def test_unhealthy_accounts_file_more_tickets_and_lower_scores(sample) -> None:
    _, files = sample
    churns = churn_events(subscriptions_with_mrr(files))
    churned = set(churns["customer"])
    nps = read(files, "surveys").filter(pl.col("survey_type") == "nps")
    mine = nps.with_columns(churner=pl.col("account").is_in(list(churned)))
    by = mine.group_by("churner").agg(pl.col("score").mean()).sort("churner")
    assert by["score"][1] < by["score"][0]


# ----------------------------------------------------------------------------- the mapping


def test_sources_yaml_maps_every_role_onto_the_sample() -> None:
    spec = yaml.safe_load((REPO / "sample_data" / "SOURCES.yaml").read_text())
    sources = spec["sources"]
    assert set(sources) == set(ROLES)
    for role, src in sources.items():
        pattern = src["path"]
        files = sorted(REPO.glob(pattern))
        assert files, pattern
        if role == "usage":
            cols = pl.read_parquet_schema(files[0]).names()
        else:
            cols = pl.read_csv(files[0], n_rows=1).columns
        mapping = src.get("columns", {})
        assert set(mapping) <= CANONICAL[role], role
        assert set(mapping.values()) <= set(cols), role
        # every file column is either canonical already or mapped (accounts keep attributes)
        unmapped = set(cols) - set(mapping.values()) - CANONICAL[role]
        if role == "accounts":
            assert unmapped == {"plan", "region", "industry", "employees", "owner"}
        else:
            assert unmapped == set(), (role, unmapped)
    dims = spec["dimensions"]
    assert dims["csm"] == "owner" and "employees" in dims["size"]


def test_cli_sample_writes_a_spec_for_its_data(tmp_path: Path) -> None:
    # `csm sample -o DIR` writes the `csm init` template beside the exports, its paths
    # relative to DIR and as_of the data's last day, so the data can be used at once
    from helpers import invoke

    from cs_metrics.scaffold import render_spec

    out = tmp_path / "data"
    args = f"sample -o {out} --accounts 20 --months 3 --end 2026-06-30"
    invoke(args, stderr=["metrics.yaml", f"csm compute --spec {out / 'metrics.yaml'}"])
    text = (out / "metrics.yaml").read_text()
    assert "path: accounts.csv" in text and "sample_data/" not in text
    assert "as_of: 2026-06-30" in text
    assert (out / "metrics.schema.json").exists()  # line 1 names it
    # the rest is the template csm init writes
    template = render_spec()
    assert text.count("\n") == template.count("\n")
    r = invoke(f"compute --spec {out / 'metrics.yaml'} -f csv customers mrr")
    assert r.stdout.splitlines()[1].startswith("2026-06,customers,")
    # run again: the exports are rewritten, the spec (perhaps edited since) is kept
    (out / "metrics.yaml").write_text(text + "# mine\n")
    invoke(args, stderr="kept the existing")
    assert (out / "metrics.yaml").read_text().endswith("# mine\n")
