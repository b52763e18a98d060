"""Where sweeps live: Optuna's journal file under the runs folder (one machine, many worker processes),
or a database URL such as PostgreSQL (many machines); opened with one-line errors, passwords hidden."""

from __future__ import annotations

import logging
import os
import re
import warnings
from pathlib import Path
from typing import Optional

STORAGE_ENV = "NETLIB_OPTUNA_STORAGE"
HEARTBEAT_ENV = "NETLIB_SWEEP_HEARTBEAT_S"
HEARTBEAT_ATTR = "netlib_heartbeat_s"  # the study's interval, set when it is created: workers and reapers agree
JOURNAL = Path(".sweeps") / "journal.log"  # under the runs folder
DEFAULT_HEARTBEAT_S = 10  # a database worker's sign of life
GRACE_BEATS = 3  # its trial fails after this many missed beats
MAX_RETRY = 1  # a trial whose worker was lost runs once more (a trial that fails on its own does not)
CONNECT_TIMEOUT_S = 5
_DB_SCHEMES = ("postgresql", "postgres", "sqlite", "mysql")


class StorageError(RuntimeError):
    """A sweep storage that cannot be used (unreachable, wrong password, not a storage): one line, exit 1."""


def quiet_optuna() -> None:
    """Optuna's own log lines and experimental-feature warnings stay off the command line and the page."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message=".*[Hh]eartbeat.*")


def storage_url(given: Optional[str]) -> Optional[str]:
    """--storage, else $NETLIB_OPTUNA_STORAGE, else None (the journal file under the runs folder). A
    relative SQLite path is made absolute here: the workers this process starts may run elsewhere."""
    url = given or os.environ.get(STORAGE_ENV) or None
    if url and url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        url = "sqlite:///" + os.path.abspath(url[len("sqlite:///"):])
    return url


# a URL's user info: the password runs from the ':' after the user name to the LAST '@' of the text (a
# password may hold spaces, '@', ':', '/', '#', line breaks; over-hiding is the safe side); SQLAlchemy's own
# parse takes a user name as anything up to a ':' or '/' (an '@' included), and so does this
_USER_PASSWORD = re.compile(r"(\w://[^:/\r\n]*:).*@", re.DOTALL)
# a password given in the query: its value runs to the next '&' or the line's end, spaces and '#' included
_QUERY_PASSWORD = re.compile(r"([?&][^=&\s]*pass[^=&\s]*=)[^&\r\n]*", re.IGNORECASE)


def hide_password(url: str) -> str:
    """The URL (or a message holding one) as it may be shown: 'postgresql://sweeps:***@db/lab', with a
    password in its query hidden too. No parsing that a malformed URL could fail: a pattern."""
    return _QUERY_PASSWORD.sub(r"\1***", _USER_PASSWORD.sub(r"\1***@", str(url)))


def describe(url: Optional[str], runs_dir: Path) -> str:
    """Where the sweeps are, in words for a page or a command's output."""
    return hide_password(url) if url else f"the file {Path(runs_dir) / JOURNAL}"


def heartbeat_s() -> int:
    """The heartbeat interval a new sweep records: $NETLIB_SWEEP_HEARTBEAT_S, else 10 s."""
    try:
        value = int(os.environ.get(HEARTBEAT_ENV, ""))
    except ValueError:
        return DEFAULT_HEARTBEAT_S
    return value if 1 <= value <= 3600 else DEFAULT_HEARTBEAT_S


def beats(storage) -> bool:
    """Does the storage keep heartbeats (a database does; the journal file does not)?"""
    return callable(getattr(storage, "record_heartbeat", None))


def heartbeat_ages(storage, trial_ids: list) -> dict:
    """{trial id: seconds since its last heartbeat} by the database's own clock (the one the beats are
    written with), for those of trial_ids that have beaten; {} for a storage without heartbeats. Read
    here, not by Optuna's fail_stale_trials: that judges by the grace set on the storage object, which
    one process (the dashboard) shares between sweeps of different intervals."""
    engine = getattr(getattr(storage, "_backend", storage), "engine", None)  # Optuna caches a database
    if engine is None or not trial_ids or not beats(storage):
        return {}
    import sqlalchemy as sa  # here: a journal file's sweep never loads it (sweep show stays light)

    table = sa.table("trial_heartbeats", sa.column("trial_id", sa.Integer), sa.column("heartbeat", sa.DateTime))
    with engine.connect() as c:
        now = c.execute(sa.select(sa.func.now())).scalar()
        rows = c.execute(sa.select(table.c.trial_id, table.c.heartbeat)
                         .where(table.c.trial_id.in_([int(i) for i in trial_ids]))).all()
    # as Optuna compares them: PostgreSQL's now() has a time zone, the stored beat has none
    now = now.replace(tzinfo=None)
    return {trial_id: (now - beat.replace(tzinfo=None)).total_seconds() for trial_id, beat in rows}


def open_storage(url: Optional[str], runs_dir: Path):
    """An Optuna storage: the journal file under runs_dir (url None) or a database; StorageError."""
    quiet_optuna()
    if not url:
        return _journal(Path(runs_dir))
    scheme = str(url).split(":", 1)[0].split("+", 1)[0].lower()
    if scheme not in _DB_SCHEMES or "://" not in str(url):
        raise StorageError(f"storage {hide_password(url)!r} is not a database URL: use "
                           "postgresql://user:password@host:port/database (or sqlite:///file.db)")
    return _database(str(url), scheme)


def _journal(runs_dir: Path):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    from ..runs.files import RunDirError, ensure_runs_dir

    path = runs_dir / JOURNAL
    try:
        ensure_runs_dir(runs_dir)
        path.parent.mkdir(exist_ok=True)
        if path.exists() and not path.is_file():
            raise StorageError(f"{path}: refused as the sweep journal, it is not a regular file")
        # the open lock works on every file system that has O_EXCL (the symlink lock needs symlinks)
        return JournalStorage(JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))))
    except RunDirError as e:
        raise StorageError(str(e)) from None
    except OSError as e:
        raise StorageError(f"cannot use the sweep journal {path}: {e.strerror or e}") from None


def _database(url: str, scheme: str):
    from optuna.storages import RDBStorage

    given = url
    if scheme in ("postgresql", "postgres"):
        # psycopg (version 3) is the driver this project installs; SQLAlchemy's plain name means psycopg2
        url = re.sub(r"^postgres(ql)?(\+[a-z0-9]+)?://", "postgresql+psycopg://", url)
    kwargs = {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}} if scheme != "sqlite" else {}
    try:
        # no heartbeat settings on the storage object: each sweep beats and is judged by its own interval
        return RDBStorage(url, engine_kwargs=kwargs)
    except Exception as e:  # noqa: BLE001  SQLAlchemy's errors for a host, a password, a missing driver
        raise StorageError(f"cannot reach the sweep storage {hide_password(given)}: {_first_line(e)}") from None


def storage_failure(e: BaseException) -> Optional[str]:
    """One line on a storage that failed mid-way (the database went away, a damaged journal file), or
    None for an error of another kind."""
    import json

    import optuna

    kind = type(e).__module__.split(".", 1)[0]
    if isinstance(e, (optuna.exceptions.OptunaError, json.JSONDecodeError)) or kind in ("sqlalchemy", "psycopg"):
        return _first_line(e)
    return None


def _first_line(e: Exception) -> str:
    # hidden before it is cut: a password can hold a line break
    text = hide_password(str(getattr(e, "orig", None) or e)).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:300]


def retry_lost(study, trial) -> None:
    """Enqueue a lost trial again with the same parameters, at most MAX_RETRY times per original. (The
    lost trial has finished as failed and cannot be changed: the retry carries why.)"""
    retries = int(trial.user_attrs.get("retries", 0))
    if retries < MAX_RETRY:
        # the enqueued parameters: a trial lost before it drew its own still has its grid point there
        params = trial.system_attrs.get("fixed_params") or trial.params
        study.enqueue_trial(dict(params), skip_if_exists=False, user_attrs={
            "retry_of": trial.number, "retries": retries + 1,
            "lost": trial.user_attrs.get("reason") or "its worker stopped sending heartbeats"})
