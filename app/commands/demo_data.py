"""The demo's services, from the seeds: the GPON FTTH provision of seed 003 (a CFS over an RFS and its five
resources, correlation id so-2026-00789) and the mobile line of TMF640's example (its supporting service, the
SIM), made a bundle whose members depend on each other."""

from __future__ import annotations

from typing import Any


def _spec(id: str, name: str) -> dict[str, str]:
    return {"id": id, "name": name, "@referredType": "ServiceSpecification"}


def _resource(id: str, name: str, type: str) -> dict[str, str]:
    return {"id": id, "name": name, "@referredType": type}


def ftth(run: str) -> dict[str, Any]:
    """Jane Smith's GPON FTTH access (seed 003): the CFS owns the RFS by value; the RFS names its resources."""
    return {
        "id": f"svc-cfs-gpon-00456-{run}",
        "name": "GPON FTTH 1G — Jane Smith, 42 Maple Ave, Toronto",
        "category": "CFS", "serviceType": "broadband", "state": "active", "isBundle": True,
        "serviceSpecification": _spec("cfs-gpon-ftth", "GPON FTTH access"),
        "relatedParty": [{"id": "cust-56789", "name": "Jane Smith", "role": "customer", "@referredType": "Individual"}],
        "serviceCharacteristic": [{"name": "downstreamMbps", "valueType": "number", "value": 1000},
                                  {"name": "upstreamMbps", "valueType": "number", "value": 500}],
        "supportingService": [{
            "id": f"svc-rfs-gpon-00457-{run}",
            "name": "GPON access RFS", "category": "RFS", "state": "active",
            "serviceSpecification": _spec("rfs-gpon-access", "GPON access"),
            "supportingResource": [
                _resource(f"ont-{run}", "ONT Nokia G-010G-Q", "PhysicalResource"),
                _resource(f"olt-port-{run}", "OLT TOR-OLT-07 1/1/3", "PhysicalResource"),
                _resource(f"vlan-{run}", "VLAN pair 2042/100", "LogicalResource"),
                _resource(f"drop-{run}", "Fiber drop 42 Maple Ave", "PhysicalResource"),
                _resource(f"bng-{run}", "BNG session", "LogicalResource"),
            ],
        }],
    }


def mobile(run: str) -> dict[str, Any]:
    """TMF640's example mobile line as a bundle: the SIM (IMSI) first, the line (MSISDN) relies on it, and its
    voice feature depends on the line."""
    sim, line, voice = f"sim-{run}", f"line-{run}", f"voice-{run}"
    return {
        "id": f"mobile-bundle-{run}",
        "name": "Mobile line 415-275-7439", "category": "MobileService", "state": "active", "isBundle": True,
        "serviceSpecification": _spec("cfs45", "c_Mobile"),
        "relatedParty": [{"id": "12", "name": "Jean Pontus", "role": "user", "@referredType": "Individual"},
                         {"id": "78", "name": "TMF Telco", "role": "Service Provider",
                          "@referredType": "Organization"}],
        "supportingService": [
            {"id": sim, "name": "SIM", "state": "active", "serviceSpecification": _spec("cfs89", "c_MobileSupport"),
             "serviceCharacteristic": [{"name": "IMSI", "valueType": "string", "value": "228 01 21 76510739"}]},
            {"id": line, "name": "Mobile line", "state": "active",
             "serviceSpecification": _spec("cfs46", "c_MobileLine"),
             "serviceCharacteristic": [{"name": "MSISDN", "valueType": "string", "value": "415-275-7439"}],
             "serviceRelationship": [{"relationshipType": "reliesOn", "service": {"id": sim}}]},
            {"id": voice, "name": "Voice", "state": "active", "serviceSpecification": _spec("cfs47", "c_Voice"),
             "serviceCharacteristic": [{"name": "roaming", "valueType": "string", "value": "enable"}],
             "serviceRelationship": [{"relationshipType": "dependsOn", "service": {"id": line}}]},
        ],
    }
