from __future__ import annotations

from pathlib import Path

import pytest

from connector.settings import (
    CONFIG_FILE_VARIABLE,
    ConfigurationError,
    Settings,
    StorageSettings,
    isolated,
    load,
)

REQUIRED = {
    "CONNECTOR_RXSCALE__API_KEY": "rk",
    "CONNECTOR_RXSCALE__WEBHOOK_SECRETS": "whsec_first_0123456789",
    "CONNECTOR_EMPOWER__API_KEY": "ek",
    "CONNECTOR_EMPOWER__WEBHOOK_KEYS": "empower-key-0123456789",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("CONNECTOR_"):
            monkeypatch.delenv(name)


def set_env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, REQUIRED)
    settings = load(Settings)
    assert settings.database_url == "sqlite:///connector.db"
    assert (settings.http.host, settings.http.port) == ("127.0.0.1", 8080)
    assert settings.empower.default_shipping_method == "standard"
    assert settings.rxscale.base_url == "https://api.rxscale.com/v1/external_pharmacy_api"
    assert settings.rxscale.pharmacy_uid is None


LONG_A, LONG_B, LONG_C = ("whsec_" + letter * 16 for letter in "abc")


@pytest.mark.parametrize(
    "value", [f"{LONG_A},{LONG_B} , {LONG_C}", f'["{LONG_A}", "{LONG_B}", "{LONG_C}"]']
)
def test_lists_as_json_or_comma_separated(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    set_env(monkeypatch, {**REQUIRED, "CONNECTOR_RXSCALE__WEBHOOK_SECRETS": value})
    secrets = [s.get_secret_value() for s in load(Settings).rxscale.webhook_secrets]
    assert secrets == [LONG_A, LONG_B, LONG_C]


def test_every_documented_name_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        {
            **REQUIRED,
            "CONNECTOR_DATABASE_URL": "postgresql://u:p@db/c",
            "CONNECTOR_HTTP__HOST": "0.0.0.0",
            "CONNECTOR_HTTP__PORT": "9001",
            "CONNECTOR_RXSCALE__BASE_URL": "https://api.rxscale-dev.com/v1/external_pharmacy_api",
            "CONNECTOR_RXSCALE__PHARMACY_UID": "ph-9",
            "CONNECTOR_EMPOWER__BASE_URL": "https://sandbox.example",
            "CONNECTOR_EMPOWER__DEFAULT_SHIPPING_METHOD": "overnight",
            "CONNECTOR_WORKER__CONCURRENCY": "9",
            "CONNECTOR_WORKER__RETRY_FOR_SECONDS": "3",
            "CONNECTOR_WORKER__BACKOFF_BASE_SECONDS": "0.5",
            "CONNECTOR_WORKER__BACKOFF_MAX_SECONDS": "60",
        },
    )
    s = load(Settings)
    assert s.database_url == "postgresql://u:p@db/c"
    assert (s.http.host, s.http.port) == ("0.0.0.0", 9001)
    assert s.rxscale.base_url.startswith("https://api.rxscale-dev.com")
    assert s.rxscale.pharmacy_uid == "ph-9"
    assert s.empower.base_url == "https://sandbox.example"
    assert s.empower.default_shipping_method == "overnight"
    assert (s.worker.concurrency, s.worker.retry_for_seconds) == (9, 3.0)
    assert (s.worker.backoff_base_seconds, s.worker.backoff_max_seconds) == (0.5, 60.0)


def test_missing_values_are_named_one_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {k: v for k, v in REQUIRED.items() if "EMPOWER__API_KEY" not in k})
    with pytest.raises(ConfigurationError) as caught:
        load(Settings)
    assert caught.value.problems == ["CONNECTOR_EMPOWER__API_KEY: Field required"]


@pytest.mark.parametrize(
    "url",
    ["http://api.rxscale.com/v1", "ftp://x", "not a url"],
)
def test_plain_http_is_refused_except_to_loopback(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    set_env(monkeypatch, {**REQUIRED, "CONNECTOR_RXSCALE__BASE_URL": url})
    with pytest.raises(ConfigurationError) as caught:
        load(Settings)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith("CONNECTOR_RXSCALE__BASE_URL: ")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8081", "http://localhost/x", "http://[::1]:9"])
def test_plain_http_to_loopback_is_fine(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    set_env(monkeypatch, {**REQUIRED, "CONNECTOR_EMPOWER__BASE_URL": url})
    assert load(Settings).empower.base_url == url.rstrip("/")


def test_toml_file_and_environment_priority(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "connector.toml"
    config.write_text(
        '[rxscale]\napi_key = "from-file"\n'
        'webhook_secrets = ["whsec_file_one_0123", "whsec_file_two_0123"]\n'
        '[empower]\napi_key = "from-file"\nwebhook_keys = ["empower-file-key-0123"]\n'
        "[worker]\nconcurrency = 2\n"
    )
    set_env(
        monkeypatch,
        {CONFIG_FILE_VARIABLE: str(config), "CONNECTOR_EMPOWER__API_KEY": "from-env"},
    )
    settings = load(Settings)
    assert settings.rxscale.api_key.get_secret_value() == "from-file"
    assert len(settings.rxscale.webhook_secrets) == 2
    assert settings.empower.api_key.get_secret_value() == "from-env"
    assert settings.worker.concurrency == 2


def test_missing_config_file_is_one_clear_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {CONFIG_FILE_VARIABLE: "/nonexistent/connector.toml"})
    with pytest.raises(ConfigurationError) as caught:
        load(StorageSettings)
    assert caught.value.problems == [
        "CONNECTOR_CONFIG_FILE: no such file '/nonexistent/connector.toml'"
    ]


def test_storage_settings_need_no_partner_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {"CONNECTOR_DATABASE_URL": "sqlite:///x.db"})
    assert load(StorageSettings).database_url == "sqlite:///x.db"


def test_isolated_settings_ignore_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {**REQUIRED, "CONNECTOR_WORKER__CONCURRENCY": "77"})
    settings = isolated(
        Settings,
        rxscale={"api_key": "a", "webhook_secrets": ["whsec_isolated_0123"]},
        empower={"api_key": "b", "webhook_keys": ["empower-isolated-0123"]},
    )
    assert settings.worker.concurrency == 4
    assert settings.rxscale.api_key.get_secret_value() == "a"


def test_secrets_do_not_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    secret_values = {
        "CONNECTOR_RXSCALE__API_KEY": "canary-rxscale-key",
        "CONNECTOR_RXSCALE__WEBHOOK_SECRETS": "canary-signing-secret",
        "CONNECTOR_EMPOWER__API_KEY": "canary-empower-key",
        "CONNECTOR_EMPOWER__WEBHOOK_KEYS": "canary-webhook-key",
    }
    set_env(monkeypatch, secret_values)
    text = repr(load(Settings)) + str(load(Settings).model_dump())
    assert "canary" not in text


def test_the_example_configuration_loads_once_its_placeholders_are_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    example = Path(__file__).resolve().parents[2] / "config" / "connector.example.toml"
    set_env(monkeypatch, {CONFIG_FILE_VARIABLE: str(example)})
    with pytest.raises(ConfigurationError) as refused:
        load(Settings)
    assert set(refused.value.problems) == {
        "CONNECTOR_RXSCALE__API_KEY: is the example placeholder, not a real secret",
        "CONNECTOR_RXSCALE__WEBHOOK_SECRETS: is the example placeholder, not a real secret",
        "CONNECTOR_EMPOWER__API_KEY: is the example placeholder, not a real secret",
        "CONNECTOR_EMPOWER__WEBHOOK_KEYS: is the example placeholder, not a real secret",
    }
    set_env(monkeypatch, REQUIRED)  # the environment wins over the file
    settings = load(Settings)
    assert len(settings.rxscale.webhook_secrets) == 1
    assert settings.worker.lease_seconds == 60
    assert settings.mapping.products["sku-sema"] == "EMP-SEMA-025"
    assert settings.mapping.prescribers == {"doc-1001": "1234567893"}
    assert settings.reconcile.interval_seconds == 300


def test_mapping_and_paths_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        {
            **REQUIRED,
            "CONNECTOR_COMPLETE_ON": "delivered",
            "CONNECTOR_MAPPING__PRODUCTS": '{"sku-1": "EMP-1", "18234561": "EMP-2"}',
            "CONNECTOR_MAPPING__PRESCRIBERS": '{"doc-1": "1234567893"}',
            "CONNECTOR_MAPPING__REQUIRE_NPI": "true",
            "CONNECTOR_RECONCILE__INTERVAL_SECONDS": "60",
            "CONNECTOR_RECONCILE__STALE_AFTER_SECONDS": "600",
            "CONNECTOR_STOCK__SYNC_INTERVAL_SECONDS": "900",
            "CONNECTOR_RXSCALE__RATE_LIMIT_PER_SECOND": "5",
        },
    )
    s = load(Settings)
    assert s.complete_on.value == "delivered"
    assert s.mapping.products == {"sku-1": "EMP-1", "18234561": "EMP-2"}
    assert s.mapping.prescribers == {"doc-1": "1234567893"}
    assert s.mapping.require_npi is True
    assert (s.reconcile.interval_seconds, s.reconcile.stale_after_seconds) == (60, 600)
    assert s.stock.sync_interval_seconds == 900
    assert (s.rxscale.rate_limit_per_second, s.rxscale.rate_limit_per_minute) == (5, 600)


def test_defaults_for_the_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, REQUIRED)
    s = load(Settings)
    assert s.complete_on.value == "shipped"
    assert s.stock.sync_interval_seconds is None
    assert s.reconcile.interval_seconds == 300
    assert (s.rxscale.rate_limit_per_second, s.rxscale.rate_limit_per_minute) == (10, 600)


def test_a_mistyped_npi_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {**REQUIRED, "CONNECTOR_MAPPING__PRESCRIBERS": '{"doc-9": "1234567890"}'})
    with pytest.raises(ConfigurationError) as caught:
        load(Settings)
    assert caught.value.problems == [
        "CONNECTOR_MAPPING__PRESCRIBERS: not a valid NPI for prescriber(s) doc-9"
    ]


def test_an_unknown_completion_point_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, {**REQUIRED, "CONNECTOR_COMPLETE_ON": "whenever"})
    with pytest.raises(ConfigurationError) as caught:
        load(Settings)
    assert caught.value.problems[0].startswith("CONNECTOR_COMPLETE_ON: ")


def test_secrets_from_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "rxscale.api_key").write_text("from-a-credential\n")
    (credentials / "rxscale.webhook_secrets").write_text(
        "whsec_one_0123456789\nwhsec_two_0123456789\n"
    )
    (credentials / "CONNECTOR_EMPOWER__WEBHOOK_KEYS").write_text(
        "empower-key-one-0123,empower-key-two-0123"
    )
    (credentials / "not a setting!").write_text("ignored")
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    (mounted / "empower.api_key").write_text("from-a-mounted-secret")
    set_env(
        monkeypatch,
        {
            "CREDENTIALS_DIRECTORY": str(credentials),
            "CONNECTOR_SECRETS_DIR": str(mounted),
            "CONNECTOR_RXSCALE__PHARMACY_UID": "ph-1",
        },
    )
    s = load(Settings)
    assert s.rxscale.api_key.get_secret_value() == "from-a-credential"
    assert [x.get_secret_value() for x in s.rxscale.webhook_secrets] == [
        "whsec_one_0123456789",
        "whsec_two_0123456789",
    ]
    assert [x.get_secret_value() for x in s.empower.webhook_keys] == [
        "empower-key-one-0123",
        "empower-key-two-0123",
    ]
    assert s.empower.api_key.get_secret_value() == "from-a-mounted-secret"
    assert s.rxscale.pharmacy_uid == "ph-1"


def test_the_environment_wins_over_secret_files(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "rxscale.api_key").write_text("from-file")
    set_env(monkeypatch, {**REQUIRED, "CONNECTOR_SECRETS_DIR": str(tmp_path)})
    assert load(Settings).rxscale.api_key.get_secret_value() == "rk"


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("CONNECTOR_EMPOWER__WEBHOOK_KEYS", "short-key", "is shorter than 16 characters"),
        ("CONNECTOR_RXSCALE__WEBHOOK_SECRETS", "whsec_short", "is shorter than 16 characters"),
        ("CONNECTOR_EMPOWER__WEBHOOK_KEYS", "Replace-Me-with-a-long-key", "example placeholder"),
        ("CONNECTOR_RXSCALE__API_KEY", "CHANGE-ME", "example placeholder"),
        ("CONNECTOR_EMPOWER__API_KEY", "   ", "is empty"),
    ],
)
def test_weak_or_placeholder_secrets_refuse_to_start(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, problem: str
) -> None:
    set_env(monkeypatch, {**REQUIRED, variable: value})
    with pytest.raises(ConfigurationError) as refused:
        load(Settings)
    [line] = refused.value.problems
    assert line.startswith(f"{variable}: ")
    assert problem in line
    assert value.strip() == "" or value not in str(refused.value)


def test_network_settings_read_cidr_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(
        monkeypatch,
        {
            **REQUIRED,
            "CONNECTOR_EMPOWER__WEBHOOK_ALLOWED_SOURCES": "203.0.113.0/24, 2001:db8::/32",
            "CONNECTOR_HTTP__TRUSTED_PROXIES": "10.0.0.0/8",
            "CONNECTOR_EMPOWER__WEBHOOK_AUTH_FORMS": "bearer,basic_username",
        },
    )
    settings = load(Settings)
    assert [str(n) for n in settings.empower.webhook_allowed_sources] == [
        "203.0.113.0/24",
        "2001:db8::/32",
    ]
    assert [str(n) for n in settings.http.trusted_proxies] == ["10.0.0.0/8"]
    assert [f.value for f in settings.empower.webhook_auth_forms] == ["bearer", "basic_username"]
    set_env(monkeypatch, {"CONNECTOR_EMPOWER__WEBHOOK_ALLOWED_SOURCES": "203.0.113.7/24"})
    with pytest.raises(ConfigurationError):
        load(Settings)  # host bits set: almost certainly a typo for a single address or /24
