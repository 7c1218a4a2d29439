"""TMF640 service documents for tests: every v4 attribute set, subclass attributes included."""

from __future__ import annotations

from typing import Any


def full_service(name: str, *, id: str | None = None, state: str = "designed", **extra: Any) -> dict[str, Any]:
    """A service carrying every TMF640 v4 Service attribute and sub-resource (plus unknown attributes)."""
    doc: dict[str, Any] = {
        "@type": "vCPE",
        "@baseType": "Service",
        "@schemaLocation": "https://example.invalid/schema/vCPE.schema.json",
        "name": name,
        "category": "CFS",
        "description": f"{name} for tests",
        "endDate": "2031-01-01T00:00:00Z",
        "hasStarted": False,
        "isBundle": False,
        "isServiceEnabled": True,
        "isStateful": True,
        "serviceDate": "2024-05-01T10:00:00Z",
        "serviceType": "vCPE",
        "startDate": "2025-01-01T00:00:00Z",
        "startMode": "automatically by the managed environment",
        "state": state,
        "serviceSpecification": {
            "id": "spec-vcpe", "href": "https://example.invalid/spec/spec-vcpe", "name": "vCPE", "version": "2",
            "@type": "ServiceSpecificationRef", "@referredType": "ServiceSpecification",
        },
        "feature": [
            {
                "id": "f1", "name": "Voice", "isBundle": False, "isEnabled": True, "@type": "Feature",
                "constraint": [{"id": "c1", "href": "https://example.invalid/c/1", "name": "max", "version": "1",
                                "@referredType": "Constraint"}],
                "featureCharacteristic": [
                    {"id": "fc1", "name": "codec", "valueType": "object", "value": [{"g711": True}],
                     "characteristicRelationship": [{"id": "fc2", "relationshipType": "dependsOn"}]}
                ],
                "featureRelationship": [
                    {"id": "f2", "name": "Data", "relationshipType": "requires",
                     "validFor": {"startDateTime": "2025-01-01T00:00:00Z", "endDateTime": "2026-01-01T00:00:00Z"}}
                ],
                "policyConstraint": [{"id": "p1", "name": "fair use", "@referredType": "Policy"}],
            }
        ],
        "note": [{"id": "n1", "author": "ops", "date": "2025-01-02T00:00:00Z", "text": "installed"}],
        "place": [{"id": "pl1", "href": "https://example.invalid/place/1", "name": "Main Home", "role": "install",
                   "@referredType": "GeographicAddress"}],
        "relatedEntity": [{"id": "e1", "href": "https://example.invalid/e/1", "name": "router", "role": "uses",
                           "@referredType": "Resource"}],
        "relatedParty": [{"id": "party-42", "href": "https://example.invalid/party/42", "name": "ACME",
                          "role": "owner", "@referredType": "Organization"}],
        "serviceCharacteristic": [
            {"id": "ch1", "name": "MSISDN", "valueType": "string", "value": "415-275-7439"},
            {"name": "bandwidth", "valueType": "number", "value": 3.25},
            {"name": "profile", "value": {"deep": [{"x": 1}, None, True]}, "@type": "ProfileCharacteristic",
             "vendorNote": "kept as sent"},
        ],
        "serviceOrderItem": [{"itemId": "1", "serviceOrderId": "so-1", "serviceOrderHref": "https://example.invalid/so/1",
                              "role": "origin", "itemAction": "add", "@referredType": "ServiceOrder"}],
        "supportingResource": [{"id": "r1", "href": "https://example.invalid/r/1", "name": "vm-1",
                                "@referredType": "LogicalResource"}],
        "vcpeModel": {"vendor": "acme", "throughput": [1, 2.5]},
    }
    if id is not None:
        doc["id"] = id
    doc.update(extra)
    return doc


def relationship(target: str, rtype: str = "reliesOn") -> dict[str, Any]:
    """A serviceRelationship entry to `target` by reference, with its characteristic list (swagger spelling)."""
    return {
        "relationshipType": rtype,
        "service": {"id": target, "@referredType": "Service"},
        "ServiceRelationshipCharacteristic": [{"name": "order", "value": 1}],
    }


def bundle_tree(prefix: str, width: int, leaves_per_member: int) -> dict[str, Any]:
    """A bundle of `width` member bundles of `leaves_per_member` leaves each, all given by value, every node
    with every attribute; each leaf relies on its left sibling, each member on the member before it."""
    members = []
    for i in range(width):
        leaves = []
        for j in range(leaves_per_member):
            extra: dict[str, Any] = {}
            if j > 0:
                extra["serviceRelationship"] = [relationship(f"{prefix}-{i}-{j - 1}")]
            leaves.append(full_service(f"leaf {i}.{j}", id=f"{prefix}-{i}-{j}", **extra))
        member_extra: dict[str, Any] = {"isBundle": True, "supportingService": leaves}
        if i > 0:
            member_extra["serviceRelationship"] = [relationship(f"{prefix}-{i - 1}", "dependsOn")]
        members.append(full_service(f"member {i}", id=f"{prefix}-{i}", **member_extra))
    return full_service(f"bundle {prefix}", id=prefix, isBundle=True, supportingService=members)
