"""`bench.asgi` calls both S2 applications in-process and gets 200s (no timing assertions)."""

from __future__ import annotations

from bench import asgi


def test_asgi_measures_the_engine_and_the_raw_peer_where_present() -> None:
    result = asgi.run_all(n=20, repeat=1)
    expected = {"flowengine", "raw"} if asgi._raw_app() is not None else {"flowengine"}
    assert set(result) == expected and all(us > 0 for us in result.values())
