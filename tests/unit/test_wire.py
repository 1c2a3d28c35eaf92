"""Reading a webhook body (connector.partner.wire.load_json_object): a lone UTF-16
surrogate is refused in every form `json.loads` accepts it, and text that only looks
like one is read."""

from __future__ import annotations

import pytest

from connector.domain.errors import MalformedDelivery
from connector.partner.wire import load_json_object

LONE_SURROGATES = {
    "escaped": b'{"uid": "po-\\ud800"}',
    "escaped in lowercase hex, low half": b'{"uid": "po-\\udfff"}',
    "raw UTF-8 bytes of one": b'{"uid": "po-\xed\xa0\x80"}',
    "in a key": b'{"\\uDC00": 1}',
    "in a UTF-16 body": '{"uid": "po-\ud800"}'.encode("utf-16-le", "surrogatepass"),
    "in a UTF-32 body": '{"uid": "po-\udc00"}'.encode("utf-32-be", "surrogatepass"),
    "deep in an array": b'{"data": [[{"note": "\\ud9ff"}]]}',
}


@pytest.mark.parametrize("body", LONE_SURROGATES.values(), ids=list(LONE_SURROGATES))
def test_a_lone_surrogate_is_refused_in_every_form(body: bytes) -> None:
    with pytest.raises(MalformedDelivery, match="not valid Unicode text"):
        load_json_object(body)


@pytest.mark.parametrize(
    ("body", "uid"),
    [
        (b'{"uid": "po-\\ud83d\\ude00"}', "po-\U0001f600"),  # a pair: one character
        ('{"uid": "Zoë \U0001f600"}'.encode(), "Zoë \U0001f600"),
        (b'{"uid": "po-\\u00e9"}', "po-é"),
        (b'{"uid": "po-\\\\ud800"}', "po-\\ud800"),  # an escaped backslash: plain text
        ('{"uid": "po-1"}'.encode("utf-16"), "po-1"),
    ],
)
def test_text_that_only_resembles_a_surrogate_is_read(body: bytes, uid: str) -> None:
    assert load_json_object(body)["uid"] == uid
