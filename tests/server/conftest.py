"""Fixtures: one live server for the module-independent tests, a client per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.helpers import Client, LiveServer, make_settings


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(make_settings(tmp_path_factory.mktemp("server"))).start()
    yield live
    live.stop()


@pytest.fixture
def client(server: LiveServer) -> Iterator[Client]:
    with server.client() as c:
        yield c
