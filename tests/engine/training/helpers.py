"""Test data for models and training: a project, a dataset of one dominant colour, its captions.

Rows are written through the real database and images through the real blob store (the dataset
API's own rules are tested elsewhere; these tests need a completed, captioned dataset quickly).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass

from PIL import Image as PILImage

from tailor.bootstrap import Runtime
from tailor.store import orgs
from tailor.store.db import session_scope
from tailor.store.tables import Dataset, Image, Project

SCHEMA = json.dumps({"style_medium": "flat colour", "aesthetics": {"color_scheme": "red"}})


def caption(i: int) -> str:
    return json.dumps(
        {
            "short_description": f"a red square, number {i}",
            "objects": [{"description": "a red square", "location": "center"}],
            "background_setting": "plain red",
            "style_medium": "flat colour",
        }
    )


def png(color: tuple[int, int, int], size: int = 64) -> bytes:
    buf = io.BytesIO()
    img = PILImage.new("RGB", (size, size), color)
    # a little structure, so that images differ
    for x in range(0, size, 8):
        img.putpixel((x, x), (255, 255, 255))
    img.save(buf, format="PNG")
    return buf.getvalue()


def red_images(n: int = 6) -> list[bytes]:
    return [png((190 + 10 * (i % 6), 20 + 5 * i, 25)) for i in range(n)]


@dataclass
class Seeded:
    org_id: int
    project_id: int
    dataset_id: int


def org_of(rt: Runtime, token: str) -> int:
    with session_scope(rt.sessions) as s:
        p = orgs.authenticate(s, token)
        assert p is not None
        return p.organization_id


def seed_dataset(
    rt: Runtime,
    token: str,
    *,
    n: int = 6,
    status: str = "completed",
    captioned: bool = True,
    ip_type: str = "stylized_scene",
    ip_medium: str = "illustration",
) -> Seeded:
    """A project and a dataset of ``n`` red-ish images with structured captions."""
    org_id = org_of(rt, token)
    with session_scope(rt.sessions) as s:
        project = Project(organization_id=org_id, project_name="Reds", ip_medium=ip_medium, ip_type=ip_type)
        s.add(project)
        s.flush()
        ds = Dataset(
            organization_id=org_id,
            project_id=project.id,
            name="red squares",
            visual_schema=SCHEMA,
            status=status,
            captions_update_status="completed",
        )
        s.add(ds)
        s.flush()
        for i, data in enumerate(red_images(n)):
            key = f"datasets/{ds.id}/images/{i}.png"
            rt.blobs.put(key, data, "image/png")
            s.add(
                Image(
                    organization_id=org_id,
                    dataset_id=ds.id,
                    image_name=f"{i}.png",
                    blob_key=key,
                    thumbnail_key=key,
                    width=64,
                    height=64,
                    sha256=hashlib.sha256(data).hexdigest(),
                    caption=caption(i) if captioned else None,
                    caption_source="automatic" if captioned else "pending",
                )
            )
        return Seeded(org_id, project.id, ds.id)
