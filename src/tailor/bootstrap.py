"""The composition root: the one place that builds concrete stores, the job registry and queue,
and the ML resources from settings, for the API and for workers."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tailor.bridge.service import Bridge, build_bridge
from tailor.config import Settings
from tailor.domain.signing import UrlSigner
from tailor.engine.generation import Generator
from tailor.engine.video.generator import VideoGenerator
from tailor.infra.outbound import OutboundSlots
from tailor.jobs.context import JobContext
from tailor.jobs.queue import JobQueue
from tailor.jobs.registry import Registry
from tailor.services.training_estimate import Installation
from tailor.store.blob_base import BlobStore
from tailor.store.blobs import open_blob_store
from tailor.store.db import make_engine, make_sessionmaker, session_scope
from tailor.worker.handlers import build_registry

log = logging.getLogger(__name__)


class Resources:
    """A process's long-lived ML collaborators, each built on first use and then kept: the VLM
    bridge and the generator (which loads the base pipeline, so an API process never does)."""

    def __init__(self, settings: Settings, blobs: BlobStore) -> None:
        self.settings = settings
        self.blobs = blobs
        self._lock = threading.Lock()
        self._bridge: Bridge | None = None
        self._generator: Generator | None = None
        self._video: VideoGenerator | None = None
        self._video_lock = threading.Lock()  # loading the video model never blocks the other resources

    def bridge(self) -> Bridge:
        with self._lock:
            if self._bridge is None:
                self._bridge = build_bridge(self.settings)
            return self._bridge

    def generator(self) -> Generator:
        """The generator; raises ``BaseModelUnavailable`` when the weights cannot be loaded."""
        with self._lock:
            if self._generator is None:
                self._generator = Generator(self.settings, self.blobs)
            return self._generator

    def video(self) -> VideoGenerator:
        """The video generator, loaded by the first video job (a process that never makes video never
        loads it); raises ``VideoModelUnavailable`` when the weights cannot be loaded."""
        with self._video_lock:
            if self._video is None:
                self._video = VideoGenerator(self.settings)
            return self._video

    def release_generator(self) -> bool:
        """Drop the warm pipeline (waiting for a generation in progress) and give its GPU memory
        back; the next generation loads it again. Returns whether one was loaded."""
        with self._lock:
            gen, self._generator = self._generator, None
        if gen is None:
            return False
        gen.release()
        del gen
        import gc

        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # an API-only install
            pass
        log.info("released the generation pipeline")
        return True

    @property
    def loaded_generator(self) -> Generator | None:
        """The generator if it was built (nothing is loaded to answer)."""
        return self._generator


@dataclass
class Runtime:
    """Shared collaborators of one process (API or worker)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore
    registry: Registry
    queue: JobQueue
    signer: UrlSigner
    resources: Resources
    outbound: OutboundSlots  # this process's URL fetches in flight, per organization and in all

    def job_context(self) -> JobContext:
        """A handler context, not yet bound to a job (the worker binds it)."""
        return JobContext(
            settings=self.settings,
            engine=self.engine,
            sessions=self.sessions,
            blobs=self.blobs,
            resources=self.resources,
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
    registry = build_registry(extra_modules(settings.extra_handler_modules))
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        blobs=blobs,
        registry=registry,
        queue=JobQueue(engine, sessions, registry, settings),
        signer=UrlSigner(settings.resolved_secret_key(), settings.signed_url_ttl_s),
        resources=Resources(settings, blobs),
        outbound=OutboundSlots(settings.url_fetch_per_org, settings.url_fetch_total),
    )


def extra_modules(value: str) -> list[str]:
    """``TAILOR_EXTRA_HANDLER_MODULES`` as a list of module names."""
    return [m.strip() for m in value.split(",") if m.strip()]


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


def training_installation(settings: Settings, family: str) -> Installation:
    """What this installation's settings say a training run of ``family`` trains with (the weights
    as the engine resolves them), for the training estimate."""
    from tailor.engine.families import get_family
    from tailor.engine.pipeline import is_tiny, weights_name

    fam = get_family(family)
    return Installation(
        weights=weights_name(settings, fam),
        tiny=is_tiny(settings, fam),
        grad_accumulation=settings.training_grad_accumulation,
        max_steps=settings.training_max_steps,
        checkpoint_interval=settings.training_checkpoint_interval,
    )
