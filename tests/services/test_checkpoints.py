"""Checkpoint keys and sinks: the worker's hook, a file sink and a webhook sink."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from charter.domain import checkpoints as cp
from charter.domain.errors import BadInput
from charter.services import checkpoints, systems

KEY = "worker-hook-hmac-key-0123456789"


def test_the_worker_hook_checkpoints_only_a_moved_head(act, charter, tmp_path, monkeypatch):
    sink = tmp_path / "sink.jsonl"
    monkeypatch.setenv("CHARTER_AUDIT_KEY", KEY)
    monkeypatch.setenv("CHARTER_AUDIT_SINK", str(sink))
    hook = checkpoints.WorkerCheckpoints(tmp_path)
    first = hook(charter)
    assert first["checkpoint"] >= 1
    assert hook(charter) == {"checkpoint": None}  # nothing happened since
    with act("developer") as ctx:
        systems.register_system(ctx, "credit-limit", owner="risk")
    assert hook(charter)["checkpoint"] == first["checkpoint"] + 1
    good, problems = checkpoints.checked(str(sink), checkpoints.verifying_key(tmp_path))
    assert [c.seq for c in good] == [first["checkpoint"], first["checkpoint"] + 1]
    assert not problems
    assert oct(sink.stat().st_mode & 0o777) == "0o600"


def test_no_sink_no_checkpoints(charter, tmp_path, monkeypatch):
    monkeypatch.delenv("CHARTER_AUDIT_SINK", raising=False)
    assert checkpoints.WorkerCheckpoints(tmp_path)(charter) == {}


def test_ed25519_key_from_init_and_public_half_verifies_only(tmp_path, monkeypatch):
    monkeypatch.delenv("CHARTER_AUDIT_KEY", raising=False)
    checkpoints.create_key(tmp_path)
    signed = checkpoints.sign_head(3, "a" * 64, checkpoints.signing_key(tmp_path))
    (tmp_path / "audit.key").unlink()
    public = checkpoints.verifying_key(tmp_path)  # from audit.pub
    assert cp.verify(public, signed) is None
    with pytest.raises(cp.KeyUnusable):
        public.sign(b"x")
    tampered = cp.Checkpoint(4, signed.hash, signed.at, signed.alg, signed.key_id, signed.sig)
    assert "forged or altered" in (cp.verify(public, tampered) or "")


def test_a_short_hmac_key_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("CHARTER_AUDIT_KEY", "short")
    with pytest.raises(BadInput, match="at least 16"):
        checkpoints.signing_key(tmp_path)


def test_webhook_sink_receives_and_serves_checkpoints(monkeypatch):
    monkeypatch.setenv("CHARTER_AUDIT_KEY", KEY)
    lines: list[str] = []

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            lines.append(self.rfile.read(int(self.headers["content-length"])).decode())
            self.send_response(201)
            self.end_headers()

        def do_GET(self) -> None:
            body = "\n".join(lines).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/checkpoints"
    try:
        key = checkpoints.signing_key()
        checkpoints.write(url, checkpoints.sign_head(7, "b" * 64, key))
        good, problems = checkpoints.checked(url, key)
    finally:
        server.shutdown()
        server.server_close()
    assert [c.seq for c in good] == [7] and not problems
    assert checkpoints.anchors_text(good) == f"7:{'b' * 64}"


def test_spread_keeps_the_newest_and_the_first():
    made = [cp.Checkpoint(s, "c" * 64, "t", "hmac-sha256", "k", "s") for s in range(1, 501)]
    chosen = cp.spread(made)
    assert len(chosen) <= 32 and chosen[-1].seq == 500 and chosen[0].seq == 1
    assert [c.seq for c in chosen] == sorted(c.seq for c in chosen)
