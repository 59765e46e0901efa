"""Webhook signing keys are sealed under the server secret: a copy of the database alone can neither
sign a webhook nor reveal a key, and keys stored in clear before revision 0003 are sealed on start."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from bria_client.toolkit import verify_webhook_signature
from sqlalchemy import text

from tailor.bootstrap import build_runtime
from tailor.domain.tokens import hash_token, new_token, webhook_signing_key
from tailor.store import orgs
from tailor.store.db import is_sqlite, make_engine, session_scope
from tailor.store.migrate import upgrade
from tailor.store.sealed import SealError
from tailor.worker.handlers.webhook import sign
from tests.conftest import make_settings


def _row(db_url: str, token: str) -> dict[str, object]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT * FROM api_tokens WHERE token_hash = :h"), {"h": hash_token(token)}
            ).mappings()
            return dict(row.one())
    finally:
        engine.dispose()


def test_a_copied_database_cannot_sign_a_webhook(tmp_path: Path, db_url: str) -> None:
    settings = make_settings(tmp_path / "home", db_url)
    rt = build_runtime(settings, migrate=True)
    try:
        with session_scope(rt.sessions) as s:
            token = orgs.create_token(s, orgs.get_or_create_org(s, "acme"), secret="server-secret")
            token_id = orgs.authenticate(s, token).token_id  # type: ignore[union-attr]
        row = _row(db_url, token)
        key = webhook_signing_key(token)
        dump = json.dumps(row, default=str)
        assert key not in dump and bytes.fromhex(key).hex() not in dump.lower()
        assert row["webhook_key"] is None and str(row["webhook_key_sealed"]).startswith("v1.")
        # an attacker holding the database tries every stored value as the signing key
        body, ts = b'{"status":"COMPLETED","request_id":"r1"}', str(int(time.time()))
        for value in row.values():
            candidate = str(value).encode().hex()
            header = sign(candidate, "r1", ts, body)
            assert not verify_webhook_signature(body, "r1", ts, header, token)
        # the server, holding the secret, signs what the client accepts
        with rt.sessions() as s:
            opened = orgs.webhook_key_for(s, token_id, secret="server-secret")
            assert opened == key
            assert verify_webhook_signature(body, "r1", ts, sign(opened, "r1", ts, body), token)
            with pytest.raises(SealError, match="TAILOR_SECRET_KEY"):
                orgs.webhook_key_for(s, token_id, secret="another-secret")
    finally:
        rt.close()


def test_a_sealed_key_does_not_open_on_another_row(tmp_path: Path, db_url: str) -> None:
    settings = make_settings(tmp_path / "home", db_url)
    rt = build_runtime(settings, migrate=True)
    try:
        with session_scope(rt.sessions) as s:
            org = orgs.get_or_create_org(s, "acme")
            a, b = (orgs.create_token(s, org, secret="k") for _ in range(2))
            ids = [orgs.authenticate(s, t).token_id for t in (a, b)]  # type: ignore[union-attr]
        sealed_a = _row(db_url, a)["webhook_key_sealed"]
        with rt.engine.begin() as conn:  # copy a's sealed key onto b's row
            conn.execute(
                text("UPDATE api_tokens SET webhook_key_sealed = :v WHERE id = :id"),
                {"v": sealed_a, "id": ids[1]},
            )
        with rt.sessions() as s, pytest.raises(SealError):
            orgs.webhook_key_for(s, ids[1], secret="k")
    finally:
        rt.close()


def test_clear_keys_from_before_0003_keep_signing_and_are_sealed_on_start(
    tmp_path: Path, db_url: str
) -> None:
    upgrade(db_url, "0002")
    token = new_token()
    engine = make_engine(db_url)
    with engine.begin() as conn:
        now = "2026-01-01 00:00:00"
        conn.execute(
            text("INSERT INTO organizations (name, created_at, updated_at) VALUES ('o', :t, :t)"), {"t": now}
        )
        conn.execute(
            text(
                "INSERT INTO api_tokens (organization_id, token_hash, prefix, webhook_key, revoked,"
                " created_at, updated_at) VALUES ((SELECT id FROM organizations), :h, :p, :k, false, :t, :t)"
            ),
            {"h": hash_token(token), "p": token[:8], "k": webhook_signing_key(token), "t": now},
        )
    engine.dispose()
    upgrade(db_url)  # the migration alone cannot seal (it has no secret): the clear key still signs
    row = _row(db_url, token)
    assert row["webhook_key"] == webhook_signing_key(token) and row["webhook_key_sealed"] is None
    settings = make_settings(tmp_path / "home", db_url)
    rt = build_runtime(settings, migrate=True)  # a start of the API seals it
    try:
        with rt.sessions() as s:
            token_id = orgs.authenticate(s, token).token_id  # type: ignore[union-attr]
            assert orgs.webhook_key_for(s, token_id, secret="test-secret") == webhook_signing_key(token)
        row = _row(db_url, token)
        assert row["webhook_key"] is None and str(row["webhook_key_sealed"]).startswith("v1.")
        assert webhook_signing_key(token) not in json.dumps(row, default=str)
        with rt.sessions() as s:
            assert orgs.webhook_key_for(s, token_id, secret="test-secret") == webhook_signing_key(token)
        if is_sqlite(db_url):  # the rebuilt table still never reuses ids
            with rt.engine.connect() as conn:
                sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'api_tokens'").scalar()
            assert "AUTOINCREMENT" in sql
    finally:
        rt.close()
