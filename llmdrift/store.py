"""Where spans, scores and contents live: a DuckDB file, Parquet files or any engine.

:func:`open_store` gives a :class:`Store`. Its ``table(name)`` is an Ibis
table, so that :func:`llmdrift.quality_series`, :func:`llmdrift.span_series`
and :func:`llmdrift.cost_by` run their aggregation on the engine holding the
data and bring back only the small result frame.

Three layouts:

- a DuckDB file (``open_store("traces.duckdb")``), the default: appends are
  transactions, so a load that dies half way leaves the file as it was;
- a folder of Parquet files (``open_store("traces/")``): one folder per table,
  one file per append, and a ``_manifest.json`` replaced atomically that
  lists the committed files (files not in it are ignored and removed);
- any Ibis backend from a connection URL (``"clickhouse://..."``,
  ``"bigquery://project/dataset"``, ``"postgres://..."``) or an Ibis
  backend object (``ibis.pyspark.connect(session)``), with ``tables=`` to
  map llmdrift's table names to existing ones.

Appending is idempotent: a span whose ``span_id`` is in the store already is
skipped (a score whose ``span_id, dimension, scorer, kind`` is), so loading
the same file twice duplicates nothing. Contents may live in another store
(``open_store("spans.duckdb", contents="private/contents.duckdb")``).

Known limits: the store keeps times to the microsecond (nanosecond
remainders of OTLP times are truncated; ``duration_ns`` stays exact). On
Spark the session time zone must be UTC (``spark.sql.session.timeZone``),
since Spark's TIMESTAMP columns are read as UTC instants. The ibis 12 /
duckdb 2.0 pair needs a one-line compatibility alias, installed when a
DuckDB store is opened (see ``_duckdb_compat``).
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
import uuid
import warnings
import weakref
from pathlib import Path

import pandas as pd

from llmdrift._args import check_finite_values
from llmdrift.schema import LlmdriftWarning, SchemaError, conform, validate

__all__ = ["Store", "open_store", "load_from_store", "TABLE_KEYS"]

TABLE_KEYS = {
    "spans": ("span_id",),
    "contents": ("span_id",),
    "scores": ("span_id", "dimension", "scorer", "kind"),
}
"""Columns that identify a row of each store table (appends skip known keys)."""

_TIME_COLUMNS = {"spans": "start_time", "scores": "time", "contents": None}
_DUCKDB_SUFFIXES = (".duckdb", ".ddb", ".db")
# test hook: "N:marker" pauses the N-th append (1-based) inside its
# transaction, after the first table is written, having touched ``marker``
_PAUSE_ENV = "LLMDRIFT_STORE_TEST_PAUSE"
_APPENDS = [0]


def _ibis():
    import ibis

    return ibis


def _is_ibis_table(obj) -> bool:
    return type(obj).__module__.startswith("ibis") and hasattr(obj, "schema")


def _is_backend(obj) -> bool:
    return type(obj).__module__.startswith("ibis.backends") and hasattr(
        obj, "list_tables"
    )


def _check_name(name) -> str:
    if name not in TABLE_KEYS:
        raise ValueError(
            f"store table {name!r} is not known; use one of {sorted(TABLE_KEYS)}."
        )
    return name


def _prepare(frame, name) -> pd.DataFrame:
    """Validated, conformed copy of one batch, duplicates of its keys dropped."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"{name}= must be a pandas DataFrame (from llmdrift.read_otlp, "
            f"from_table or a scorer), got {type(frame).__name__}."
        )
    validate(frame, name)
    out = conform(frame, name)
    keys = list(TABLE_KEYS[name])
    # nested cells (lists, dicts) do not fit a column store
    for column in out.columns:
        if out[column].dtype == object and len(out):
            sample = out[column].dropna().head(50)
            if any(isinstance(v, (list, dict, tuple)) for v in sample):
                raise SchemaError(
                    f"{name} frame: column {column!r} holds lists or dicts, which "
                    "a store cannot keep; drop it or turn it into text first."
                )
    _check_rows(out, name, keys)
    repeated = out.duplicated(keys, keep="first")
    if repeated.any():
        differing = int(repeated.sum()) - int(out.duplicated(keep="first").sum())
        if differing:
            first = out.loc[repeated, keys].iloc[0].to_dict()
            warnings.warn(
                f"{name}: {differing} row(s) repeat a ({', '.join(keys)}) of this "
                f"batch with different values (first: {first}); the first row of "
                f"each key is stored, the others are not. Keep the row you mean, "
                f"e.g. drop_duplicates({keys}, keep='last'), before appending.",
                LlmdriftWarning,
                stacklevel=4,
            )
        out = out[~repeated]
    out.attrs = {}
    return out.reset_index(drop=True)


_TIMES = {"spans": "start_time", "scores": "time"}
_FINITE = {"spans": ("duration_ms", "cost_usd"), "scores": ("value",)}


def _check_rows(out: pd.DataFrame, name: str, keys: list[str]) -> None:
    """Refuse rows a store could not key, place in time or sum.

    A missing key value cannot be matched on the next append (DuckDB and the
    Parquet layout would disagree on whether two such rows are one), a
    missing start time falls into no window, and an infinite number poisons
    every sum it enters.
    """
    for column in [*keys, _TIMES.get(name)]:
        if column is None or column not in out.columns:
            continue
        missing = out[column].isna().to_numpy()
        if missing.any():
            where = ""
            if column != "span_id" and "span_id" in out.columns:
                where = (
                    f", e.g. span_id {out['span_id'].to_numpy()[missing.argmax()]!r}"
                )
            raise SchemaError(
                f"{name} frame: column {column!r} is missing in "
                f"{int(missing.sum())} row(s) (first at row "
                f"{int(missing.argmax())}{where}); a store needs it in every row. "
                f"Fill it or drop those rows, e.g. frame.dropna(subset=[{column!r}])."
            )
    if "span_id" in keys and "span_id" in out.columns:
        # read_otlp refuses an empty span id too: no span can refer to it
        blank = (out["span_id"].astype("string").str.strip() == "").fillna(False)
        if blank.any():
            raise SchemaError(
                f"{name} frame: column 'span_id' is empty in {int(blank.sum())} "
                f"row(s) (first at row {int(blank.to_numpy().argmax())}); a span "
                "id must name the span. Give those rows their ids or drop them, "
                "e.g. frame[frame['span_id'].str.strip() != '']."
            )
    for column in _FINITE.get(name, ()):
        if column in out.columns:
            check_finite_values(out, column, f"{name} frame")


def _arrow(frame):
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = []
    for field in table.schema:
        if pa.types.is_large_string(field.type) or pa.types.is_null(field.type):
            # an all-missing column of objects has no type of its own; stored as
            # NULL it could never take a value later, so it is kept as text
            field = field.with_type(pa.string())
        elif pa.types.is_timestamp(field.type):
            # microseconds: the timestamp type every engine and Ibis read
            field = field.with_type(pa.timestamp("us", tz="UTC"))
        fields.append(field)
    # safe=False: a nanosecond remainder is truncated, not an error
    return table.cast(pa.schema(fields), safe=False)


def _pause_hook() -> None:
    spec = os.environ.get(_PAUSE_ENV)
    if not spec:
        return
    number, _, marker = spec.partition(":")
    if _APPENDS[0] == int(number):
        Path(marker).touch()
        time.sleep(600)


class Store:
    """Spans, scores and contents kept in one place and read as Ibis tables.

    Build one with :func:`open_store`. Tables are ``"spans"``, ``"scores"``
    and ``"contents"`` (the frames of :mod:`llmdrift.schema`).

    Parameters
    ----------
    backend : ibis backend
        Where the tables live (a DuckDB connection for the file and Parquet
        layouts).
    layout : {"duckdb", "parquet", "ibis"}
    location : str
        The path or URL, for messages.
    tables : dict, optional
        llmdrift table name -> table name in the backend.
    contents : Store, optional
        A separate store for ``contents``.
    folder : pathlib.Path, optional
        The folder of the Parquet layout.
    """

    def __init__(
        self, backend, *, layout, location, tables=None, contents=None, folder=None
    ):
        self.backend = backend
        self.layout = layout
        self.location = location
        self.names = {name: name for name in TABLE_KEYS}
        self.names.update(tables or {})
        self.contents_store = contents
        self.folder = folder

    def __repr__(self) -> str:
        extra = (
            f", contents={self.contents_store.location!r}"
            if self.contents_store
            else ""
        )
        return f"Store({self.layout}: {self.location!r}{extra})"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        """Close the connection (and that of a separate contents store)."""
        if self.contents_store is not None:
            self.contents_store.close()
        disconnect = getattr(self.backend, "disconnect", None)
        if disconnect is not None:
            disconnect()
        self.closed = True

    def _check_open(self) -> None:
        if getattr(self, "closed", False):
            raise ValueError(
                f"store {self.location} is closed; open it again with "
                f"open_store({self.location!r})."
            )

    # -- reading ---------------------------------------------------------------

    def _manifest(self) -> dict:
        path = self.folder / "_manifest.json"
        if not path.exists():
            return {name: [] for name in TABLE_KEYS}
        return json.loads(path.read_text())

    def has_table(self, name) -> bool:
        """Whether ``name`` holds data (a table exists / files are committed)."""
        self._check_open()
        name = _check_name(name)
        if name == "contents" and self.contents_store is not None:
            return self.contents_store.has_table(name)
        if self.layout == "parquet":
            return bool(self._manifest().get(name))
        if self.layout == "duckdb":
            return self.names[name] in _duckdb_tables(self.backend)
        return self.names[name] in self.backend.list_tables()

    def table(self, name):
        """The table ``name`` ("spans", "scores" or "contents") as an Ibis table.

        Raises ValueError when the store holds no such table yet.
        """
        self._check_open()
        name = _check_name(name)
        if name == "contents" and self.contents_store is not None:
            return self.contents_store.table(name)
        if not self.has_table(name):
            raise ValueError(
                f"store {self.location!r} has no {name!r} table yet; add rows with "
                f"store.append({name}=frame) or `llmdrift ingest FILES --store ...`."
            )
        if self.layout == "parquet":
            files = [str(self.folder / f) for f in self._manifest()[name]]
            return self.backend.read_parquet(files, union_by_name=True)
        table = self.backend.table(self.names[name])
        if self.backend.name == "pyspark":
            table = _spark_times_utc(table)
        return table

    def count(self, table) -> int:
        """Number of rows of ``table``; 0 when it does not exist yet."""
        if not self.has_table(table):
            return 0
        return int(self.table(table).count().to_pyarrow().as_py())

    # -- writing ---------------------------------------------------------------

    def append(self, spans=None, scores=None, contents=None) -> dict:
        """Add rows, skipping those whose key is already stored.

        Parameters
        ----------
        spans, scores, contents : pandas.DataFrame, optional
            Frames meeting the :mod:`llmdrift.schema` contracts (spans from
            :func:`llmdrift.read_otlp` or :func:`llmdrift.from_table`).
            Keys: ``span_id`` for spans and contents; ``span_id, dimension,
            scorer, kind`` for scores. Within a batch the first row of a key
            wins; a key already in the store is skipped (the stored row is
            kept, never overwritten). A corrected row under a stored key is
            skipped too, without a warning: compare the returned count with
            the rows given, and to change stored scores store them under a
            new ``scorer`` name (e.g. "judge-v2"), which is a new key.

        Returns
        -------
        dict
            table name -> rows added.

        Notes
        -----
        On the DuckDB layout the whole call is one transaction; on the Parquet
        layout the new files become visible together when the manifest is
        replaced. Either way an interrupted call leaves the store as it was.
        On other Ibis backends each table is one insert statement, and a call
        interrupted between two tables leaves the first one loaded; running
        it again completes it (appends are idempotent). Contents kept in a
        separate store are written there first, in their own transaction.

        Known shortcoming: appending an empty frame creates the (empty) table
        on the DuckDB layout but writes nothing in the Parquet layout, so a
        later ``cost_by(store)`` returns an empty frame on one and raises "no
        'spans' table yet" on the other; append at least one row first.
        """
        self._check_open()
        if getattr(self, "read_only", False):
            raise ValueError(
                f"store {self.location} was opened read-only; open it with "
                "open_store(path) to append."
            )
        batches = {
            name: _prepare(frame, name)
            for name, frame in (
                ("spans", spans),
                ("scores", scores),
                ("contents", contents),
            )
            if frame is not None
        }
        added = {name: 0 for name in batches}
        if "contents" in batches and self.contents_store is not None:
            added.update(self.contents_store.append(contents=contents))
            del batches["contents"]
        if not batches:
            return added
        _APPENDS[0] += 1
        writer = {
            "duckdb": self._append_duckdb,
            "parquet": self._append_parquet,
            "ibis": self._append_ibis,
        }[self.layout]
        added.update(writer(batches))
        return added

    def _append_duckdb(self, batches: dict) -> dict:
        raw = self.backend.con
        added = {}
        raw.begin()
        try:
            for i, (name, frame) in enumerate(batches.items()):
                target = _quote(self.names[name])
                raw.register("_llmdrift_batch", _arrow(frame))
                _run(
                    raw,
                    f"CREATE TABLE IF NOT EXISTS {target} AS "
                    "SELECT * FROM _llmdrift_batch LIMIT 0",
                )
                have = {
                    row[0]: row[1]
                    for row in raw.execute(f"DESCRIBE {target}").fetchall()
                }
                _check_column_types(raw, have, name)
                for column, kind in list(have.items()):
                    if kind.strip('"') == "NULL":
                        batch = dict(
                            r[:2]
                            for r in raw.execute("DESCRIBE _llmdrift_batch").fetchall()
                        )
                        if column in batch and batch[column].strip('"') != "NULL":
                            _run(
                                raw,
                                f"ALTER TABLE {target} ALTER {_quote(column)} "
                                f"TYPE {batch[column]}",
                            )
                for column, kind, *_ in raw.execute(
                    "DESCRIBE _llmdrift_batch"
                ).fetchall():
                    if column not in have:
                        _run(
                            raw,
                            f"ALTER TABLE {target} ADD COLUMN {_quote(column)} {kind}",
                        )
                match = " AND ".join(
                    f"s.{_quote(k)} IS NOT DISTINCT FROM b.{_quote(k)}"
                    for k in TABLE_KEYS[name]
                )
                before = _run(raw, f"SELECT count(*) FROM {target}")[0][0]
                _run(
                    raw,
                    f"INSERT INTO {target} BY NAME SELECT * FROM _llmdrift_batch b "
                    f"WHERE NOT EXISTS (SELECT 1 FROM {target} s WHERE {match})",
                )
                after = _run(raw, f"SELECT count(*) FROM {target}")[0][0]
                raw.unregister("_llmdrift_batch")
                added[name] = int(after - before)
                if i == 0:
                    _pause_hook()
            raw.commit()
        except BaseException:
            raw.rollback()
            raise
        return added

    def _append_parquet(self, batches: dict) -> dict:
        import pyarrow.parquet as pq

        manifest = self._manifest()
        # files of an interrupted append are not in the manifest: remove them
        listed = {f for files in manifest.values() for f in files}
        for path in self.folder.glob("*/*.parquet*"):
            if str(path.relative_to(self.folder)) not in listed:
                path.unlink()
        added = {}
        raw = self.backend.con
        for i, (name, frame) in enumerate(batches.items()):
            raw.register("_llmdrift_batch", _arrow(frame))
            files = [str(self.folder / f) for f in manifest.get(name, [])]
            if files:
                keys = ", ".join(_quote(k) for k in TABLE_KEYS[name])
                listing = ", ".join(_sql_string(f) for f in files)
                stored = raw.execute(
                    f"DESCRIBE SELECT * FROM read_parquet([{listing}], "
                    "union_by_name = true)"
                ).fetchall()
                _check_column_types(raw, {r[0]: r[1] for r in stored}, name)
                new = raw.sql(
                    f"SELECT * FROM _llmdrift_batch b ANTI JOIN "
                    f"(SELECT DISTINCT {keys} FROM read_parquet([{listing}], "
                    f"union_by_name = true)) s USING ({keys})"
                ).to_arrow_table()
            else:
                new = _arrow(frame)
            raw.unregister("_llmdrift_batch")
            added[name] = new.num_rows
            if new.num_rows:
                relative = f"{name}/part-{uuid.uuid4().hex}.parquet"
                (self.folder / name).mkdir(parents=True, exist_ok=True)
                pq.write_table(new, self.folder / relative)
                manifest.setdefault(name, []).append(relative)
            if i == 0:
                _pause_hook()
        tmp = self.folder / f"_manifest.{uuid.uuid4().hex}.tmp"
        tmp.write_text(json.dumps(manifest, indent=1))
        os.replace(tmp, self.folder / "_manifest.json")
        return added

    def _append_ibis(self, batches: dict) -> dict:
        ibis = _ibis()
        added = {}
        for i, (name, frame) in enumerate(batches.items()):
            target = self.names[name]
            batch = ibis.memtable(_arrow(frame))
            if target not in self.backend.list_tables():
                self.backend.create_table(target, batch)
                added[name] = len(frame)
            else:
                stored = self.backend.table(target)
                keys = list(TABLE_KEYS[name])
                new = batch.anti_join(stored.select(*keys).distinct(), keys)
                n_new = int(new.count().to_pyarrow().as_py())
                if n_new:
                    self.backend.insert(target, new.select(*stored.columns))
                added[name] = n_new
            if i == 0:
                _pause_hook()
        return added


def _spark_times_utc(table):
    """Spark TIMESTAMP columns typed as UTC instants.

    Spark's TIMESTAMP is an instant, shown in the session time zone; Ibis
    types it without a zone. llmdrift needs the session zone to be UTC
    (``spark.sql.session.timeZone=UTC``) and then reads such a column as
    UTC.
    """
    import ibis.expr.datatypes as dt

    naive = {
        name: table[name].cast(dt.Timestamp(timezone="UTC"))
        for name, kind in table.schema().items()
        if kind.is_timestamp() and kind.timezone is None
    }
    return table.mutate(**naive) if naive else table


def _check_column_types(raw, stored: dict, table: str) -> None:
    """Refuse new rows whose values do not fit a stored column's type.

    ``stored`` maps the table's column names to their DuckDB types; the new
    rows are the registered ``_llmdrift_batch``. A column stored as BIGINT
    that now arrives as text ("x") would fail the insert with DuckDB's
    conversion error; this names the table, column, both types and a value.
    A value must also come back unchanged from the stored type: 1.7 into a
    BIGINT column (stored as 2) or 5 into a BOOLEAN one (stored as true) is
    refused, not rounded. Values that convert exactly (text "3" into BIGINT,
    3 into DOUBLE) are let through, as DuckDB would cast them.
    """
    for column, kind, *_ in raw.execute("DESCRIBE _llmdrift_batch").fetchall():
        want = stored.get(column)
        if want is None or want == kind or want.strip('"') == "NULL":
            # a NULL-typed column (written by an older llmdrift) holds no value
            continue
        name = _quote(column)
        bad = raw.execute(
            f"SELECT {name}::VARCHAR FROM _llmdrift_batch WHERE {name} IS NOT NULL "
            f"AND TRY_CAST(TRY_CAST({name} AS {want}) AS {kind}) "
            f"IS DISTINCT FROM {name} LIMIT 1"
        ).fetchall()
        if bad:
            raise ValueError(
                f"store table {table!r}: column {column!r} is stored as {want}, "
                f"but the new rows hold {kind} values that do not convert to it "
                f"without change (e.g. {bad[0][0]!r}); nothing was appended. "
                f"Convert the column to the stored type before appending, or give "
                f"it another name."
            )


def _run(raw, sql: str) -> list:
    """Execute one statement on a DuckDB connection and fetch its result."""
    return raw.execute(sql).fetchall()


def _quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _sql_string(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _duckdb_compat() -> None:
    """Let ibis 12's DuckDB backend run on duckdb 2.0.

    ibis 12.0 calls ``fetch_arrow_table`` on a DuckDB connection to list
    tables and read schemas; duckdb 2.0 renamed it ``to_arrow_table``. The
    old name is added back as an alias (only when it is missing).
    """
    import duckdb

    cls = duckdb.DuckDBPyConnection
    if not hasattr(cls, "fetch_arrow_table") and hasattr(cls, "to_arrow_table"):
        cls.fetch_arrow_table = cls.to_arrow_table


def _duckdb_tables(backend) -> set:
    rows = _run(backend.con, "SELECT table_name FROM information_schema.tables")
    return {row[0] for row in rows}


def _duckdb_backend(path=None, *, read_only=False):
    _duckdb_compat()
    try:
        if read_only:
            backend = _ibis().duckdb.connect(str(path), read_only=True)
        else:
            backend = _ibis().duckdb.connect(str(path) if path else ":memory:")
    except Exception as exc:
        if path is None or type(exc).__name__ != "IOException":
            raise
        if "lock" in str(exc).lower():
            raise ValueError(
                f"{path} is open in another process ({exc}). Close the store there "
                "(store.close(), or end that notebook's kernel) and run again; for "
                "readers and writers at the same time use a Parquet folder store."
            ) from exc
        raise ValueError(
            f"{path} could not be opened as a DuckDB database ({exc}). Give a new "
            "path (the store is created there), a valid DuckDB file, or a folder "
            "for Parquet files."
        ) from exc
    # results in UTC whatever the machine's zone
    _run(backend.con, "SET TimeZone = 'UTC'")
    return backend


# DuckDB's working memory for a store llmdrift opens itself. DuckDB's own
# default is 80% of the machine's RAM, which lets a group-by over every trace
# id of a large store grow to many GiB; with a limit it spills to disk
# instead, and the process's peak stays near the limit plus ~230 MiB of
# Python, pandas and Ibis. Measured on the daily cost rollup of 10M spans
# (benchmarks/scale.py): 256MB ran out of memory, 320MB peaked at 599 MiB,
# 400MB at 672 MiB, 512MB at 781 MiB, 1GB at 1,255 MiB, all within 20% of the
# same time. Some work does not spill far enough: grouping 100M distinct
# trace ids ran out of memory at 400MB and at 700MB. A query that runs out
# is therefore run again with twice the limit, up to MEMORY_CEILING, and a
# warning says which limit to open the store with next time.
DEFAULT_MEMORY_LIMIT = "400MB"
_MEMORY_LIMIT = re.compile(
    r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.I
)


_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def _memory_bytes(text: str) -> int:
    """Bytes of a DuckDB size such as ``"400MB"`` (10**6) or ``"2GiB"`` (2**30)."""
    match = _MEMORY_LIMIT.match(text)
    number = float(text[: match.start(2)].strip())
    return int(number * _UNITS[match.group(2).lower()])


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _memory_ceiling() -> int:
    """The largest limit an out-of-memory retry may reach: 4 GiB or 1/4 of RAM."""
    ram = _physical_memory()
    return max(2**30, min(4 * 2**30, ram // 4)) if ram else 4 * 2**30


def _check_memory_limit(memory_limit) -> None:
    if memory_limit is None:
        return
    if not isinstance(memory_limit, str) or not _MEMORY_LIMIT.match(memory_limit):
        raise ValueError(
            f"memory_limit={memory_limit!r} is not a size DuckDB understands; give "
            "text such as '512MB' or '4GB', or None for DuckDB's default (80% of RAM)."
        )
    if _memory_bytes(memory_limit) < 10**6:
        raise ValueError(
            f"memory_limit={memory_limit!r} is below 1MB, too little for any query; "
            "give e.g. '400MB' (the default) or more."
        )


def _limit_duckdb(backend, memory_limit, spill=None) -> None:
    """Apply ``memory_limit`` (and a spill folder) to a DuckDB backend we opened."""
    if memory_limit is None:
        return
    _check_memory_limit(memory_limit)
    _run(backend.con, f"SET memory_limit = '{memory_limit.strip()}'")
    if spill is not None:
        _run(backend.con, f"SET temp_directory = {_sql_string(str(spill))}")
    _retry_out_of_memory(backend, _memory_bytes(memory_limit))


def _is_out_of_memory(exc: BaseException) -> bool:
    return type(exc).__name__ == "OutOfMemoryException" or (
        "Out of Memory Error" in str(exc)
    )


def _retry_out_of_memory(backend, limit: int) -> None:
    """Run a query that exhausts DuckDB's memory_limit again with twice the limit.

    Patches this backend's result methods (the ones llmdrift and Ibis
    expressions call) so that a read which runs out of memory is repeated
    with the limit doubled, up to :func:`_memory_ceiling`; the raised limit
    stays for the rest of the session and a warning names it. Reads only:
    an append that runs out of memory fails (its transaction is rolled back).
    """
    state = {"limit": limit, "ceiling": max(limit, _memory_ceiling())}
    # the wrappers live on the backend, so they hold it only weakly: a strong
    # reference would make a cycle that keeps the DuckDB file open (and
    # locked) after the store is dropped, until the garbage collector runs
    owner = weakref.ref(backend)

    def retrying(function):
        @functools.wraps(function)
        def run(*args, **kwargs):
            this = owner()
            first = state["limit"]
            while True:
                try:
                    result = function(this, *args, **kwargs)
                    break
                except Exception as exc:
                    if not _is_out_of_memory(exc):
                        raise
                    if state["limit"] >= state["ceiling"]:
                        raise MemoryError(
                            "A query on this store needs more memory than "
                            f"{_format_bytes(state['limit'])}, the most llmdrift "
                            "tries on its own. Open the store with a larger "
                            "limit, e.g. open_store(..., memory_limit='8GB'), or "
                            "aggregate fewer distinct groups at once."
                        ) from exc
                    state["limit"] = min(2 * state["limit"], state["ceiling"])
                    _run(this.con, f"SET memory_limit = '{state['limit']}B'")
            if state["limit"] > first:
                needed = _format_bytes(state["limit"])
                warnings.warn(
                    f"a query ran out of DuckDB's {_format_bytes(first)} memory "
                    f"limit and ran again with {needed}, which the store keeps "
                    f"from now on; open it with memory_limit='{needed}' to skip "
                    "the failed attempts.",
                    LlmdriftWarning,
                    stacklevel=2,
                )
            return result

        return run

    for name in ("to_pyarrow", "to_pyarrow_batches", "execute", "to_pandas"):
        function = getattr(type(backend), name, None)
        if function is not None:
            setattr(backend, name, retrying(function))


def _format_bytes(n: int) -> str:
    for unit, size in (("GB", 10**9), ("MB", 10**6)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n}B"


# Ibis backends ibis.connect() reaches by URL scheme; used when the installed
# ibis cannot list its backend entry points
_FALLBACK_SCHEMES = ("bigquery", "clickhouse", "duckdb", "mysql", "postgres", "sqlite")


def _url_schemes() -> list[str]:
    """URL schemes :func:`ibis.connect` knows (its backends, installed or not)."""
    from importlib.metadata import entry_points

    names = {entry.name for entry in entry_points(group="ibis.backends")}
    return sorted(names or _FALLBACK_SCHEMES)


def _redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (messages reach logs)."""
    return re.sub(r"(://[^/:@]*:)[^/]*@", r"\1***@", url)


def _connect_url(url: str):
    """``ibis.connect(url)`` with errors that name the scheme and the fix."""
    import urllib.parse

    scheme = urllib.parse.urlparse(url).scheme.lower()
    # ibis reads postgresql:// as postgres://
    backend_name = scheme.replace("postgresql", "postgres")
    supported = _url_schemes()
    if backend_name not in supported and backend_name != "file":
        raise ValueError(
            f"store URL {_redact(url)!r}: unknown scheme {scheme!r}; supported "
            f"schemes: {', '.join(supported)} (e.g. 'duckdb:///traces.duckdb'), "
            "or give a .duckdb path or a folder for Parquet files."
        )
    try:
        return _ibis().connect(url)
    except ImportError as exc:
        raise ImportError(
            f"store URL {_redact(url)!r}: the Ibis backend for scheme "
            f"{scheme!r} is not installed; install it with: pip install "
            f"'ibis-framework[{backend_name}]'"
        ) from exc


def open_store(
    path_or_url,
    *,
    contents=None,
    tables=None,
    memory_limit=DEFAULT_MEMORY_LIMIT,
    read_only=False,
) -> Store:
    """Open (or create) a span store.

    Parameters
    ----------
    path_or_url : str, path, ibis backend or Store
        - a path ending ``.duckdb``, ``.ddb`` or ``.db``: a DuckDB file
          (created if absent);
        - any other path (an existing folder or a new one): a folder of
          Parquet files;
        - a URL with ``://`` (``"duckdb:///x.duckdb"``, ``"postgres://..."``,
          ``"clickhouse://..."``, ``"bigquery://project/dataset"``): that Ibis
          backend, opened with :func:`ibis.connect`;
        - an Ibis backend object (``ibis.pyspark.connect(session)``);
        - a :class:`Store`, returned as it is.
    contents : same kinds, optional
        A separate store for the ``contents`` table (prompts and answers may
        hold personal data and are often kept apart).
    tables : dict, optional
        Names of existing tables in the backend, e.g. ``{"spans":
        "otel.llm_spans"}``; by default ``spans``, ``scores``,
        ``contents``.
    memory_limit : str or None, default ``"400MB"``
        DuckDB's working memory for queries on a store llmdrift opens itself
        (a path or a ``duckdb://`` URL; a backend object you pass keeps its
        own settings). Beyond it DuckDB spills to disk: beside the DuckDB
        file (``<file>.tmp``) or in ``<folder>/.spill`` for a Parquet folder.
        The default keeps a daily rollup of 10M spans near 0.7 GiB for the
        whole process (``benchmarks/scale.py``). A read that runs out of
        memory anyway (some work, such as grouping 100M distinct trace ids,
        does not spill far enough) is run again with twice the limit, up to
        4 GiB or a quarter of the RAM, with a warning naming the limit to
        open the store with next time; past that it raises MemoryError.
        ``None`` leaves DuckDB's default, 80% of RAM, and no retries.

    read_only : bool, default False
        Open a path's store for reading only: it must exist, ``append``
        refuses, and on a DuckDB file several processes can read at once (a
        writer holds the file alone). ``llmdrift alerts`` and ``report`` open
        stores this way.

    Returns
    -------
    Store
        ``table(name)`` (Ibis), ``append(spans=, scores=, contents=)``,
        ``count(name)``, ``has_table(name)``, ``close()``.

    Raises
    ------
    ValueError
        For a path that is an existing file of another kind, a URL whose
        scheme names no Ibis backend (the message lists the supported
        schemes), or an unknown table name in ``tables``.
    ImportError
        For a URL whose Ibis backend is not installed; the message names the
        scheme and the ``pip install 'ibis-framework[<scheme>]'`` command.

    Notes
    -----
    Known shortcoming: the store's speed over reading into pandas depends on
    free cores. DuckDB runs each query on every core; at 10M spans on two
    cores it was 1.29-1.37x faster than pandas on a quiet machine, 1.21x with both
    cores busy, and in an earlier version 0.85x (slower) beside a test suite
    (``benchmarks/results/scale.md``). Its memory advantage (3.4x) held each
    time. On a shared machine, compare on your own load before relying on the
    speed.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> spans = pd.DataFrame({"trace_id": ["t1", "t1"], "span_id": ["a", "b"],
    ...     "start_time": pd.to_datetime(["2026-03-01 10:00", "2026-03-01 11:00"], utc=True),
    ...     "duration_ms": [120.0, 80.0], "service": "chat", "request_model": "m"})
    >>> folder = tempfile.mkdtemp()
    >>> store = open_store(f"{folder}/traces.duckdb")
    >>> store.append(spans=spans)
    {'spans': 2}
    >>> store.append(spans=spans)  # the same rows again: nothing added
    {'spans': 0}
    >>> store.count("spans")
    2
    >>> store.close()
    """
    _check_memory_limit(memory_limit)
    if isinstance(path_or_url, Store):
        store = path_or_url
    elif _is_backend(path_or_url):
        layout = "duckdb" if path_or_url.name == "duckdb" else "ibis"
        if layout == "duckdb":
            _duckdb_compat()
        store = Store(path_or_url, layout=layout, location=repr(path_or_url))
    elif isinstance(path_or_url, str) and "://" in path_or_url:
        backend = _connect_url(path_or_url)
        layout = "duckdb" if backend.name == "duckdb" else "ibis"
        if layout == "duckdb":
            _duckdb_compat()
            _run(backend.con, "SET TimeZone = 'UTC'")
            _limit_duckdb(backend, memory_limit)
        store = Store(backend, layout=layout, location=path_or_url)
    elif isinstance(path_or_url, (str, os.PathLike)):
        path = Path(path_or_url)
        if read_only and not path.exists():
            raise ValueError(
                f"no store at {path} to read; load one first with "
                f"`llmdrift ingest FILES --store {path}` or open_store(path).append()."
            )
        if path.suffix.lower() in _DUCKDB_SUFFIXES:
            path.parent.mkdir(parents=True, exist_ok=True)
            backend = _duckdb_backend(path, read_only=read_only)
            _limit_duckdb(backend, memory_limit)
            store = Store(backend, layout="duckdb", location=str(path))
        elif path.exists() and not path.is_dir():
            raise ValueError(
                f"{path} is a file but not a DuckDB file (.duckdb, .ddb, .db); give "
                "a .duckdb path, a folder for Parquet files, or a connection URL."
            )
        else:
            path.mkdir(parents=True, exist_ok=True)
            backend = _duckdb_backend()
            _limit_duckdb(backend, memory_limit, spill=path / ".spill")
            store = Store(backend, layout="parquet", location=str(path), folder=path)
    else:
        raise TypeError(
            "open_store needs a path, a connection URL, an Ibis backend or a Store; "
            f"got {type(path_or_url).__name__}."
        )
    if tables:
        unknown = set(tables) - set(TABLE_KEYS)
        if unknown:
            raise ValueError(
                f"tables= names unknown store tables {sorted(unknown)}; use "
                f"{sorted(TABLE_KEYS)}."
            )
        store.names.update(tables)
    if contents is not None:
        store.contents_store = open_store(
            contents, memory_limit=memory_limit, read_only=read_only
        )
    store.read_only = bool(read_only) or getattr(store, "read_only", False)
    return store


def resolve_table(obj, name, *, columns=None):
    """An Ibis table and the backend to run it on, from a Store, a table or a frame.

    ``obj`` may be a :class:`Store` (its table ``name``), an Ibis table (run
    on its own backend) or a pandas frame (only ``columns`` of it, when
    given, as an in-memory table through Arrow, nanosecond UTC times kept,
    run on a private in-process DuckDB whose session zone is UTC). Returns
    ``(table, backend)``.
    """
    if isinstance(obj, Store):
        table = obj.table(name)
        return table, obj.table(name).get_backend()
    if _is_ibis_table(obj):
        try:
            backend = obj.get_backend()
        except Exception:  # an unbound memtable
            backend = _local_backend()
        return obj, backend
    import pyarrow as pa

    frame = obj if columns is None else obj[list(columns)]
    table = _ibis().memtable(pa.Table.from_pandas(frame, preserve_index=False))
    return table, _local_backend()


_LOCAL = []


def _local_backend():
    """A process-wide in-memory DuckDB (UTC session) for pandas input."""
    if not _LOCAL:
        _LOCAL.append(_duckdb_backend())
    return _LOCAL[0]


def execute(expr, backend) -> pd.DataFrame:
    """Run ``expr`` on ``backend``; the result as pandas, through Arrow.

    Integers and booleans come back as pandas' nullable types: Arrow's
    default turns an int64 column holding a null into float64, which rounds
    ids beyond 2**53 together.
    """
    import pyarrow as pa

    exact = {
        pa.int8(): pd.Int8Dtype(),
        pa.int16(): pd.Int16Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(),
        pa.uint8(): pd.UInt8Dtype(),
        pa.uint16(): pd.UInt16Dtype(),
        pa.uint32(): pd.UInt32Dtype(),
        pa.uint64(): pd.UInt64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
    }
    return backend.to_pyarrow(expr).to_pandas(types_mapper=exact.get)


def _restore_dtypes(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Give columns back the contract's nullable dtypes after an engine round trip.

    Engines hand a BIGINT column with NULLs back as float64 and a BOOLEAN one
    with NULLs as object; the contract wants ``Int64`` and ``boolean`` (with
    ``<NA>`` for missing), so they are converted here, exactly (an integer
    column only ever held whole numbers).
    """
    from llmdrift.schema import _columns

    if name not in ("spans", "contents", "scores", "deployments"):
        return frame
    for col in _columns(name):
        if col.name not in frame.columns:
            continue
        values = frame[col.name]
        if col.dtype == "Int64" and values.dtype != "Int64":
            frame[col.name] = pd.array(
                pd.to_numeric(values, errors="raise"), dtype="Int64"
            )
        elif col.dtype == "boolean" and values.dtype != "boolean":
            frame[col.name] = values.astype("boolean")
    return frame


def _time_bound(value, name: str):
    """``start``/``end`` of a store read as a UTC Timestamp (None stays None)."""
    if value is None:
        return None
    try:
        bound = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be a time such as pd.Timestamp('2026-03-01', tz='UTC'); "
            f"got {value!r}."
        ) from exc
    if bound is pd.NaT:
        raise ValueError(f"{name} is NaT; give a time or None.")
    if bound.tzinfo is None:
        raise ValueError(
            f"{name} must be tz-aware, got {bound!r}; e.g. "
            f"pd.Timestamp({str(bound)!r}, tz='UTC')."
        )
    return bound.tz_convert("UTC")


def load_from_store(
    store, *, tables=("spans", "scores"), start=None, end=None, columns=None
) -> dict:
    """Read store tables into pandas frames, limited to a time range.

    For analysis commands that need whole frames (alerts, reports); the
    aggregations (:func:`llmdrift.quality_series`, :func:`llmdrift.cost_by`)
    take the store itself and bring back only their small result.

    Parameters
    ----------
    store : Store, path or URL
        Anything :func:`open_store` accepts.
    tables : sequence of str, default=("spans", "scores")
        Tables to read; one missing from the store comes back empty (typed).
    start, end : tz-aware timestamps, optional
        Keep rows with ``start <= time < end`` (``start_time`` for spans,
        ``time`` for scores; contents are not filtered).
    columns : dict, optional
        table name -> columns to read (default all).

    Returns
    -------
    dict
        table name -> pandas.DataFrame (RangeIndex, UTC times).

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> spans = pd.DataFrame({"trace_id": ["t1"], "span_id": ["a"],
    ...     "start_time": pd.to_datetime(["2026-03-01 10:00"], utc=True),
    ...     "duration_ms": [120.0], "service": "chat", "request_model": "m"})
    >>> store = open_store(tempfile.mkdtemp() + "/s.duckdb")
    >>> _ = store.append(spans=spans)
    >>> frames = load_from_store(store)
    >>> len(frames["spans"]), len(frames["scores"])
    (1, 0)
    """
    from llmdrift.schema import empty

    if isinstance(tables, str):
        tables = (tables,)
    bounds = {"start": _time_bound(start, "start"), "end": _time_bound(end, "end")}
    if bounds["start"] is not None and bounds["end"] is not None:
        if bounds["start"] >= bounds["end"]:
            raise ValueError(
                f"start ({bounds['start']}) must be before end ({bounds['end']})."
            )
    store = open_store(store)
    out = {}
    for name in tables:
        name = _check_name(name)
        if not store.has_table(name):
            out[name] = empty(name)
            continue
        t = store.table(name)
        time_column = _TIME_COLUMNS[name]
        for keep, bound in bounds.items():
            if bound is None or time_column is None:
                continue
            value = bound.to_pydatetime()
            column = t[time_column]
            t = t.filter(column >= value if keep == "start" else column < value)
        if columns and name in columns:
            wanted = (
                [columns[name]] if isinstance(columns[name], str) else columns[name]
            )
            missing = [c for c in wanted if c not in t.columns]
            if missing:
                raise SchemaError(
                    f"store table {name!r} has no column(s) {missing}; it has "
                    f"{list(t.columns)}."
                )
            t = t.select(*wanted)
        holder = store
        if name == "contents" and getattr(store, "contents_store", None) is not None:
            holder = store.contents_store  # texts kept in their own store
        frame = _restore_dtypes(execute(t, holder.backend), name)
        if not (columns and name in columns):
            frame = conform(frame, name)
        for column in frame.columns:
            if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
                frame[column] = (
                    frame[column].dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
                )
        out[name] = frame
    return out
