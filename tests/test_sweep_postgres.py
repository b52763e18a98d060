"""Sweeps on a real PostgreSQL server (tests/postgres.py starts a private one): shared trials, lost workers, bad URLs."""

from __future__ import annotations

import contextlib

import pytest

from postgres import PASSWORD, PostgresError, private_postgres, sqlalchemy_url

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres_url():
    """postgresql://netlib:netlib-test@127.0.0.1:PORT/sweeps on a server of this module's own."""
    with contextlib.ExitStack() as stack:
        try:
            url, error = stack.enter_context(private_postgres()), ""
        except PostgresError as e:  # PostgreSQL missing or not starting: a failure, never a skip
            error = str(e)
        if error:
            pytest.fail(error, pytrace=False)
        yield url


def test_optuna_keeps_a_study_and_a_trial_in_the_private_server(postgres_url):
    import optuna

    storage = optuna.storages.RDBStorage(sqlalchemy_url(postgres_url))
    study = optuna.create_study(study_name="fixture-check", storage=storage)
    trial = study.ask()
    study.tell(trial, 0.5)
    again = optuna.load_study(study_name="fixture-check", storage=sqlalchemy_url(postgres_url))
    assert [(t.number, t.state, t.value) for t in again.trials] == [(0, optuna.trial.TrialState.COMPLETE, 0.5)]


def test_a_wrong_password_is_refused(postgres_url):
    import psycopg

    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres_url.replace(PASSWORD, "wrong"), connect_timeout=5).close()
