"""An LRU cache of LoRA adapters loaded into one pipeline, activated per request with a scale.

Adapters are fetched by their blob key (one safetensors file in diffusers LoRA format, as
``save_lora_weights`` writes it) and cached by their content: the SHA-256 recorded when the file was
written, so a cache entry can only ever answer for the very bytes it was loaded from. A JSON sidecar
at ``<key>.json`` may carry the peft ``LoraConfig`` (rank, alpha, target modules) when the file's own
header does not. :meth:`AdapterCache.prune` drops the entries of adapters that no record serves any
more (a deleted model or checkpoint).
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import warnings
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

METADATA_KEY = "lora_adapter_metadata"  # diffusers' safetensors header key for the LoraConfig
HOTSWAP_SLOT = "tailor_hotswap"  # the one adapter name of hot-swap mode


def adapter_name(identity: str) -> str:
    """A stable, module-safe adapter name for a cache identity."""
    return "tailor_" + hashlib.sha256(identity.encode()).hexdigest()[:16]


def cache_identity(key: str, sha256: str | None) -> str:
    """What a loaded adapter is cached by: its content hash, or (for files written before hashes
    were recorded) its blob key, which carries a random part and is never reused."""
    return f"sha256:{sha256}" if sha256 else f"key:{key}"


def transformer_metadata(config: dict[str, Any]) -> dict[str, Any]:
    """A LoraConfig dict keyed the way diffusers stores it for the transformer (``transformer.<field>``)."""
    return {k if "." in k else f"transformer.{k}": v for k, v in config.items()}


def prepare_adapter_file(data: bytes, sidecar: bytes | None) -> bytes:
    """The adapter file, with the sidecar's LoraConfig written into its header if it lacks one."""
    if sidecar is None:
        return data
    from safetensors import safe_open
    from safetensors.torch import load, save

    with tempfile.NamedTemporaryFile(suffix=".safetensors") as f:
        f.write(data)
        f.flush()
        with safe_open(f.name, framework="pt") as st:
            header = dict(st.metadata() or {})
    if METADATA_KEY in header:
        return data
    config = json.loads(sidecar)
    config = config.get("transformer_lora_adapter_metadata", config)
    header[METADATA_KEY] = json.dumps(transformer_metadata(config), sort_keys=True)
    header.setdefault("format", "pt")
    return save(load(data), metadata=header)


class AdapterLoadError(RuntimeError):
    """An adapter file is missing or is not a LoRA for this base model."""


class AdapterCache:
    """Keeps up to ``capacity`` adapters loaded in ``pipe``; the least recently used is deleted."""

    def __init__(
        self,
        pipe: Any,
        capacity: int,
        fetch: Callable[[str], bytes],
        fetch_sidecar: Callable[[str], bytes | None] = lambda _key: None,
        *,
        hotswap: bool = False,
        compile: bool = False,
    ) -> None:
        self.pipe = pipe
        # hot-swap mode (a compiled transformer): one adapter slot whose weights are replaced in
        # place, so that switching adapters never changes the modules (no recompilation)
        self.hotswap = hotswap
        # compile the transformer once the first adapter has made the slot (``speed``)
        self.compile = compile and hotswap
        self.compiled = False
        self.capacity = 1 if hotswap else max(1, capacity)
        self._fetch = fetch
        self._fetch_sidecar = fetch_sidecar
        self._loaded: OrderedDict[str, str] = OrderedDict()  # cache identity -> adapter name
        self._keys: dict[str, str] = {}  # cache identity -> the blob key it was loaded from
        self.loads = 0
        self.evictions = 0
        self._slot_filled = False
        self._slot_scaling: list[tuple[dict[str, Any], str, float]] = []

    @property
    def loaded_keys(self) -> list[str]:
        """Blob keys of the loaded adapters, least recently used first."""
        return [self._keys[identity] for identity in self._loaded]

    def _evict(self, identity: str) -> None:
        name = self._loaded.pop(identity)
        key = self._keys.pop(identity)
        if not self.hotswap:  # in hot-swap mode the slot stays; the next load overwrites it
            self.pipe.delete_adapters(name)
        self.evictions += 1
        log.info("evicted adapter %s", key)

    def _load(self, key: str, identity: str) -> str:
        swap = self.hotswap and self._slot_filled
        while len(self._loaded) >= self.capacity:
            self._evict(next(iter(self._loaded)))
        name = HOTSWAP_SLOT if self.hotswap else adapter_name(identity)
        try:
            data = prepare_adapter_file(self._fetch(key), self._fetch_sidecar(key))
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "adapter.safetensors"
                path.write_bytes(data)
                with warnings.catch_warnings():  # peft warns that several adapters coexist: intended
                    warnings.filterwarnings("ignore", message=".*peft_config.*")
                    if swap:
                        self.pipe.load_lora_weights(str(path), adapter_name=name, hotswap=True)
                    else:
                        self.pipe.load_lora_weights(str(path), adapter_name=name)
        except Exception as e:
            self._forget(name)  # a half-swapped slot is no adapter's: the next load starts afresh
            self._slot_filled = self._slot_filled and not swap
            raise AdapterLoadError(f"cannot load adapter {key!r}: {type(e).__name__}: {e}") from e
        self._loaded[identity] = name
        self._keys[identity] = key
        self._slot_filled = self._slot_filled or self.hotswap
        self.loads += 1
        if self.hotswap:
            self._record_slot_scaling(name)
        if self.compile and not self.compiled:
            from tailor.engine.speed import compile_transformer

            compile_transformer(self.pipe)
            self.compiled = True
        log.info("loaded adapter %s as %s", key, name)
        return name

    def _forget(self, name: str) -> None:
        """Remove whatever a failed load left of adapter ``name``."""
        try:
            if any(name in names for names in self.pipe.get_list_adapters().values()):
                self.pipe.delete_adapters(name)
        except Exception:  # nothing was loaded, or nothing to clean
            log.debug("nothing to clean for adapter %s", name)

    def activate(self, key: str | None, scale: float = 1.0, sha256: str | None = None) -> None:
        """Make ``key`` (whose content hash is ``sha256``) the only active adapter at ``scale``;
        ``None`` turns LoRA layers off."""
        if key is None:
            if self.hotswap and self._slot_filled:
                self._scale_slot(0.0)  # the slot adds nothing: the same graph, no recompilation
            elif self._loaded:
                self.pipe.disable_lora()
            return
        identity = cache_identity(key, sha256)
        name = self._loaded.get(identity) or self._load(key, identity)
        self._loaded.move_to_end(identity)
        if self.hotswap:
            self._scale_slot(float(scale))
            return
        self.pipe.enable_lora()
        self.pipe.set_adapters([name], adapter_weights=[float(scale)])

    def _record_slot_scaling(self, name: str) -> None:
        """Note the slot's scalings (alpha / rank per layer) as the adapter just loaded set them."""
        self._slot_scaling = []
        for module in self.pipe.transformer.modules():
            scaling = getattr(module, "scaling", None)
            if isinstance(scaling, dict) and name in scaling:
                self._slot_scaling.append((scaling, name, float(scaling[name])))

    def _scale_slot(self, scale: float) -> None:
        """The influence in hot-swap mode: the slot's scaling tensors are written in place (peft's
        ``set_adapters`` would replace them with Python floats, and a compiled transformer
        specialises on floats: every new influence would recompile it)."""
        import torch

        for scaling, name, base in self._slot_scaling:
            current = scaling[name]
            if isinstance(current, torch.Tensor):
                current.fill_(base * scale)
            else:
                scaling[name] = base * scale

    def prune(self, live_keys: Callable[[list[str]], set[str]]) -> int:
        """Drop loaded adapters whose blob key no record serves any more; returns how many.

        ``live_keys(keys)`` answers which of ``keys`` are still referenced (one query)."""
        if not self._loaded:
            return 0
        live = live_keys(list(self._keys.values()))
        dead = [identity for identity, key in self._keys.items() if key not in live]
        for identity in dead:
            self._evict(identity)
        return len(dead)

    def clear(self) -> None:
        """Delete every loaded adapter."""
        if self._loaded or self._slot_filled:
            self.pipe.delete_adapters(
                sorted(set(self._loaded.values()) | ({HOTSWAP_SLOT} if self._slot_filled else set()))
            )
        self._slot_filled = False
        self._loaded.clear()
        self._keys.clear()
