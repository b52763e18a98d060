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
DEFAULT_HEARTBEAT_S = 10  # a database worker's sign of life; its trial fails after 3 missed beats
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


def hide_password(url: str) -> str:
    """The URL (or a message holding one) as it may be shown: 'postgresql://sweeps:***@db/lab', with a
    password in its query hidden too. Over-hiding is the safe side: up to the last '@' of the word goes."""
    text = re.sub(r"(\w://[^:/@\s]*:)\S*@", r"\1***@", str(url))
    return re.sub(r"([?&][^=&\s]*pass[^=&\s]*=)[^&\s]*", r"\1***", text, flags=re.IGNORECASE)


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


def use_heartbeat(storage, seconds) -> None:
    """Beat and judge silence by the study's own interval (a worker's environment may differ from the
    page's): a trial is stale after 3 missed beats."""
    if getattr(storage, "heartbeat_interval", None) and isinstance(seconds, int) and 1 <= seconds <= 3600:
        storage.heartbeat_interval, storage.grace_period = seconds, 3 * seconds


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
    beat = heartbeat_s()
    try:
        return RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=beat, grace_period=3 * beat,
                          heartbeat_stale_trial_callback=retry_lost)
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
    text = str(getattr(e, "orig", None) or e).strip().splitlines()
    return hide_password(text[0] if text else type(e).__name__)[:300]


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
