"""Configuration: environment (`CONNECTOR_…`, nested with `__`), secret files, an optional
TOML file named by `CONNECTOR_CONFIG_FILE`, and keyword arguments (see `settings_sources`).
The settings classes here say what each setting means and what values it takes.

Read once by the commands and passed down; nothing reads the environment at import time.

Longer than our other modules on purpose: it is the one place an operator reads to learn
every setting, its default and its bounds, so its sections stay together.
"""

from __future__ import annotations

import os
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from connector.domain.news import CompletionPoint
from connector.domain.npi import is_valid_npi
from connector.domain.retry import DEFAULT_RETRY_FOR_SECONDS
from connector.empower.webhook import AuthForm
from connector.settings_sources import (
    ENV_PREFIX,
    SecretFilesSource,
    check_upstream_url,
    secret_directories,
    split_list,
)

CONFIG_FILE_VARIABLE = "CONNECTOR_CONFIG_FILE"
DEFAULT_DATABASE_URL = "sqlite:///connector.db"
DEFAULT_RXSCALE_URL = "https://api.rxscale.com/v1/external_pharmacy_api"
DEFAULT_EMPOWER_URL = "https://api.empowerpharmacy.com"
ONE_MIB = 1024 * 1024


class ConfigurationError(Exception):
    """Settings that cannot start the connector; each line names one setting."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


MIN_WEBHOOK_SECRET_LENGTH = 16
# Words of the example configurations: a value holding one was copied, not chosen.
PLACEHOLDER_WORDS = ("replace-me", "replace_me", "change-me", "change_me", "changeme")


def _not_a_placeholder(value: SecretStr) -> SecretStr:
    text = value.get_secret_value().lower()
    if any(word in text for word in PLACEHOLDER_WORDS):
        raise ValueError("is the example placeholder, not a real secret")
    if not text.strip():
        raise ValueError("is empty")
    return value


def _long_enough(value: SecretStr) -> SecretStr:
    if len(value.get_secret_value()) < MIN_WEBHOOK_SECRET_LENGTH:
        raise ValueError(
            f"is shorter than {MIN_WEBHOOK_SECRET_LENGTH} characters: too easy to guess"
        )
    return value


ApiKey = Annotated[SecretStr, AfterValidator(_not_a_placeholder)]
WebhookSecret = Annotated[
    SecretStr, AfterValidator(_not_a_placeholder), AfterValidator(_long_enough)
]
Secrets = Annotated[list[WebhookSecret], NoDecode, Field(min_length=1)]
Networks = Annotated[list[IPv4Network | IPv6Network], NoDecode]


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=ONE_MIB, ge=1024)
    # A client must send its request line and headers within this, and its body within
    # this again; an idle kept-alive connection is closed after `idle_timeout_seconds`.
    read_timeout_seconds: float = Field(default=10.0, gt=0)
    idle_timeout_seconds: float = Field(default=15.0, gt=0)
    # Peers whose X-Forwarded-For is believed (a load balancer or ingress); nobody else's.
    trusted_proxies: Networks = Field(default_factory=list)
    # Serve /metrics on its own listener (e.g. 127.0.0.1 or a cluster-internal address),
    # so that the internet-facing port carries only webhooks and health. Unset: the
    # webhook listener serves /metrics too.
    metrics_host: str | None = None
    metrics_port: int | None = Field(default=None, ge=0, le=65535)

    _split = field_validator("trusted_proxies", mode="before")(split_list)

    @model_validator(mode="after")
    def _metrics_listener_whole(self) -> HttpSettings:
        if (self.metrics_host is None) != (self.metrics_port is None):
            raise ValueError("metrics_host and metrics_port are set together or not at all")
        return self

    @property
    def separate_metrics(self) -> bool:
        return self.metrics_port is not None

    # On SIGTERM, keep answering webhooks this long with readiness already false, so that a
    # load balancer stops sending before the listener closes (Kubernetes: a few seconds).
    shutdown_delay_seconds: float = Field(default=0.0, ge=0)


class RxScaleApiSettings(BaseModel):
    """What it takes to call RxScale's API (enough for `connector webhooks`)."""

    base_url: str = DEFAULT_RXSCALE_URL
    api_key: ApiKey
    pharmacy_uid: str | None = None
    timeout_seconds: float = Field(default=10.0, gt=0)

    _check_url = field_validator("base_url")(check_upstream_url)


class RxScaleSettings(RxScaleApiSettings):
    webhook_secrets: Secrets
    # RxScale's documented limits per key; on PostgreSQL the replicas share them.
    # 0 turns a limit off.
    rate_limit_per_second: int = Field(default=10, ge=0)
    rate_limit_per_minute: int = Field(default=600, ge=0)

    _split = field_validator("webhook_secrets", mode="before")(split_list)


class EmpowerSettings(BaseModel):
    base_url: str = DEFAULT_EMPOWER_URL
    api_key: ApiKey
    webhook_keys: Secrets
    # Where in the Authorization header Empower's deliveries may carry a key. All three
    # until you know which one Empower uses (the `auth_form` of `webhook_received`).
    webhook_auth_forms: Annotated[list[AuthForm], NoDecode] = Field(
        default_factory=lambda: list(AuthForm), min_length=1
    )
    # Source addresses Empower's deliveries may come from (CIDR); empty accepts any.
    webhook_allowed_sources: Networks = Field(default_factory=list)
    # Before completing an order at RxScale, ask Empower's API whether the shipment a
    # webhook reported is really there, with the same tracking number.
    confirm_shipments: bool = True
    default_shipping_method: str = Field(default="standard", min_length=1)
    timeout_seconds: float = Field(default=15.0, gt=0)

    _check_url = field_validator("base_url")(check_upstream_url)
    _split = field_validator(
        "webhook_keys", "webhook_auth_forms", "webhook_allowed_sources", mode="before"
    )(split_list)


class MappingSettings(BaseModel):
    """What the order data does not say: Empower products and prescriber NPIs."""

    # Empower product id by RxScale SKU uid or PZN; wins over the SKU's external_id.
    products: dict[str, str] = Field(default_factory=dict)
    # NPI by RxScale doctor uid.
    prescribers: dict[str, str] = Field(default_factory=dict)
    # Refuse to send an order whose prescriber has no NPI in `prescribers`.
    require_npi: bool = False

    @field_validator("prescribers")
    @classmethod
    def _npis_are_valid(cls, value: dict[str, str]) -> dict[str, str]:
        wrong = sorted(uid for uid, npi in value.items() if not is_valid_npi(npi))
        if wrong:
            raise ValueError(f"not a valid NPI for prescriber(s) {', '.join(wrong)}")
        return value


class ReconcileSettings(BaseModel):
    """Finding what webhooks never told us."""

    # How often to look; 0 turns reconciliation off.
    interval_seconds: float = Field(default=300.0, ge=0)
    # A placed order with no news from Empower for this long is looked up there.
    stale_after_seconds: float = Field(default=7200.0, gt=0)


class StockSettings(BaseModel):
    """Empower's availability copied to RxScale's pharmacy SKUs; off unless an interval is set."""

    sync_interval_seconds: float | None = Field(default=None, gt=0)


class RetentionSettings(BaseModel):
    """How long what has served its purpose is kept: done jobs, the webhook dedupe record,
    and the history of orders at rest for good. Longer than any partner keeps retrying a
    delivery (a day or two), so that a late redelivery is still recognised. 0 keeps all."""

    days: float = Field(default=90.0, ge=0)


class WorkerSettings(BaseModel):
    # 0 runs a web-only replica: it records webhooks and leaves the jobs to others.
    concurrency: int = Field(default=4, ge=0, le=256)
    # A transient failure is retried for this long after a job first failed (72 h).
    retry_for_seconds: float = Field(default=DEFAULT_RETRY_FOR_SECONDS, ge=0)
    # A job whose worker vanished more often than this while running it is buried.
    max_lease_expiries: int = Field(default=5, ge=0)
    # Empower news whose order stays unknown this long is kept as unmatched, not retried.
    unmatched_after_seconds: float = Field(default=3600.0, ge=0)
    # How often to look for orders whose work died or vanished; 0 turns re-drive off.
    redrive_interval_seconds: float = Field(default=900.0, ge=0)
    backoff_base_seconds: float = Field(default=2.0, gt=0)
    backoff_max_seconds: float = Field(default=300.0, gt=0)
    lease_seconds: float = Field(default=60.0, ge=1)
    idle_seconds: float = Field(default=5.0, gt=0)
    shutdown_grace_seconds: float = Field(default=25.0, ge=0)

    @model_validator(mode="after")
    def _cap_not_below_base(self) -> WorkerSettings:
        if self.backoff_max_seconds < self.backoff_base_seconds:
            raise ValueError("backoff_max_seconds must not be below backoff_base_seconds")
        return self


class _Sources(BaseSettings):
    """Where every settings class reads from."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        directories = secret_directories()
        if directories:
            sources.append(SecretFilesSource(settings_cls, directories))
        config_file = os.environ.get(CONFIG_FILE_VARIABLE)
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


class StorageSettings(_Sources):
    """What the database commands need, and nothing more."""

    # May hold a password: kept out of reprs (a log line or traceback could show one).
    database_url: str = Field(default=DEFAULT_DATABASE_URL, repr=False)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"


class RxScaleAccess(StorageSettings):
    """What `connector webhooks` needs: RxScale's API, before any signing secret exists."""

    rxscale: RxScaleApiSettings

    @model_validator(mode="before")
    @classmethod
    def _section_present(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data.setdefault("rxscale", {})
        return data


class Settings(StorageSettings):
    """Everything `connector run` needs."""

    http: HttpSettings = Field(default_factory=HttpSettings)
    rxscale: RxScaleSettings
    empower: EmpowerSettings
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    complete_on: CompletionPoint = CompletionPoint.SHIPPED
    mapping: MappingSettings = Field(default_factory=MappingSettings)
    reconcile: ReconcileSettings = Field(default_factory=ReconcileSettings)
    stock: StockSettings = Field(default_factory=StockSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)

    @model_validator(mode="before")
    @classmethod
    def _sections_present(cls, data: Any) -> Any:
        # An absent section should report its missing fields by name, not "rxscale: required".
        if isinstance(data, dict):
            for section in ("rxscale", "empower"):
                data.setdefault(section, {})
        return data


S = TypeVar("S", bound=StorageSettings)


def load(kind: type[S], **overrides: Any) -> S:
    """Read settings, or raise `ConfigurationError` naming each bad setting."""
    config_file = os.environ.get(CONFIG_FILE_VARIABLE)
    if config_file and not Path(config_file).is_file():
        raise ConfigurationError([f"{CONFIG_FILE_VARIABLE}: no such file {config_file!r}"])
    try:
        return kind(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(describe_errors(exc)) from None


def describe_errors(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        path = [str(part) for part in item["loc"] if not isinstance(part, int)]
        variable = ENV_PREFIX + "__".join(path).upper() if path else "configuration"
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{variable}: {message}")
    return problems


def isolated(kind: type[S], **values: Any) -> S:
    """Settings from these values alone, ignoring the environment and any config file.

    The demo and the tests use it, so that a `CONNECTOR_…` variable in the user's shell
    cannot point them at a real partner or database.
    """

    class Isolated(kind):  # type: ignore[valid-type,misc]
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings,)

    result: S = Isolated(**values)
    return result
