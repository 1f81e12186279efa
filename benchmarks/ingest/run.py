"""Ingestion: rows/s of JSON and Arrow IPC batches through the real HTTP server.

    .venv/bin/python benchmarks/ingest/run.py                 # 50,000 rows, ~10 s
    .venv/bin/python benchmarks/ingest/run.py --quick         # 5,000 rows
    .venv/bin/python benchmarks/ingest/run.py --rows 50000 --batch 5000

Posts car-loan analysis rows (``shared/datasets/car_loan`` when present beside the
checkout, else synthetic rows of the same columns) to
``/api/v1/systems/{name}/observations`` of Charter's app served by uvicorn on 127.0.0.1,
in a home made by ``charter init`` with a reference profile set. The server runs in a
thread of this process, so the client shares its interpreter (as in the recorded run).
Figures: docs/benchmarks.md, "Ingestion".
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import io
import json
import threading
import time
from argparse import ArgumentParser, Namespace
from typing import Any

from benchmarks.common import (
    DATASETS,
    Home,
    bounded,
    expect,
    free_port,
    main,
    print_table,
    temporary_home,
)

CAR_LOAN = DATASETS / "car_loan"
QUICK = {"rows": 5_000, "batch": 1_000}


def load_rows(rows: int) -> tuple[Any, Any, str]:
    """(reference, analysis rows, where they came from)."""
    import numpy as np
    import pandas as pd

    if CAR_LOAN.is_dir():
        reference = pd.read_csv(CAR_LOAN / "synthetic_car_loan_reference.csv")
        analysis = pd.read_csv(CAR_LOAN / "synthetic_car_loan_analysis.csv")
        source = "car-loan analysis rows (shared/datasets)"
    else:
        rng = np.random.default_rng(0)
        n = max(rows, 1000)
        reference = pd.DataFrame(
            {"car_value": rng.normal(3e4, 1e4, n), "y_pred_proba": rng.random(n)}
        )
        reference["y_pred"] = (reference["y_pred_proba"] > 0.5).astype(int)
        reference["repaid"] = reference["y_pred"]
        analysis = reference.drop(columns=["repaid"]).assign(id=np.arange(n))
        source = "synthetic rows (shared/datasets not found)"
    analysis = analysis.drop(columns=["timestamp"], errors="ignore").rename(
        columns={"id": "inference_id"}
    )
    analysis["inference_id"] = analysis["inference_id"].astype(str)
    analysis["latency_ms"] = 12.5
    return reference, analysis.iloc[:rows].reset_index(drop=True), source


def prepare(home: Home, reference: Any) -> tuple[str, str]:
    """A service user, a system, a release with a reference profile: (token, digest)."""
    from charter.domain.releases import ReleaseManifest
    from charter.domain.systems import IntakeFile
    from charter.monitoring import build_reference
    from charter.services import references, releases, systems, users

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
            {"components": [{"kind": "model", "name": "m", "uri": "s3://m", "sha256": "a" * 64}]}
        )
        release, _ = releases.create_release(ctx, "car-loan", manifest, base_dir=None)
        outputs = ("y_pred", "y_pred_proba", "repaid", "timestamp", "id")
        profile = build_reference(
            reference,
            features=[c for c in reference.columns if c not in outputs],
            prediction="y_pred",
            score="y_pred_proba",
            label="repaid",
        )
        references.set_reference(ctx, f"car-loan@{release.digest}", profile.to_dict())
    charter.db.dispose()
    return service, release.digest


def _arrow(part: Any) -> bytes:
    import pyarrow as pa

    sink = io.BytesIO()
    table = pa.Table.from_pandas(part, preserve_index=False)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def post_batches(client: Any, kind: str, rows: Any, batch: int, digest: str) -> tuple[float, float]:
    """Post ``rows`` in batches as ``kind`` (json or arrow); rows per wall and CPU second.

    The server runs in this process, so this process's CPU time is the client's and the
    server's together: unlike wall time, it does not grow with other load on the machine.
    """
    # One declared environment per format, so their batches never meet.
    env = {"json": "dev", "arrow": "staging"}[kind]
    url = f"/api/v1/systems/car-loan/observations?env={env}&release={digest}"
    start, cpu = time.perf_counter(), time.process_time()
    for offset in range(0, len(rows), batch):
        part = rows.iloc[offset : offset + batch]
        batch_id = f"{kind}-{offset}"
        if kind == "json":
            records = json.loads(part.to_json(orient="records"))
            content = json.dumps({"batch_id": batch_id, "records": records}).encode()
            headers = {"Content-Type": "application/json"}
        else:
            content = _arrow(part)
            headers = {
                "Content-Type": "application/vnd.apache.arrow.stream",
                "X-Charter-Batch-Id": batch_id,
            }
        response = client.post(url, content=content, headers=headers)
        expect(response.is_success, f"batch {batch_id}: {response.status_code} {response.text}")
    return len(rows) / (time.perf_counter() - start), len(rows) / (time.process_time() - cpu)


def body(args: Namespace) -> dict[str, Any]:
    """Post every batch as JSON, then as Arrow; one table."""
    import httpx
    import uvicorn

    from charter.api.app import create_app

    reference, analysis, source = load_rows(args.rows)
    figures: dict[str, Any] = {"rows": len(analysis), "batch": args.batch, "source": source}
    with temporary_home("ingest") as home:
        token, digest = prepare(home, reference)
        port = free_port()
        app = create_app(home.charter())
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120
            ) as client:
                for kind in ("json", "arrow"):
                    wall, cpu = post_batches(client, kind, analysis, args.batch, digest)
                    figures[f"{kind}_rows_per_s"] = wall
                    figures[f"{kind}_rows_per_cpu_s"] = cpu
        finally:
            server.should_exit = True
            thread.join(timeout=30)
    print_table(
        f"Ingestion through uvicorn on 127.0.0.1 (client in the same process): "
        f"{len(analysis):,} rows, batches of {args.batch:,}; {source}",
        ["format", "rows/s", "rows per CPU second (client + server)"],
        [
            [label, figures[f"{kind}_rows_per_s"], figures[f"{kind}_rows_per_cpu_s"]]
            for label, kind in (("JSON batches", "json"), ("Arrow IPC batches", "arrow"))
        ],
    )
    return figures


def configure(parser: ArgumentParser) -> None:
    """The ingestion benchmark's options."""
    parser.add_argument("--rows", type=bounded(int, 1, 10_000_000), default=50_000)
    parser.add_argument("--batch", type=bounded(int, 1, 100_000), default=5_000)


if __name__ == "__main__":
    main(__doc__, configure, body, quick=QUICK)
