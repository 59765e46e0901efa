"""Rows for bridge tests: a project, a dataset with images (pixels in the real blob store), a model."""

from __future__ import annotations

import hashlib

from tailor.bootstrap import Runtime
from tailor.domain.jobs import CAPTION_IMAGE, CaptionImage
from tailor.jobs.queue import enqueue
from tailor.store import orgs
from tailor.store.db import session_scope
from tailor.store.models import add_model as store_add_model
from tailor.store.tables import Dataset, Image, Project


def org_id(rt: Runtime, name: str = "acme") -> int:
    with session_scope(rt.sessions) as s:
        return orgs.get_or_create_org(s, name).id


def make_dataset(rt: Runtime, org: int, *, visual_schema: str | None = None, status: str = "draft") -> int:
    with session_scope(rt.sessions) as s:
        p = Project(organization_id=org, project_name="p", ip_medium="illustration", ip_type="other")
        s.add(p)
        s.flush()
        d = Dataset(
            organization_id=org, project_id=p.id, name="d", visual_schema=visual_schema, status=status
        )
        s.add(d)
        s.flush()
        return d.id


def add_images(
    rt: Runtime, org: int, dataset_id: int, images: list[bytes], *, enqueue_jobs: bool = True
) -> list[int]:
    """Store ``images`` and their rows; queue a caption job for each (as the datasets service does)."""
    ids = []
    with session_scope(rt.sessions) as s:
        for i, data in enumerate(images):
            digest = hashlib.sha256(data).hexdigest()
            key = f"test/{dataset_id}/{i}-{digest[:8]}.png"
            rt.blobs.put(key, data)
            im = Image(
                organization_id=org,
                dataset_id=dataset_id,
                image_name=f"{i}.png",
                blob_key=key,
                thumbnail_key=key,
                width=160,
                height=120,
                sha256=digest,
                caption_source="pending",
            )
            s.add(im)
            s.flush()
            ids.append(im.id)
            if enqueue_jobs:
                enqueue(
                    s, CAPTION_IMAGE, CaptionImage(image_id=im.id, dataset_id=dataset_id), organization_id=org
                )
        ds = s.get(Dataset, dataset_id)
        assert ds is not None
        ds.captions_update_status = "in_progress"
    return ids


def make_model(
    rt: Runtime,
    org: int,
    dataset_id: int,
    *,
    status: str = "Completed",
    version: str | None = "fibo",
    visual_schema: str | None = None,
) -> int:
    with session_scope(rt.sessions) as s:
        ds = s.get(Dataset, dataset_id)
        assert ds is not None
        m = store_add_model(
            s,
            organization_id=org,
            project_id=ds.project_id,
            dataset_id=dataset_id,
            name="m",
            status=status,
            training_version=version,
            visual_schema=visual_schema,
            adapter_key="adapters/x.safetensors",
        )
        return m.id
