from __future__ import annotations

from dataclasses import replace

from connector.domain.mapping import (
    IdempotencyKeys,
    MappingPolicy,
    PlacementPlan,
    Unmappable,
    map_order,
    patient_names,
)
from connector.domain.order import (
    Address,
    Doctor,
    OrderItem,
    Patient,
    PharmacyOrder,
    PrescriptionFile,
)


def make_order(**changes: object) -> PharmacyOrder:
    order = PharmacyOrder(
        uid="po-1",
        status="waiting for pharmacy",
        name="#1001",
        items=(
            OrderItem(uid="oi-1", amount=2, sku_uid="sku-a", pzn="111", external_id="EMP-A"),
            OrderItem(uid="oi-2", amount=1, sku_uid="sku-b", pzn="222", external_id="EMP-B"),
        ),
        delivery_address=Address(
            first_name="Jane",
            last_name="Doe",
            street="Main St",
            house_number="5",
            zip_code="10115",
            city="Berlin",
            country="DE",
            additional_address="Apt 2",
            province="BE",
        ),
        patient=Patient(
            uid="pat-1", display_name="Jane Doe", email="j@x.org", date_of_birth="1980-01-02"
        ),
        doctor=Doctor(uid="doc-1", display_name="Dr. Who"),
        prescription_file=PrescriptionFile("rx.pdf", "UERG"),
        shipping_method_identifiers=("UPS_2DAY",),
        delivery_type_identifier="standard",
    )
    return replace(order, **changes)  # type: ignore[arg-type]


def plan_of(order: PharmacyOrder, policy: MappingPolicy | None = None) -> PlacementPlan:
    plan = map_order(order, policy or MappingPolicy())
    assert isinstance(plan, PlacementPlan), plan
    return plan


def test_one_prescription_per_item_with_product_and_quantity() -> None:
    plan = plan_of(make_order())
    assert [(p.item_uid, p.product_id, p.quantity) for p in plan.prescriptions] == [
        ("oi-1", "EMP-A", 2),
        ("oi-2", "EMP-B", 1),
    ]
    assert all(p.prescriber.name == "Dr. Who" for p in plan.prescriptions)
    assert all(
        p.document is not None and p.document.filename == "rx.pdf" for p in plan.prescriptions
    )


def test_patient_and_address_are_mapped_field_by_field() -> None:
    plan = plan_of(make_order())
    assert plan.patient.external_id == "pat-1"
    assert (plan.patient.first_name, plan.patient.last_name) == ("Jane", "Doe")
    assert plan.patient.date_of_birth == "1980-01-02"
    address = plan.shipping_address
    assert address is not None
    assert (
        address.line1,
        address.line2,
        address.city,
        address.state,
        address.zip,
        address.country,
    ) == (
        "Main St 5",
        "Apt 2",
        "Berlin",
        "BE",
        "10115",
        "DE",
    )


def test_order_request_carries_the_rxscale_uid_as_external_order_id() -> None:
    request = plan_of(make_order()).order_request("po-1", "pt_1", ("rx_1", "rx_2"))
    assert request.external_order_id == "po-1"
    assert request.prescription_tokens == ("rx_1", "rx_2")
    assert request.shipping_method == "UPS_2DAY"


def test_shipping_method_falls_back_to_delivery_type_then_default() -> None:
    no_mapping = make_order(shipping_method_identifiers=())
    assert plan_of(no_mapping).shipping_method == "standard"
    neither = make_order(shipping_method_identifiers=(), delivery_type_identifier=None)
    assert (
        plan_of(neither, MappingPolicy(default_shipping_method="ground")).shipping_method
        == "ground"
    )


def test_product_map_by_sku_uid_or_pzn_wins_over_external_id() -> None:
    policy = MappingPolicy(product_map={"sku-a": "EMP-A2", "222": "EMP-B2"})
    assert [p.product_id for p in plan_of(make_order(), policy).prescriptions] == [
        "EMP-A2",
        "EMP-B2",
    ]


def test_an_item_without_product_is_named_never_guessed() -> None:
    items = (OrderItem(uid="oi-9", amount=1, sku_uid="sku-x", pzn="999", sku_name="Mystery"),)
    result = map_order(make_order(items=items), MappingPolicy())
    assert isinstance(result, Unmappable)
    assert len(result.missing) == 1
    assert "sku-x" in result.missing[0]
    assert "999" in result.missing[0]
    assert "sku-x" in result.comment()


def test_required_npi_missing_from_prescriber_map_is_unmappable() -> None:
    result = map_order(make_order(), MappingPolicy(require_npi=True))
    assert isinstance(result, Unmappable)
    assert any("doc-1" in m for m in result.missing)
    with_npi = MappingPolicy(require_npi=True, prescriber_npis={"doc-1": "1234567893"})
    assert all(
        p.prescriber.npi == "1234567893" for p in plan_of(make_order(), with_npi).prescriptions
    )


def test_missing_patient_or_doctor_is_unmappable() -> None:
    for changes in ({"patient": None}, {"doctor": None}):
        assert isinstance(map_order(make_order(**changes), MappingPolicy()), Unmappable)


def test_patient_names_prefer_structured_names_only_when_they_match() -> None:
    address = Address(first_name="Anna Maria", last_name="von Berg")
    assert patient_names("Anna Maria von Berg", address) == ("Anna Maria", "von Berg")
    assert patient_names("", address) == ("Anna Maria", "von Berg")
    assert patient_names("Carl Recipient", address) == ("Carl", "Recipient")
    assert patient_names("Cher", None) == ("Cher", "")


def test_idempotency_keys_are_stable_and_change_with_generation() -> None:
    first, again = IdempotencyKeys("po-1"), IdempotencyKeys("po-1")
    assert first.order() == again.order()
    assert first.prescription("oi-1") != first.prescription("oi-2")
    assert IdempotencyKeys("po-1", generation=1).order() != first.order()
    assert len({first.patient(), first.order(), first.prescription("oi-1")}) == 3


def test_reprs_never_show_patient_values() -> None:
    order = make_order()
    plan = plan_of(order)
    text = repr(order) + repr(plan)
    for value in ("Jane", "Doe", "j@x.org", "1980-01-02", "Main St", "Berlin", "UERG"):
        assert value not in text


def test_sensitive_values_cover_the_patient() -> None:
    values = make_order().sensitive_values()
    assert {"Jane Doe", "j@x.org", "1980-01-02", "Main St 5", "Berlin"} <= values
