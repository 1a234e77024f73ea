"""The PostgreSQL store's schema and statements, as SQL.

Every name is qualified with the store's schema, composed in as a quoted
identifier (:mod:`psycopg.sql`), and :func:`check_schema` allows only a plain
lower-case identifier anyway. Values are always bound parameters. Each
statement is rendered to bytes once per store object, so that psycopg
prepares it once per connection.

The design is argued in the documentation page "The PostgreSQL store"
(``docs/postgres.md``); the short version is in the comments below.
"""

from __future__ import annotations

import re
from typing import Final, cast

from psycopg import sql
from typing_extensions import LiteralString

from incidentkit._errors import InvalidInputError

__all__ = [
    "CURRENT_VERSION",
    "channel",
    "check_schema",
    "grant",
    "migrations",
    "statements",
]

_SCHEMA: Final = re.compile(r"[a-z_][a-z0-9_]{0,47}")

CURRENT_VERSION: Final = 1
"""The schema version this library writes and reads."""


def check_schema(schema: str) -> str:
    """Return ``schema`` if it is a plain lower-case identifier of at most 48 characters.

    Raises:
        InvalidInputError: It is not.
    """
    checked = cast("object", schema)
    if not isinstance(checked, str) or not _SCHEMA.fullmatch(checked) or checked.startswith("pg_"):
        msg = (
            f"{schema!r} cannot be the store's schema: use 1 to 48 lower-case ASCII letters, "
            "digits and '_', not starting with a digit or 'pg_'"
        )
        raise InvalidInputError(msg)
    return schema


# The bootstrap runs under the migration lock before the version is read.
_BOOTSTRAP: Final[LiteralString] = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.schema_version (
    version integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON {s}.schema_version FROM PUBLIC;
"""

# Version 1: the incidents, the records, the guards and the wake-ups.
_V1: Final[LiteralString] = r"""
CREATE TABLE {s}.incidents (
    incident_id text PRIMARY KEY
        CHECK (incident_id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{{0,127}}$'),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- One row per record. The primary key makes a seq unique within an incident:
-- of two appends after the same head, one inserts and the other finds the key
-- taken. line is the record exactly as hashed; seq, prev and digest repeat
-- what it says, so that the chain can be checked and searched in SQL.
CREATE TABLE {s}.records (
    incident_id text NOT NULL,
    seq bigint NOT NULL CHECK (seq >= 0),
    prev text NOT NULL CHECK (prev ~ '^[0-9a-f]{{64}}$'),
    digest text NOT NULL CHECK (digest ~ '^[0-9a-f]{{64}}$'),
    line bytea NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, seq),
    -- Defence against any client, not only this library, and one that no
    -- session setting turns off: the line is laid out as the journal writes
    -- it, carries the row's digest, seq and prev, ends the record, and hashes
    -- (from "seq": to before the final brace) to the digest.
    CONSTRAINT record_line_intact CHECK (
        CASE WHEN length(line) < 171 + length(seq::text) + 3 THEN false ELSE
            substring(line FROM 1 FOR 171 + length(seq::text))
                = '{{"v":1,"digest":"'::bytea || decode(digest, 'escape')
                  || '","seq":'::bytea || decode(seq::text, 'escape')
                  || ',"prev":"'::bytea || decode(prev, 'escape') || '","body":'::bytea
            AND substring(line FROM length(line) - 1) = decode('7d0a', 'hex')
            AND encode(sha256(substring(line FROM 84 FOR length(line) - 85)), 'hex') = digest
        END
    )
);

-- The chain, against any client too: a row follows the row before it in the
-- same incident (or is seq 0, after the genesis digest, of an incident that
-- was created).
CREATE FUNCTION {s}.check_record() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $body$
DECLARE
    before text;
BEGIN
    IF NEW.seq = 0 THEN
        IF NEW.prev <> repeat('0', 64) THEN
            RAISE EXCEPTION 'incidentkit: record 0 of incident % must follow the genesis digest',
                NEW.incident_id USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        PERFORM 1 FROM {s}.incidents WHERE incident_id = NEW.incident_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'incidentkit: no incident % to hold record 0', NEW.incident_id
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    ELSE
        SELECT r.digest INTO before FROM {s}.records AS r
            WHERE r.incident_id = NEW.incident_id AND r.seq = NEW.seq - 1;
        IF before IS DISTINCT FROM NEW.prev THEN
            RAISE EXCEPTION 'incidentkit: record % of incident % does not follow record %',
                NEW.seq, NEW.incident_id, NEW.seq - 1
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    RETURN NEW;
END
$body$;

CREATE TRIGGER check_record BEFORE INSERT ON {s}.records
    FOR EACH ROW EXECUTE FUNCTION {s}.check_record();

-- The journal is append-only: no UPDATE, DELETE or TRUNCATE, whoever asks
-- (the privileges are revoked as well, below; a superuser can still disable
-- triggers, which the hash chain then reveals).
CREATE FUNCTION {s}.refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
    RAISE EXCEPTION 'incidentkit: the journal is append-only: % on %.% is refused',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'prohibited_sql_statement_attempted',
              HINT = 'Nothing was changed. A journal is evidence: append a record instead.';
END
$body$;

CREATE TRIGGER refuse_change BEFORE UPDATE OR DELETE ON {s}.records
    FOR EACH ROW EXECUTE FUNCTION {s}.refuse_change();
CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON {s}.records
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.refuse_change();
CREATE TRIGGER refuse_change BEFORE UPDATE OR DELETE ON {s}.incidents
    FOR EACH ROW EXECUTE FUNCTION {s}.refuse_change();
CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON {s}.incidents
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.refuse_change();
CREATE TRIGGER refuse_change BEFORE UPDATE OR DELETE ON {s}.schema_version
    FOR EACH ROW EXECUTE FUNCTION {s}.refuse_change();
CREATE TRIGGER refuse_truncate BEFORE TRUNCATE ON {s}.schema_version
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.refuse_change();

-- Wake the watchers: a notification carrying the incident's id. PostgreSQL
-- sends a transaction's identical notifications once, so a bulk creation
-- wakes them once too.
CREATE FUNCTION {s}.notify_records() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
    PERFORM pg_notify({channel_text}, NEW.incident_id);
    RETURN NULL;
END
$body$;

CREATE TRIGGER notify_records AFTER INSERT ON {s}.records
    FOR EACH ROW EXECUTE FUNCTION {s}.notify_records();

REVOKE ALL ON {s}.incidents, {s}.records FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON {s}.incidents, {s}.records, {s}.schema_version
    FROM CURRENT_USER;
"""

_MIGRATIONS: Final[tuple[LiteralString, ...]] = (_V1,)


def channel(schema: str) -> str:
    """The ``NOTIFY`` channel of a store's schema."""
    return f"{check_schema(schema)}.records"


def _render(template: LiteralString, schema: str) -> bytes:
    """Compose ``template`` with the schema (and its channel), as bytes to execute."""
    where = channel(schema)
    composed = sql.SQL(template).format(
        s=sql.Identifier(check_schema(schema)),
        channel=sql.Identifier(where),
        channel_text=sql.Literal(where),
    )
    return composed.as_bytes(None)


def migrations(schema: str) -> tuple[bytes, list[tuple[int, bytes]]]:
    """Return the bootstrap SQL and each version's SQL, for ``schema``."""
    steps = [(number, _render(text, schema)) for number, text in enumerate(_MIGRATIONS, start=1)]
    return _render(_BOOTSTRAP, schema), steps


_STATEMENTS: Final[dict[str, LiteralString]] = {
    "version_table": (
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables "
        "WHERE schemaname = %s AND tablename = 'schema_version')"
    ),
    "version": "SELECT coalesce(max(version), 0) FROM {s}.schema_version",
    "record_version": "INSERT INTO {s}.schema_version (version) VALUES (%s)",
    "create_incident": "INSERT INTO {s}.incidents (incident_id) VALUES (%s) ON CONFLICT DO NOTHING",
    "copy_records": "COPY {s}.records (incident_id, seq, prev, digest, line) FROM STDIN",
    # The compare-and-append, in one statement: the row goes in only if the
    # record it follows is there with the digest it names (the head it was
    # chained on), and only if its seq is free (the primary key; a concurrent
    # insert of the same seq waits for the other transaction, then does
    # nothing if that one committed).
    "append": (
        "INSERT INTO {s}.records (incident_id, seq, prev, digest, line) "
        "SELECT %(id)s, %(seq)s, %(prev)s, %(digest)s, %(line)s "
        "WHERE EXISTS (SELECT 1 FROM {s}.records "
        "WHERE incident_id = %(id)s AND seq = %(seq)s - 1 AND digest = %(prev)s) "
        "ON CONFLICT (incident_id, seq) DO NOTHING"
    ),
    "exists": "SELECT EXISTS (SELECT 1 FROM {s}.incidents WHERE incident_id = %s)",
    "head": "SELECT seq, digest FROM {s}.records WHERE incident_id = %s ORDER BY seq DESC LIMIT 1",
    "read": "SELECT line FROM {s}.records WHERE incident_id = %s AND seq >= %s ORDER BY seq",
    "incidents": "SELECT incident_id FROM {s}.incidents ORDER BY created_at, incident_id",
    "listen": "LISTEN {channel}",
    "unlisten": "UNLISTEN {channel}",
}

_GRANT: Final[LiteralString] = (
    "GRANT USAGE ON SCHEMA {s} TO {role}; "
    "GRANT SELECT, INSERT ON {s}.incidents, {s}.records TO {role}; "
    "GRANT SELECT ON {s}.schema_version TO {role}"
)


def statements(schema: str) -> dict[str, bytes]:
    """Return the statements the store runs, by name, for ``schema``."""
    return {name: _render(text, schema) for name, text in _STATEMENTS.items()}


def grant(schema: str, role: str) -> bytes:
    """Return the statement granting ``role`` read and append access to the store."""
    composed = sql.SQL(_GRANT).format(
        s=sql.Identifier(check_schema(schema)), role=sql.Identifier(role)
    )
    return composed.as_bytes(None)
