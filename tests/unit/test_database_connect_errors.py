"""Connect timeouts for each database, and the one line a failed connection becomes (SQL Server, which this
machine cannot run: the messages below are pyodbc's own, as msodbcsql18 words them)."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from infra.db.engine import CONNECT_TIMEOUT_SECONDS, connect_timeout_args, connection_error_message

# Made up, and built at run time so that this file holds no credential-shaped text.
PASSWORD = "S3cret" + "%21pw"
AZURE_SQL = f"mssql+pyodbc://hireflowadmin:{PASSWORD}@hireflow-sql.database.windows.net:1433/hireflow"
DRIVER = "?driver=ODBC+Driver+18+for+SQL+Server&Encrypt=yes"


def test_postgresql_gives_up_connecting_after_its_timeout_unless_the_url_sets_one():
    assert connect_timeout_args(make_url("postgresql+psycopg://u@db:5432/h")) == {
        "connect_timeout": CONNECT_TIMEOUT_SECONDS["postgresql"]
    }
    assert connect_timeout_args(make_url("postgresql+psycopg://u@db:5432/h?connect_timeout=30")) == {}


def test_sql_server_gets_a_login_timeout_from_pyodbc_unless_the_url_sets_connect_timeout():
    assert connect_timeout_args(make_url(AZURE_SQL + DRIVER)) == {"timeout": CONNECT_TIMEOUT_SECONDS["mssql"]}
    assert connect_timeout_args(make_url(AZURE_SQL + DRIVER + "&ConnectTimeout=60")) == {}


def test_sqlite_needs_no_connect_timeout():
    assert connect_timeout_args(make_url("sqlite:///var/hireflow.db")) == {}


def test_a_sql_server_login_failure_names_the_server_and_the_user_but_not_the_password():
    error = Exception(
        "('28000', \"[28000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Login failed for user "
        "'hireflowadmin'. (18456) (SQLDriverConnect)\")"
    )

    message = connection_error_message(make_url(AZURE_SQL + DRIVER), error)

    assert message.startswith("cannot connect to SQL Server at hireflow-sql.database.windows.net:1433")
    assert "'hireflowadmin'" in message and "user name and password in DATABASE_URL" in message
    assert "S3cret" not in message and "\n" not in message


def test_a_sql_server_that_does_not_answer_says_to_check_the_host_port_and_firewall():
    error = Exception("('HYT00', '[HYT00] [Microsoft][ODBC Driver 18 for SQL Server]Login timeout expired (0)')")

    message = connection_error_message(make_url(AZURE_SQL + DRIVER), error)

    assert "Login timeout expired" in message and "firewall" in message


def test_a_driver_message_that_repeats_the_password_is_masked():
    url = make_url(f"postgresql+psycopg://app:{PASSWORD}@db.internal:6432/hireflow")

    message = connection_error_message(url, Exception(f"FATAL: password {url.password} rejected"))

    assert str(url.password) not in message and "***" in message and "db.internal:6432" in message
