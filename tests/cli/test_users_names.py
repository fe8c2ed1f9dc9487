"""``civicwatch users add NAME``: the login names the admin page accepts (1 to 64 of letters,
digits and ``_ . @ -``) and no others. The command created users named "", " rita" or "a/b",
which the admin page then refused to create, and one longer than the database column (a traceback
on PostgreSQL); refused now before the password is asked for, naming the rule."""

from __future__ import annotations

import io

import pytest

from civicwatch.cli import main


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CIVICWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DATABASE_URL", "")  # the embedded SQLite file in the data folder
    monkeypatch.delenv("CIVICWATCH_CONFIG", raising=False)
    return tmp_path / "data"


@pytest.mark.parametrize("name", ["", " rita", "rita smith", "a/b", "x" * 65])
def test_a_name_the_admin_page_refuses_is_refused(data_dir, monkeypatch, capsys, name):
    monkeypatch.setattr("sys.stdin", io.StringIO("good-password-1\n"))
    assert main(["users", "add", name, "--role", "reviewer", "--password-stdin"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("civicwatch users add: name") and "letters, digits" in err
    assert main(["users", "list"]) == 0
    assert capsys.readouterr().out == ""  # nobody was created


def test_names_the_admin_page_takes_are_taken(data_dir, monkeypatch, capsys):
    for name in ("rita", "li.wei@unit-7", "x" * 64):
        monkeypatch.setattr("sys.stdin", io.StringIO("good-password-1\n"))
        assert main(["users", "add", name, "--role", "reviewer", "--password-stdin"]) == 0


def test_a_database_refusal_after_the_check_is_one_line(data_dir, monkeypatch, capsys):
    """The database passed the start-up check but refused the write (here: its audit table is
    gone, as after a half-restored backup). Was a traceback; now one line and exit 2, nobody half
    created (the user and its audit line are one transaction)."""
    import sqlite3

    assert main(["users", "list"]) == 0  # creates the database
    db_file = data_dir / "civicwatch.sqlite3"
    with sqlite3.connect(db_file) as con:
        con.execute("DROP TABLE audit")
    monkeypatch.setattr("sys.stdin", io.StringIO("good-password-1\n"))
    assert main(["users", "add", "rita", "--role", "reviewer", "--password-stdin"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("civicwatch users add: the database refused it (OperationalError: no such table: audit")
    assert "Traceback" not in err and "\n" not in err.rstrip("\n")
    assert main(["users", "list"]) == 0
    assert capsys.readouterr().out == ""
