"""Fixtures for the console tests.

In-process tests use the real ASGI app on the test database (SQLite or PostgreSQL, see
``tests/conftest.py``). Browser tests start one real server process for the session
(uvicorn on a free loopback port, SQLite in a temporary folder, seeded through the
services) and drive Debian's ``chromium`` with Playwright: one browser per session, a
fresh browser context (so fresh cookies) per test.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

from charter.api.app import create_app
from charter.services.context import Charter
from charter.store.db import Database
from charter.store.migrate import upgrade
from tests.web.seed import Seeded, seed
from tests.web.seed_monitoring import seed_monitoring

with warnings.catch_warnings():
    # Starlette warns at import when its TestClient finds `httpx` rather than `httpx2`.
    warnings.filterwarnings(
        "ignore",
        message="Using `httpx` with `starlette.testclient` is deprecated",
        category=StarletteDeprecationWarning,
    )
    from fastapi.testclient import TestClient

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The signing key of the test servers' sessions: tests forge cookies with it (an expired
#: session, say) to prove the server checks what it signed.
SESSION_KEY = "console-tests-" + "k" * 40
REPO = Path(__file__).resolve().parents[2]
#: Pages up to this height (CSS pixels) go into the docs whole; longer ones as a screenful.
MAX_DOC_HEIGHT = 1400
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


# --- in-process ---------------------------------------------------------------------------


@pytest.fixture
def web_app(charter: Charter, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FastAPI:
    """The API + console app on the test database and fake clock."""
    monkeypatch.setenv("CHARTER_SESSION_KEY", SESSION_KEY)
    monkeypatch.setenv("CHARTER_HOME", str(tmp_path / "home"))
    return create_app(charter)


@pytest.fixture
def seeded(charter: Charter) -> Seeded:
    """The seeded portfolio on the test database."""
    return seed(charter)


@pytest.fixture
def client(web_app: FastAPI) -> Iterator[TestClient]:
    """A client without a session (server errors raise in the test)."""
    with TestClient(web_app, base_url="http://testserver") as test_client:
        yield test_client


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = CSRF_PATTERN.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: TestClient, token: str) -> str:
    """Sign a client in with an API token; return the session's CSRF token."""
    form = client.get("/signin")
    assert form.status_code == 200, form.text
    done = client.post(
        "/signin",
        data={"token": token, "csrf_token": csrf_of(form.text), "next": "/"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    return csrf_of(client.get("/").text)


@pytest.fixture
def signed_in(
    web_app: FastAPI, seeded: Seeded
) -> Iterator[Callable[[str], tuple[TestClient, str]]]:
    """``signed_in("ann")``: a client with ann's session, and its CSRF token."""
    opened: list[TestClient] = []

    def _open(user: str) -> tuple[TestClient, str]:
        client = TestClient(web_app, base_url="http://testserver")
        client.__enter__()
        opened.append(client)
        return client, sign_in(client, seeded.tokens[user])

    yield _open
    for client in opened:
        client.__exit__(None, None, None)


# --- a real server and a real browser ----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A ``uvicorn charter.api.server:app`` process on a seeded SQLite database."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.url_db = f"sqlite:///{home / 'charter.db'}"
        database = Database(self.url_db)
        upgrade(database)
        self.charter = Charter(database)
        self.seeded = seed(self.charter)
        # Windows, incidents and drills: the system page's charts and the incidents page.
        self.monitored = seed_monitoring(self.charter, self.seeded)
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
        env.update(
            CHARTER_HOME=str(home),
            CHARTER_DATABASE_URL=self.url_db,
            CHARTER_SESSION_KEY=SESSION_KEY,
        )
        self.log = (home / "server.log").open("wb")
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "charter.api.server:app"),
                *("--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"),
            ],
            env=env,
            cwd=REPO,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 90  # a loaded 2-core CI runner takes ~30 s to import
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {(self.home / 'server.log').read_text()}")
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the server did not answer within 90 s")

    def stop(self) -> None:
        """Stop the process (this one only) and close its log."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        self.charter.db.dispose()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One seeded server process for the whole browser session."""
    running = Server(tmp_path_factory.mktemp("web-server"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session (Debian's package, driven by Playwright)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: run `make install` (it installs Debian's chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    """A fresh browser context (no cookies) and page on the server."""
    context = browser.new_context(base_url=server.base, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.errors = errors
    yield tab
    context.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Any, str], Path]:
    """``shots(page, "portfolio")``: a full-page screenshot in the session's tmp folder,
    and in ``$CHARTER_SCREENSHOTS`` too when set (``scripts/screenshots.py`` sets it to
    ``docs/images``)."""
    folder = tmp_path_factory.mktemp("screenshots")
    docs = os.environ.get("CHARTER_SCREENSHOTS")

    def _shoot(tab: Any, name: str) -> Path:
        path = folder / f"{name}.png"
        tab.screenshot(path=str(path), full_page=True)
        if docs:
            # For the docs, long pages (the audit log, the API reference) stop at the
            # first screenful, to keep the images readable and the repository small.
            height = tab.evaluate("document.documentElement.scrollHeight")
            Path(docs).mkdir(parents=True, exist_ok=True)
            target = Path(docs) / f"console-{name}.png"
            tab.screenshot(path=str(target), full_page=height <= MAX_DOC_HEIGHT)
        return path

    return _shoot


def browser_sign_in(tab: Any, token: str, path: str = "/") -> None:
    """Sign in through the form, as a person would."""
    tab.goto(path)
    tab.fill("#token", token)
    tab.click("button[type=submit]")
    tab.wait_for_load_state("domcontentloaded")
