"""RestoreObject's request: how many days the restored copy lasts, and (Cold Archive) how fast.

OSS's rules: an empty body asks for one day. ``Days`` is 1 to 7 for Archive objects, 1 to 365
for Cold and Deep Cold Archive. ``JobParameters/Tier`` is for the cold classes only
(Expedited, Standard or Bulk; Deep Cold Archive has no Bulk); on an Archive object the document
is MalformedXML. The tier chosen comes back as ``x-oss-object-restore-priority``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

from .errors import OssError, invalid_argument

MAX_DAYS = {"Archive": 7, "ColdArchive": 365, "DeepColdArchive": 365}
TIERS = {
    "ColdArchive": ("Expedited", "Standard", "Bulk"),
    "DeepColdArchive": ("Expedited", "Standard"),
}
DEFAULT_TIER = "Standard"


@dataclass(frozen=True)
class RestoreRequest:
    days: int
    tier: str | None  # None for Archive objects, which have no tiers


def _malformed() -> OssError:
    return OssError(400, "MalformedXML", "The XML you provided was not well-formed.")


def parse(body: bytes, storage_class: str) -> RestoreRequest:
    tiers = TIERS.get(storage_class)
    default_tier = DEFAULT_TIER if tiers else None
    if not body.strip():
        return RestoreRequest(days=1, tier=default_tier)
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - bodies come from local test clients
    except ElementTree.ParseError:
        raise _malformed() from None
    if root.tag != "RestoreRequest":
        raise _malformed()
    days_text = (root.findtext("Days") or "1").strip()
    if not days_text.isdigit() or not 1 <= int(days_text) <= MAX_DAYS[storage_class]:
        raise invalid_argument(
            f"Days must be 1 to {MAX_DAYS[storage_class]} for {storage_class} objects",
            "Days",
            days_text,
        )
    job = root.find("JobParameters")
    if job is None:
        return RestoreRequest(days=int(days_text), tier=default_tier)
    if tiers is None:
        raise _malformed()  # an Archive object has no restore tiers
    tier = (job.findtext("Tier") or "").strip()
    if tier not in tiers:
        raise invalid_argument(
            f"Tier must be one of {', '.join(tiers)} for {storage_class} objects", "Tier", tier
        )
    return RestoreRequest(days=int(days_text), tier=tier)
