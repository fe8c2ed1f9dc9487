"""A database error names the statement, never the values it was given.

SQLAlchemy's error text ends with ``[parameters: ...]``, the row's values: a password hash, a
session token, a plate. It reaches the service's log and, for the CLI, the terminal (a
``users add`` refused by PostgreSQL printed the new user's password hash). Both engines are made
with ``hide_parameters``, so the text says where it failed and keeps the values out.
"""

from __future__ import annotations

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from service.db import make_engine, make_session_factory, migrate
from service.models import User


def test_a_refused_row_is_named_without_its_values(settings):
    engine = make_engine(settings)
    migrate(settings, engine)
    factory = make_session_factory(engine)
    secret = "pbkdf2_sha256$600000$SECRET-HASH-VALUE"
    with factory() as db:
        db.execute(insert(User).values(username="rita", password_hash=secret, role="reviewer", active=True))
        db.commit()
        with pytest.raises(IntegrityError) as raised:  # the same name again: the unique index refuses it
            db.execute(insert(User).values(username="rita", password_hash=secret, role="reviewer", active=True))
        db.rollback()
    text = str(raised.value)
    assert "INSERT INTO users" in text  # still says what failed
    assert secret not in text
    assert "hidden due to hide_parameters" in text
    engine.dispose()
