"""Project rules: which IP fields an IP type takes, and how long they may be."""

from __future__ import annotations

from tailor.domain.enums import ILLUSTRATION_ONLY_IP_TYPES, IpMedium, IpType
from tailor.domain.errors import InvalidInput

IP_NAME_MAX_WORDS = 3
IP_DESCRIPTION_MAX_WORDS = 6
# ip_description is required for these types (and optional for the others)
IP_DESCRIPTION_REQUIRED = frozenset({IpType.defined_character, IpType.object_variants})


def _words(text: str) -> int:
    return len(text.split())


def check_medium(ip_medium: str, ip_type: str) -> None:
    """object_variants, multi_object_set, icons and character_variants are illustration-only."""
    if ip_type in ILLUSTRATION_ONLY_IP_TYPES and ip_medium != IpMedium.illustration:
        raise InvalidInput(
            f"ip_type {ip_type} is available only with ip_medium=illustration", field="ip_type"
        )


def check_ip_name(ip_type: str, ip_name: str | None) -> None:
    """ip_name: required for defined_character (1-3 words), refused for every other type."""
    if ip_type == IpType.defined_character:
        if ip_name is None or not ip_name.strip():
            raise InvalidInput("ip_name is required when ip_type is defined_character", field="ip_name")
        if _words(ip_name) > IP_NAME_MAX_WORDS:
            raise InvalidInput(f"ip_name must be 1-{IP_NAME_MAX_WORDS} words", field="ip_name")
    elif ip_name is not None and ip_name.strip():
        raise InvalidInput("ip_name is accepted only when ip_type is defined_character", field="ip_name")


def check_ip_description(ip_type: str, ip_description: str | None) -> None:
    """ip_description: required for defined_character and object_variants; at most 6 words."""
    if ip_description is None or not ip_description.strip():
        if ip_type in IP_DESCRIPTION_REQUIRED:
            raise InvalidInput(
                f"ip_description is required when ip_type is {ip_type}", field="ip_description"
            )
        return
    if _words(ip_description) > IP_DESCRIPTION_MAX_WORDS:
        raise InvalidInput(
            f"ip_description must be at most {IP_DESCRIPTION_MAX_WORDS} words", field="ip_description"
        )


def check_project(*, ip_medium: str, ip_type: str, ip_name: str | None, ip_description: str | None) -> None:
    """All project rules at once (create, and update with the merged values)."""
    check_medium(ip_medium, ip_type)
    check_ip_name(ip_type, ip_name)
    check_ip_description(ip_type, ip_description)
