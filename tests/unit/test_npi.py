"""The NPI check digit (connector.domain.npi)."""

from __future__ import annotations

from connector.domain.npi import is_valid_npi


def test_npi_check_digit() -> None:
    assert is_valid_npi("1234567893")
    assert not is_valid_npi("1234567890")
    assert not is_valid_npi("123456789")
    assert not is_valid_npi("12345678a3")
