"""Bad input to investigate, the alert rules, the store URL and the CLI.

Each test asserts the error class and that the message names the argument,
column, file or value at fault; valid input keeps its result.
"""

from __future__ import annotations

import pytest

# --------------------------------------------------------------------------
# store URLs (ST1)


def test_store_url_without_backend_names_scheme_and_pip():
    from llmdrift.store import open_store

    ibis = pytest.importorskip("ibis")
    try:
        ibis.postgres  # noqa: B018 (imports the backend's dependencies)
    except ImportError:
        pass
    else:
        pytest.skip("the postgres backend is installed here")
    with pytest.raises(ImportError) as info:
        open_store("postgres://nobody:secret@localhost:1/x")
    text = str(info.value)
    assert "'postgres'" in text
    assert "pip install 'ibis-framework[postgres]'" in text
    # the password does not reach the message
    assert "secret" not in text and "nobody:***@" in text


def test_store_url_unknown_scheme_lists_supported():
    from llmdrift.store import open_store

    with pytest.raises(ValueError) as info:
        open_store("weird://x")
    text = str(info.value)
    assert "'weird'" in text and "supported schemes" in text
    assert "duckdb" in text and "postgres" in text


def test_store_url_duckdb_still_opens(tmp_path):
    from llmdrift.store import open_store

    store = open_store(f"duckdb:///{tmp_path / 'x.duckdb'}")
    assert store.layout == "duckdb"
    store.close()
