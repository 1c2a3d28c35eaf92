"""Where settings come from, and the value rules shared by several settings: lists from
JSON or commas, secrets from files (systemd credentials, Kubernetes secret mounts), and
partner URLs that must use TLS."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

ENV_PREFIX = "CONNECTOR_"


def split_list(value: Any) -> Any:
    """A list from a JSON array, or from a string separated by commas or newlines (a secret
    file with one value per line); anything else unchanged."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ValueError("is neither a JSON array nor a comma-separated list") from exc
    return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


SECRETS_DIR_VARIABLE = "CONNECTOR_SECRETS_DIR"
CREDENTIALS_DIR_VARIABLE = "CREDENTIALS_DIRECTORY"  # set by systemd for LoadCredential=


def setting_path(file_name: str) -> list[str] | None:
    """`rxscale.api_key` or `CONNECTOR_RXSCALE__API_KEY` → ["rxscale", "api_key"]."""
    if file_name.upper().startswith(ENV_PREFIX):
        parts = file_name[len(ENV_PREFIX) :].lower().split("__")
    else:
        parts = file_name.lower().split(".")
    return parts if all(part.isidentifier() for part in parts) else None


class SecretFilesSource(PydanticBaseSettingsSource):
    """One setting per file: systemd credentials ($CREDENTIALS_DIRECTORY) and mounted
    Kubernetes secrets ($CONNECTOR_SECRETS_DIR). Secrets then never sit in the environment,
    where every child process and `/proc/<pid>/environ` could read them."""

    def __init__(self, settings_cls: type[BaseSettings], directories: list[Path]) -> None:
        super().__init__(settings_cls)
        self.directories = directories

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # everything is read in __call__

    def __call__(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for directory in self.directories:
            if not directory.is_dir():
                continue
            for file in sorted(directory.iterdir()):
                path = setting_path(file.name)
                if path is None or not file.is_file():
                    continue
                node = data
                for part in path[:-1]:
                    node = node.setdefault(part, {})
                    if not isinstance(node, dict):
                        break
                else:
                    node.setdefault(path[-1], file.read_text().strip())
        return data


def secret_directories() -> list[Path]:
    names = (os.environ.get(SECRETS_DIR_VARIABLE), os.environ.get(CREDENTIALS_DIR_VARIABLE))
    return [Path(name) for name in names if name]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_upstream_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if not parts.hostname:
        raise ValueError(f"{value!r} is not an absolute URL")
    if parts.scheme == "https":
        return value.strip().rstrip("/")
    if parts.scheme == "http" and is_loopback(parts.hostname):
        return value.strip().rstrip("/")
    raise ValueError(
        f"{value!r} must use https:// (plain http:// is allowed only to a loopback address)"
    )
