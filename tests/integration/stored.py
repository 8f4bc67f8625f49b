"""What a service's database holds, read as raw text: for tests that prove personal data is stored sealed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from services.kit.db import make_engine


def raw_database_text(url: str) -> str:
    """Everything the database keeps, as stored: the SQLite file bytes (and its WAL), or every row of
    every PostgreSQL table cast to text."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        files = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
        return "".join(p.read_bytes().decode("latin-1") for p in files)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return "\n".join(
                row[0] for name in inspect(conn).get_table_names()
                for row in conn.execute(text(f'SELECT CAST(t AS text) FROM "{name}" t'))
            )
    finally:
        engine.dispose()
