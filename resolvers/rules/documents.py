"""Service documents: members given by value, links, and the rendered representation. Plain Python.

A `supportingService[]` entry or a `serviceRelationship[].service` is *RefOrValue*. An entry that carries
service attributes beyond a reference's is a value: it becomes a service of its own (the client's `id` is
kept when given) and the parent stores a reference `{"id": ...}` to it, marked by value on the link.
Reading renders a by-value entry as the member's current document, so the parent reads back as it was sent
(plus the member's `id` and `href`) and stays true as the member changes.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from resolvers.rules.errors import ValidationFailed
from store.services import Link

REF_KEYS = frozenset({"id", "href", "name", "@referredType", "@type", "@baseType", "@schemaLocation"})
SERVER_KEYS = ("id", "href")


def is_value(entry: Mapping[str, Any]) -> bool:
    """True when the entry describes a service by value rather than pointing at one."""
    return any(k not in REF_KEYS for k in entry) or ("id" not in entry and "href" not in entry)


def ref_id(entry: Mapping[str, Any]) -> str | None:
    """The id a reference points at: its `id`, else the last segment of its `href`."""
    if isinstance(entry.get("id"), str) and entry["id"]:
        return str(entry["id"])
    href = entry.get("href")
    if isinstance(href, str) and href.rstrip("/"):
        return unquote(href.rstrip("/").rsplit("/", 1)[-1]) or None  # hrefs carry ids percent-encoded
    return None


@dataclass
class NewService:
    """A service to create: its id, its stored document (refs only) and its outgoing links."""

    id: str
    doc: dict[str, Any]
    links: list[Link] = field(default_factory=list)
    parent_id: str | None = None


def new_id() -> str:
    return str(uuid.uuid4())


def plan_create(
    body: Mapping[str, Any], check_member: Callable[[str, dict[str, Any]], None], *, fresh: bool = False
) -> list[NewService]:
    """Split a create body into the services to create, parent first, members by value after it.

    `check_member(path, member)` validates each member given by value (with its path for messages).
    `fresh`: `body` was just parsed for this call and is not used after it: it is taken apart, not copied.
    """
    created: list[NewService] = []
    _split(dict(body), None, "", check_member, created, fresh)
    return created


def _split(
    body: dict[str, Any],
    parent_id: str | None,
    path: str,
    check_member: Callable[[str, dict[str, Any]], None],
    out: list[NewService],
    fresh: bool = False,
) -> str:
    doc = dict(body) if fresh else copy.deepcopy(body)
    sid = doc.pop("id", None)
    doc.pop("href", None)
    if sid is not None and (not isinstance(sid, str) or not sid.strip() or len(sid) > 255):
        raise ValidationFailed(f"{path}.id" if path else "id", "must be a non-empty string of at most 255 chars")
    me = NewService(id=sid or new_id(), doc=doc, parent_id=parent_id)
    out.append(me)
    for i, entry in enumerate(doc.get("supportingService") or []):
        where = f"{path}.supportingService[{i}]" if path else f"supportingService[{i}]"
        doc["supportingService"][i] = _entry(entry, me, where, check_member, out, "supporting", None, i, fresh)
    for i, rel in enumerate(doc.get("serviceRelationship") or []):
        where = f"{path}.serviceRelationship[{i}].service" if path else f"serviceRelationship[{i}].service"
        if isinstance(rel, dict) and isinstance(rel.get("service"), dict):
            rtype = rel.get("relationshipType")
            rel["service"] = _entry(rel["service"], me, where, check_member, out, "relationship", rtype, i, fresh)
    return me.id


def _entry(
    entry: Any,
    owner: NewService,
    where: str,
    check_member: Callable[[str, dict[str, Any]], None],
    out: list[NewService],
    kind: str,
    rtype: Any,
    position: int,
    fresh: bool = False,
) -> Any:
    if not isinstance(entry, dict):
        return entry
    rtype_text = rtype if isinstance(rtype, str) else None
    if is_value(entry):
        check_member(where, entry)
        member_id = _split(entry, owner.id, where, check_member, out, fresh)
        owner.links.append(Link(owner.id, member_id, kind, rtype_text, position, True))
        return {"id": member_id}
    target = ref_id(entry)
    if target:
        owner.links.append(Link(owner.id, target, kind, rtype_text, position, False))
    return entry


def links_of(sid: str, doc: Mapping[str, Any], by_value: set[str]) -> list[Link]:
    """The links a stored document declares; `by_value` names the targets created from this document."""
    links: list[Link] = []
    for i, entry in enumerate(doc.get("supportingService") or []):
        target = ref_id(entry) if isinstance(entry, dict) else None
        if target:
            links.append(Link(sid, target, "supporting", None, i, target in by_value))
    for i, rel in enumerate(doc.get("serviceRelationship") or []):
        if not isinstance(rel, dict) or not isinstance(rel.get("service"), dict):
            continue
        target = ref_id(rel["service"])
        rtype = rel.get("relationshipType")
        if target:
            links.append(
                Link(sid, target, "relationship", rtype if isinstance(rtype, str) else None, i, target in by_value)
            )
    return links


def render(
    sid: str,
    doc: Mapping[str, Any],
    href: Callable[[str], str],
    by_value_docs: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    fresh: bool = False,
) -> dict[str, Any]:
    """The TMF representation: `id`, `href`, then the stored attributes; by-value members rendered live.

    `fresh`: `doc` and the members were just read for this call and belong to nobody else: no copy is made.
    """
    out: dict[str, Any] = {"id": sid, "href": href(sid)}
    out.update(dict(doc) if fresh else copy.deepcopy(dict(doc)))
    members = by_value_docs or {}
    if not members:
        return out
    for i, entry in enumerate(out.get("supportingService") or []):
        mid = ref_id(entry) if isinstance(entry, dict) else None
        if mid is not None and mid in members:
            out["supportingService"][i] = render(mid, members[mid], href, fresh=fresh)
    for rel in out.get("serviceRelationship") or []:
        if isinstance(rel, dict) and isinstance(rel.get("service"), dict):
            mid = ref_id(rel["service"])
            if mid is not None and mid in members:
                rel["service"] = render(mid, members[mid], href, fresh=fresh)
    return out


def strip_rendered(rendered: Mapping[str, Any], by_value_ids: set[str]) -> dict[str, Any]:
    """Undo `render` for storage: drop id/href, turn live by-value members back into `{"id": ...}`."""
    doc = {k: copy.deepcopy(v) for k, v in rendered.items() if k not in SERVER_KEYS}
    for i, entry in enumerate(doc.get("supportingService") or []):
        mid = ref_id(entry) if isinstance(entry, dict) else None
        if mid in by_value_ids:
            doc["supportingService"][i] = {"id": mid}
    for rel in doc.get("serviceRelationship") or []:
        if isinstance(rel, dict) and isinstance(rel.get("service"), dict):
            mid = ref_id(rel["service"])
            if mid in by_value_ids:
                rel["service"] = {"id": mid}
    return doc


def _member_entries(doc: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(path, entry) of every RefOrValue entry of a representation."""
    out: list[tuple[str, Any]] = [
        (f"supportingService[{i}]", entry) for i, entry in enumerate(doc.get("supportingService") or [])
    ]
    for i, rel in enumerate(doc.get("serviceRelationship") or []):
        if isinstance(rel, dict) and "service" in rel:
            out.append((f"serviceRelationship[{i}].service", rel["service"]))
    return out


def check_members_unchanged(before: Mapping[str, Any], after: Mapping[str, Any], by_value_ids: set[str]) -> None:
    """A patched representation may keep, drop, reorder or reference its members given by value, but not
    change one through its parent: a member is a service of its own, patched at its own href (its lifecycle,
    revisions and events are its own). Raises ValidationFailed naming the entry otherwise."""
    if not by_value_ids:
        return
    shown = {ref_id(entry): entry for _, entry in _member_entries(before) if isinstance(entry, dict)}
    for path, entry in _member_entries(after):
        if not isinstance(entry, dict):
            continue
        mid = ref_id(entry)
        if mid not in by_value_ids or entry == shown.get(mid) or not is_value(entry):
            continue
        raise ValidationFailed(path, f"is service {mid!r}, held here by value: change it at its own href")
