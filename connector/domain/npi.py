"""The US National Provider Identifier's check digit, to catch a mistyped prescriber map."""

from __future__ import annotations


def is_valid_npi(npi: str) -> bool:
    """Ten digits whose last is the Luhn check digit over "80840" and the first nine."""
    if len(npi) != 10 or not npi.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed("80840" + npi[:9])):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10 == int(npi[9])
