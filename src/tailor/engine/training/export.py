"""Export an adapter for download: the diffusers LoRA file and a model card, in one zip.

What users' tools can load: FIBO runs in diffusers (``BriaFiboPipeline``), and the tools that run
it (Bria's own scripts, the ComfyUI custom nodes for FIBO, which call diffusers) load LoRA
adapters through ``load_lora_weights``. ComfyUI core has no FIBO model, so a file in its native
LoRA layout could not be loaded by anything; Tailor ships the diffusers file only:
``transformer.<module>.lora_A.weight`` / ``lora_B.weight``, with the LoraConfig (rank, alpha,
target modules) in the safetensors header.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile

from tailor.store.blob_base import BlobStore

DIFFUSERS_NAME = "diffusers/pytorch_lora_weights.safetensors"
CARD_NAME = "README.md"


def write_export_zip(blobs: BlobStore, adapter_key: str, dest_key: str, card: str) -> None:
    """Package ``adapter_key`` (diffusers LoRA format) and ``card`` into a zip stored at ``dest_key``."""
    with tempfile.TemporaryDirectory() as tmp:
        local = f"{tmp}/adapter.safetensors"
        with blobs.open(adapter_key) as src, open(local, "wb") as f:
            shutil.copyfileobj(src, f)
        zpath = f"{tmp}/export.zip"
        with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_STORED) as zf:
            zf.write(local, DIFFUSERS_NAME)
            zf.writestr(CARD_NAME, card)
        with open(zpath, "rb") as f:
            blobs.put_file(dest_key, f, content_type="application/zip")
