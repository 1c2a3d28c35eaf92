"""The sandbox checks requests against its own rules, written from the contract
(connector.sandbox.contract), not against the connector's client models: a client model
that gets a field wrong is refused, where a sandbox sharing the model would mirror it."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

import connector.empower.client
import connector.rxscale.client
from connector.domain.empower import PatientRequest, PostalAddress, Tracking
from connector.domain.errors import PermanentError
from connector.empower.client import EmpowerClient
from connector.empower.models import AddressModel
from connector.partner.wire import WireModel
from connector.rxscale.client import RxScaleClient
from connector.sandbox import contract
from connector.sandbox.runner import RunningSandbox

PATIENT = PatientRequest(
    external_id="pat-1",
    first_name="Ada",
    last_name="Achterberg",
    date_of_birth="1980-02-03",
    email="ada@example.org",
    address=PostalAddress("Lindenweg 4", city="Berlin", zip="10115", country="DE"),
)


class PatientWithDob(WireModel):
    """A client model with one field misnamed: `dob` where the contract says
    `date_of_birth`."""

    external_id: str
    first_name: str
    last_name: str
    dob: str
    address: AddressModel | None = None

    @classmethod
    def from_domain(cls, request: PatientRequest) -> PatientWithDob:
        return cls(
            external_id=request.external_id,
            first_name=request.first_name,
            last_name=request.last_name,
            dob=request.date_of_birth,
            address=AddressModel.from_domain(request.address),
        )


class CompletionWithTracking(WireModel):
    """`tracking` where the contract's assumed body says `tracking_number`."""

    tracking: str

    @classmethod
    def from_domain(cls, tracking: Tracking) -> CompletionWithTracking:
        return cls(tracking=tracking.tracking_number)


async def test_a_misnamed_empower_field_is_refused(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = EmpowerClient(sandbox.empower_url, sandbox.empower.api_key)
    try:
        assert (await client.create_patient(PATIENT, "key-right")).startswith("pt_")
        monkeypatch.setattr(connector.empower.client, "PatientModel", PatientWithDob)
        with pytest.raises(PermanentError) as caught:
            await client.create_patient(PATIENT, "key-wrong")
    finally:
        await client.close()
    assert caught.value.status == 400
    assert "date_of_birth: is required" in caught.value.message
    assert "dob: is not a field" in caught.value.message


async def test_a_misnamed_rxscale_field_is_refused(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    uid = sandbox.rxscale.add_order(status="in-progress")
    monkeypatch.setattr(connector.rxscale.client, "CompleteOrderModel", CompletionWithTracking)
    client = RxScaleClient(sandbox.rxscale_url, sandbox.rxscale.api_key)
    try:
        with pytest.raises(PermanentError) as caught:
            await client.complete_order(uid, Tracking("9400", "usps"))
    finally:
        await client.close()
    assert caught.value.status == 400
    assert "tracking: is not a field" in caught.value.message
    assert sandbox.rxscale.orders[uid].status == "in-progress"


async def test_the_introductions_order_example_is_accepted(sandbox: RunningSandbox) -> None:
    """Empower's own example names one `prescription_token` and no external id."""
    empower = sandbox.empower
    headers = {"Authorization": f"Bearer {empower.api_key}"}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def post(path: str, body: dict[str, Any]) -> Any:
            async with session.post(f"{sandbox.empower_url}{path}", json=body) as response:
                assert response.status == 201, await response.text()
                return (await response.json())["data"]

        patient = await post("/v1/patients", PATIENT_BODY)
        prescription = await post(
            "/v1/prescriptions",
            {
                "external_id": "oi-1",
                "patient_token": patient["patient_token"],
                "prescriber": {"name": "Dr. Mira Sommer"},
                "medication": {"product_id": "EMP-SEMA-025", "quantity": 1},
            },
        )
        order = await post(
            "/v1/orders",
            {
                "patient_token": patient["patient_token"],
                "prescription_token": prescription["prescription_token"],
                "shipping_method": "standard",
            },
        )
    assert order["request_id"].startswith("fill_request_")


PATIENT_BODY = {
    "external_id": "pat-2",
    "first_name": "Bruno",
    "last_name": "Brandt",
    "date_of_birth": "1975-05-06",
    "address": {"line1": "Am Markt 1", "city": "Köln", "zip": "50667", "country": "DE"},
}


@pytest.mark.parametrize(
    ("rule", "document", "problem"),
    [
        (contract.RXSCALE_STATUS_UPDATE, {"status": "pending review"}, None),
        (contract.RXSCALE_STATUS_UPDATE, {"status": "on-hold", "comment": "why"}, None),
        (contract.RXSCALE_STATUS_UPDATE, {}, "status: is required"),
        (contract.RXSCALE_STATUS_UPDATE, {"status": 3}, "status: must be a string"),
        (contract.RXSCALE_STOCK_UPDATE, {"stock": -1}, "stock: must be at least 0"),
        (contract.RXSCALE_STOCK_UPDATE, {"stock": True}, "stock: must be an integer"),
        (contract.EMPOWER_PATIENT, PATIENT_BODY, None),
        (
            contract.EMPOWER_PATIENT,
            {**PATIENT_BODY, "address": {"line1": "x"}},
            "address.city: is required",
        ),
        (
            contract.EMPOWER_ORDER,
            {"patient_token": "pt", "shipping_method": "s", "prescription_tokens": []},
            "prescription_tokens: must have at least 1 item(s)",
        ),
        (contract.EMPOWER_ORDER, [], "body: must be an object"),
    ],
)
def test_the_rules_read_as_the_contract_does(
    rule: contract.Rule, document: object, problem: str | None
) -> None:
    if problem is None:
        contract.check(rule, document)
        return
    with pytest.raises(contract.Violation, match=problem.replace("(", r"\(").replace(")", r"\)")):
        contract.check(rule, document)
