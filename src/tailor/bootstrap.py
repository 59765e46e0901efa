"""The one place that builds concrete stores, queues and engines from settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tailor.config import Settings
from tailor.domain.signing import UrlSigner
from tailor.jobs.handlers import JobContext
from tailor.jobs.queue import JobQueue
from tailor.store.blob_base import BlobStore
from tailor.store.blobs import open_blob_store
from tailor.store.db import make_engine, make_sessionmaker, session_scope

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Shared collaborators of one process (API or worker)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore
    queue: JobQueue
    signer: UrlSigner
    extras: dict[str, Any] = field(default_factory=dict)

    def job_context(self) -> JobContext:
        """A handler context; ``services`` is this process's long-lived cache (pipelines, providers)."""
        return JobContext(
            settings=self.settings,
            engine=self.engine,
            sessions=self.sessions,
            blobs=self.blobs,
            services=self.extras,
        )

    def close(self) -> None:
        self.engine.dispose()


def build_runtime(settings: Settings, *, migrate: bool = False) -> Runtime:
    secure_home(settings)
    url = settings.resolved_database_url
    if migrate:
        from tailor.store.migrate import upgrade

        upgrade(url)
        seal_webhook_keys(settings)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    blobs = open_blob_store(
        settings.resolved_blob_url, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region
    )
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        blobs=blobs,
        queue=JobQueue(engine, sessions),
        signer=UrlSigner(settings.resolved_secret_key(), settings.signed_url_ttl_s),
    )


def secure_home(settings: Settings) -> None:
    """Create the data directory 0700, or tighten it and the secrets in it when they are wider."""
    from tailor.store.private_files import PRIVATE_FILE, private_dir, tighten

    private_dir(settings.home)
    for path in (settings.token_file, settings.home / "secret"):
        tighten(path, PRIVATE_FILE)


def seal_webhook_keys(settings: Settings) -> None:
    """Seal the webhook keys that rows from before revision 0003 still hold in clear."""
    from tailor.store import orgs

    engine = make_engine(settings.resolved_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            n = orgs.seal_plain_webhook_keys(s, settings.resolved_secret_key())
    finally:
        engine.dispose()
    if n:
        log.info("sealed the webhook signing keys of %d API token(s) under the server secret", n)


def ensure_default_token(rt: Runtime) -> str | None:
    """On an empty database, create the default organization and a token, and save it to
    ``<home>/token`` (0600 from the start). Returns the new token, or None when an organization
    already existed."""
    from tailor.store import orgs
    from tailor.store.private_files import write_private

    with session_scope(rt.sessions) as s:
        if orgs.count_orgs(s) > 0:
            return None
        org = orgs.get_or_create_org(s, "default")
        token = orgs.create_token(s, org, name="default", secret=rt.settings.resolved_secret_key())
    write_private(rt.settings.token_file, token + "\n")
    return token
