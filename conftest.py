"""Root test configuration. eventlet must patch the world before anything else imports."""

import eventlet

eventlet.monkey_patch()  # noqa: E402 - must run first (nameko's plugin no longer does it)

import os  # noqa: E402
import uuid  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

import pytest  # noqa: E402
import werkzeug  # noqa: E402

# Werkzeug 3 dropped __version__, which nameko's web pieces still read.
if not hasattr(werkzeug, "__version__"):
    werkzeug.__version__ = "3.1.9"

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# tmp_path and friends (SQLite files, test networks' logs) in memory when the machine has /dev/shm:
# every SQLite commit syncs to disk, and the suite commits tens of thousands of times, on disks
# other jobs share. A PYTEST_DEBUG_TEMPROOT of your own (a directory on disk, say) wins.
if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
    os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", "/dev/shm")


def pytest_addoption(parser):
    parser.addoption(
        "--postgres-url", default=POSTGRES_ADMIN_URL,
        help="PostgreSQL server used to create a throwaway database per test",
    )


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'service.db'}"


@pytest.fixture(scope="session")
def postgres_databases(request):
    """Creates throwaway databases; drops them all when the session ends.

    Dropping at the end (not per test) means no service container still running
    in a test's teardown ever finds its database gone.
    """
    import psycopg

    admin = request.config.getoption("--postgres-url")
    created: list[str] = []

    def create() -> str:
        name = f"rn_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        parts = urlsplit(admin)
        return urlunsplit(("postgresql+psycopg", parts.netloc, f"/{name}", "", ""))

    yield create
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_databases):
    """A fresh PostgreSQL database for one test."""
    return postgres_databases()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request):
    """Runs a test once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_url")
