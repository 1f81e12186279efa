"""Replay: rows/s of backfilling a historical file by event time, then one worker pass.

    .venv/bin/python benchmarks/replay/run.py                 # the 50,000-row car-loan file
    .venv/bin/python benchmarks/replay/run.py --quick         # its first 5,000 rows
    .venv/bin/python benchmarks/replay/run.py --rows 20000 --batch 10000 --window 2000
    nice .venv/bin/python benchmarks/replay/run.py --synthetic 10000000   # over 720 hours
    .venv/bin/python benchmarks/replay/run.py --synthetic 100000 --hours 72 --window 5000

The car-loan analysis file (``shared/datasets/car_loan``) keeps its ``timestamp`` column
(one record every 8 min 43 s, about seven an hour), so every batch spreads over many
hourly buckets: this is the backfill path, not the live one (``benchmarks/ingest`` sends
rows without timestamps, all into one hour). In a home made by ``charter init``, a release
with a count-window contract (``live.window: N rows``) is routed to ``prod`` directly in
the database (the gate is not what is measured), the rows are ingested in batches through
the service layer (what ``charter log`` calls locally), labels joined, and one
``worker.run_once`` judges every complete window in event-time order.

``--synthetic ROWS`` replays generated car-loan-like rows instead (``synthetic.py``:
reference rows drawn with a fixed seed, evenly spread over ``--hours`` of event time,
drifted and less accurate in the second half), generated batch by batch so memory stays
bounded; windows default to a day's rows. Generation is timed apart and left out of the
steps' figures; the run is refused unless the second half's windows, and only they,
flag ``car_value`` drift and lose accuracy.
Figures: docs/benchmarks.md, "Replay".
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import time
from argparse import ArgumentParser, Namespace
from datetime import UTC
from typing import Any

from benchmarks.common import DATASETS, Home, bounded, expect, main, print_table, temporary_home

QUICK = {"rows": 5_000, "window": 1_000}
#: The largest batch `charter log` sends (its --batch-size) and ingestion accepts.
MAX_BATCH = 10_000
CAR_LOAN = DATASETS / "car_loan"
FEATURES = [
    "car_value",
    "salary_range",
    "debt_to_income_ratio",
    "loan_length",
    "repaid_loan_on_prev_car",
    "size_of_downpayment",
    "driver_tenure",
]


def prepare(home: Home, window: int) -> tuple[Any, Any, str, Any]:
    """A service user, a routed release with a reference and a count window."""
    import pandas as pd

    from charter.domain.releases import ReleaseManifest
    from charter.domain.systems import IntakeFile
    from charter.monitoring import build_reference
    from charter.services import references, releases, systems, users
    from charter.services.users import authenticate
    from charter.store.models import Route

    reference = pd.read_csv(CAR_LOAN / "synthetic_car_loan_reference.csv")
    charter = home.charter()
    with charter.act(home.token, write=True) as ctx:
        _, service = users.create_user(ctx, "svc", "service")
        systems.register_system(
            ctx,
            "car-loan",
            owner="bench",
            purpose="bench",
            population="x",
            intake=IntakeFile(answers={"domain": "internal_operations"}),
        )
        manifest = ReleaseManifest.model_validate(
            {
                "components": [{"kind": "model", "name": "m", "uri": "s3://m", "sha256": "a" * 64}],
                "contract": {
                    "live": {"window": f"{window} rows", "min_sample": 500, "open_after": 2}
                },
            }
        )
        release, _ = releases.create_release(ctx, "car-loan", manifest, base_dir=None)
        profile = build_reference(
            reference,
            features=FEATURES,
            prediction="y_pred",
            score="y_pred_proba",
            label="repaid",
            cohort="salary_range",
        )
        references.set_reference(ctx, f"car-loan@{release.digest}", profile.to_dict())
        ctx.session.add(
            Route(
                system_id=release.system_id,
                environment="prod",
                release_id=release.id,
                previous_release_id=None,
                state="live",
                fallback=None,
                reason="benchmark",
                updated_at=ctx.now(),
                updated_by="bench",
            )
        )
    with charter.db.transaction(write=False) as session:
        actor = authenticate(session, service)
    return charter, actor, release.digest, profile


def body(args: Namespace) -> dict[str, Any]:
    """The car-loan file, or with ``--synthetic`` generated rows."""
    if args.synthetic:
        return synthetic_body(args)
    return car_loan_body(args)


def car_loan_body(args: Namespace) -> dict[str, Any]:
    """Ingest the file by event time, join its labels, run one worker pass; rows/s."""
    import pandas as pd

    from charter.services import ingest, worker

    expect(CAR_LOAN.is_dir(), f"{CAR_LOAN} holds the car-loan files")
    analysis = pd.read_csv(CAR_LOAN / "synthetic_car_loan_analysis.csv").iloc[: args.rows]
    targets = pd.read_csv(CAR_LOAN / "synthetic_car_loan_analysis_target.csv")
    records = analysis.rename(columns={"id": "inference_id"})
    records["inference_id"] = records["inference_id"].astype(str)
    figures: dict[str, Any] = {"rows": len(records), "batch": args.batch, "window": args.window}
    with temporary_home("replay") as home:
        charter, actor, digest, reference = prepare(home, args.window)
        start = time.perf_counter()
        for offset in range(0, len(records), args.batch):
            with charter.as_actor(actor, write=True) as ctx:
                ingest.ingest_records(
                    ctx,
                    "car-loan",
                    "prod",
                    f"r-{offset}",
                    records.iloc[offset : offset + args.batch],
                    release=digest,
                )
        log_s = time.perf_counter() - start
        labels = targets[targets["id"].isin(analysis["id"])]
        start = time.perf_counter()
        for offset in range(0, len(labels), 10_000):
            part = labels.iloc[offset : offset + 10_000]
            with charter.as_actor(actor, write=True) as ctx:
                ingest.ingest_labels(
                    ctx,
                    "car-loan",
                    "prod",
                    f"l-{offset}",
                    [
                        {"inference_id": str(i), "label": int(y)}
                        for i, y in zip(part["id"], part["repaid"], strict=True)
                    ],
                )
        labels_s = time.perf_counter() - start
        start = time.perf_counter()
        summary = worker.run_once(charter, actor, deliver=False)
        worker_s = time.perf_counter() - start
        # Profiles, not rows: the same records profiled by hour where they are
        # (charter.spark.profile_rows, what a Spark job's partitions run) and submitted
        # (operation profiles.log) to another environment, in the parts that fit one
        # submission (charter.spark.split_document), as charter.spark.submit_profiles does.
        from charter.services import profile_ingest
        from charter.spark import profile_rows, profiles_document, split_document

        joined = records.merge(
            targets.rename(columns={"id": "inference_id"}).astype({"inference_id": str}),
            on="inference_id",
            how="left",
        )
        start = time.perf_counter()
        document = profiles_document(reference, profile_rows(reference, joined), release=digest)
        profile_s = time.perf_counter() - start
        start = time.perf_counter()
        submitted = {"accepted": 0, "buckets": 0}
        for i, part in enumerate(split_document(document)):
            with charter.as_actor(actor, write=True) as ctx:
                receipt = profile_ingest.ingest_profiles(ctx, "car-loan", "staging", f"p:{i}", part)
            submitted["accepted"] += receipt["accepted"]
            submitted["buckets"] += receipt["buckets"]
        submit_s = time.perf_counter() - start
        expect(submitted["accepted"] == len(records), f"all rows profiled: {submitted}")
        charter.db.dispose()
    expect(summary["windows"] >= 1, f"the worker judged windows: {summary}")
    figures.update(
        log_rows_per_s=len(records) / log_s,
        labels_rows_per_s=len(labels) / labels_s,
        worker_s=worker_s,
        windows=summary["windows"],
        replay_rows_per_s=len(records) / (log_s + labels_s + worker_s),
        profile_rows_per_s=len(records) / profile_s,
        submit_profiles_s=submit_s,
        profiles_buckets=submitted["buckets"],
    )
    print_table(
        f"Replay of {len(records):,} car-loan rows by event time (batches of {args.batch:,}, "
        f"windows of {args.window:,} rows)",
        ["step", "seconds", "rows/s"],
        [
            ["log records", log_s, figures["log_rows_per_s"]],
            ["log labels", labels_s, figures["labels_rows_per_s"]],
            [f"worker --once ({summary['windows']} windows)", worker_s, ""],
            ["total", log_s + labels_s + worker_s, figures["replay_rows_per_s"]],
        ],
    )
    print_table(
        f"Profiles, not rows: the same {len(records):,} rows with their labels",
        ["step", "seconds", "rows/s"],
        [
            ["profile by hour (charter.spark.profile_rows)", profile_s, len(records) / profile_s],
            [f"submit ({submitted['buckets']} hourly profiles)", submit_s, len(records) / submit_s],
        ],
    )
    return figures


class Clock:
    """Wall and CPU seconds of a step, less the time spent generating its rows."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        self._start = (0.0, 0.0)

    def __enter__(self) -> Clock:
        self._start = (time.perf_counter(), time.process_time())
        return self

    def __exit__(self, *_: object) -> None:
        self.wall += time.perf_counter() - self._start[0]
        self.cpu += time.process_time() - self._start[1]


def synthetic_body(args: Namespace) -> dict[str, Any]:
    """Log generated records then their labels in batches as `charter log` does, one worker
    pass; the steps' seconds, rows/s and CPU seconds, and a check of the verdicts."""
    import pandas as pd
    from benchmarks.replay.synthetic import Synthetic, label_items

    from charter.services import ingest, worker

    rows, batch = args.synthetic, args.batch
    window = args.window if args.window_given else max(100, rows * 24 // args.hours)
    plan = Synthetic(
        pd.read_csv(CAR_LOAN / "synthetic_car_loan_reference.csv"), FEATURES, rows, args.hours
    )
    generate, log, labels_clock, work = Clock(), Clock(), Clock(), Clock()
    with temporary_home("replay") as home:
        charter, actor, _, _ = prepare(home, window)
        for kind, clock in (("records", log), ("labels", labels_clock)):
            for offset in range(0, rows, batch):
                with generate:
                    frame, labels = plan.chunk(offset, batch)
                    items = label_items(frame, labels) if kind == "labels" else []
                with clock, charter.as_actor(actor, write=True) as ctx:
                    # The release live in prod, as `charter log` without --release.
                    if kind == "records":
                        ingest.ingest_records(ctx, "car-loan", "prod", f"r-{offset}", frame)
                    else:
                        answer = ingest.ingest_labels(ctx, "car-loan", "prod", f"l-{offset}", items)
                        expect(answer["matched"] == len(items), f"labels joined: {answer}")
                if offset and offset % (100 * batch) == 0:  # a long run shows it is moving
                    print(f"{kind}: {offset:,} rows in {clock.wall:.0f} s", file=sys.stderr)
        with work:
            summary = worker.run_once(charter, actor, deliver=False)
        results = window_results(charter)
        charter.db.dispose()
    check_synthetic(results, plan.middle_s)
    total_wall, total_cpu = log.wall + labels_clock.wall + work.wall, log.cpu + labels_clock.cpu
    total_cpu += work.cpu
    figures: dict[str, Any] = {
        "synthetic_rows": rows,
        "hours": args.hours,
        "batch": batch,
        "window": window,
        "windows": summary["windows"],
        "log_s": log.wall,
        "log_cpu_s": log.cpu,
        "labels_s": labels_clock.wall,
        "labels_cpu_s": labels_clock.cpu,
        "worker_s": work.wall,
        "worker_cpu_s": work.cpu,
        "replay_rows_per_s": rows / total_wall,
        "generate_s": generate.wall,
        "drift_flagged": [bool(r["flagged"]) for r in results],
        "accuracy": [r["accuracy"] for r in results],
    }
    print_table(
        f"Replay of {rows:,} synthetic car-loan rows over {args.hours:,} hours "
        f"(batches of {batch:,}, windows of {window:,} rows; generating them took "
        f"{generate.wall:.1f} s, not counted)",
        ["step", "seconds", "rows/s", "CPU seconds"],
        [
            ["log records", log.wall, rows / log.wall, log.cpu],
            ["log labels", labels_clock.wall, rows / labels_clock.wall, labels_clock.cpu],
            [f"worker --once ({summary['windows']} windows)", work.wall, "", work.cpu],
            ["total", total_wall, rows / total_wall, total_cpu],
        ],
    )
    half = [r for r in results if r["start_s"] >= plan.middle_s]
    first = [r for r in results if r["end_s"] <= plan.middle_s]
    print_table(
        "Verdicts (the check a figure must pass)",
        ["half", "windows", "car_value drift flagged", "realised accuracy (mean)"],
        [
            [name, len(part), sum(r["flagged"] for r in part), mean_accuracy(part)]
            for name, part in (("first", first), ("second", half))
        ],
    )
    return figures


def window_results(charter: Any) -> list[dict[str, Any]]:
    """Each judged window's span, whether car_value drifted and its realised accuracy."""
    from sqlalchemy import select

    from charter.store.monitoring_models import MonitorWindow

    with charter.db.transaction(write=False) as session:
        windows = session.scalars(select(MonitorWindow).order_by(MonitorWindow.window_start))
        return [
            {
                "start_s": w.window_start.replace(tzinfo=UTC).timestamp(),
                "end_s": w.window_end.replace(tzinfo=UTC).timestamp(),
                "flagged": "car_value" in w.result["drift"]["columns"],
                "accuracy": ((w.result.get("realised") or {}).get("metrics") or {}).get("accuracy"),
            }
            for w in windows
        ]


def mean_accuracy(results: list[dict[str, Any]]) -> float:
    """The mean realised accuracy of windows (NaN when none has one)."""
    values = [r["accuracy"] for r in results if r["accuracy"] is not None]
    return sum(values) / len(values) if values else float("nan")


def check_synthetic(results: list[dict[str, Any]], middle_s: float) -> None:
    """Refuse figures of a run whose verdicts are wrong: drift and the accuracy drop are
    flagged in the second half's windows, and not in the first half's."""
    first = [r for r in results if r["end_s"] <= middle_s]
    second = [r for r in results if r["start_s"] >= middle_s]
    expect(len(first) >= 2 and len(second) >= 2, f"windows judged in both halves: {results}")
    expect(not any(r["flagged"] for r in first), "no car_value drift in the first half")
    expect(all(r["flagged"] for r in second), "car_value drift in every second-half window")
    before, after = mean_accuracy(first), mean_accuracy(second)
    expect(before > 0.9 and after < before - 0.2, f"accuracy {before:.3f} then {after:.3f}")


def configure(parser: ArgumentParser) -> None:
    """The replay benchmark's options."""
    parser.add_argument("--rows", type=bounded(int, 1, 50_000), default=50_000)
    parser.add_argument("--batch", type=bounded(int, 1, MAX_BATCH), default=MAX_BATCH)
    parser.add_argument("--window", type=bounded(int, 100, 10_000_000), default=None)
    parser.add_argument(
        "--synthetic",
        type=bounded(int, 1_000, 100_000_000),
        metavar="ROWS",
        help="replay ROWS generated car-loan-like rows instead of the file",
    )
    parser.add_argument(
        "--hours",
        type=bounded(int, 2, 100_000),
        default=720,
        help="event-time span of the synthetic rows (default 720: a month)",
    )


def check(args: Namespace) -> str | None:
    """Fill the window default (5,000 rows; with --synthetic, a day's rows)."""
    args.window_given = args.window is not None
    if args.window is None:
        args.window = 5_000
    return None


if __name__ == "__main__":
    main(__doc__, configure, body, quick=QUICK, check=check)
