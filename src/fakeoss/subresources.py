"""Which OSS subresources and special parameters the fake serves, and the refusal of the rest.

OSS reads a request's meaning from its subresource (``?tagging``, ``?symlink``,
``?x-oss-process``...). A server that ignores one answers a different call than the
one the client made (a PUT ?tagging would overwrite the object with the tagging XML),
so anything listed here and not served is refused, before anything changes, the way
OSS refuses what it does not implement: 501 ``NotImplemented``.
"""

from __future__ import annotations

from collections.abc import Mapping

from .errors import OssError

# OSS's subresources and special parameters (as the oss2 SDK signs them, 2.19).
KNOWN = frozenset(
    {
        "accessPoint", "accessPointPolicy", "acl", "append", "asyncFetch",
        "bucketArchiveDirectRead", "bucketInfo", "callback", "callback-var", "cname", "comp",
        "continuation-token", "cors", "delete", "encryption", "endTime", "group", "httpsConfig",
        "inventory", "inventoryId", "lifecycle", "link", "live", "location", "logging",
        "metaQuery", "objectInfo", "objectMeta", "partNumber", "policy", "position",
        "publicAccessBlock", "qos", "qosInfo", "qosRequester", "redundancyTransition", "referer",
        "regionList", "replication", "replicationLocation", "replicationProgress",
        "requestPayment", "requesterQosInfo", "resourceGroup", "resourcePool",
        "resourcePoolBuckets", "resourcePoolInfo", "response-cache-control",
        "response-content-disposition", "response-content-encoding", "response-content-language",
        "response-content-type", "response-expires", "restore", "security-token", "sequential",
        "startTime", "stat", "status", "style", "styleName", "symlink", "tagging",
        "transferAcceleration", "uploadId", "uploads", "versionId", "versioning", "versions",
        "vod", "website", "worm", "wormExtend", "wormId", "x-oss-ac-forward-allow",
        "x-oss-ac-source-ip", "x-oss-ac-subnet-mask", "x-oss-ac-vpc-id",
        "x-oss-access-point-name", "x-oss-async-process", "x-oss-process",
        "x-oss-redundancy-transition-taskid", "x-oss-request-payer",
        "x-oss-target-redundancy-type", "x-oss-traffic-limit", "x-oss-write-get-object-response",
        # Bucket-level ones oss2 does not sign but sends.
        "userDefinedLogFieldsConfig", "archiveDirectRead",
        "accessMonitor", "dataRedundancyTransition", "responseHeader",
        "overwriteConfig", "objectWormConfiguration", "retention", "legalHold",
    }
)  # fmt: skip

# Served on a bucket (path "/" or "/BUCKET/"), by method.
_BUCKET = {
    # ?live lists live channels: always none, since creating one (PUT) is refused.
    # Configurations that cannot be set here are read as absent and deleted as no-ops (absent).
    "GET": frozenset(
        {"acl", "bucketInfo", "location", "uploads", "continuation-token", "live"}
        | {"cors", "lifecycle", "website", "policy", "encryption", "worm"}
        | {"transferAcceleration", "referer", "logging", "tagging", "versioning"}
        | {"requestPayment"}
    ),
    "HEAD": frozenset(),
    "PUT": frozenset({"acl"}),
    "POST": frozenset({"delete"}),
    "DELETE": frozenset({"cors", "lifecycle", "website", "policy", "encryption", "tagging"}),
}
_RESPONSE_OVERRIDES = frozenset(
    {
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
    }
)
# Served on an object, by method.
_OBJECT = {
    "GET": frozenset(
        {"acl", "uploadId", "tagging", "symlink", "x-oss-process", "x-oss-traffic-limit", "live"}
        | _RESPONSE_OVERRIDES
    ),
    "HEAD": frozenset({"objectMeta", "x-oss-traffic-limit"} | _RESPONSE_OVERRIDES),
    "PUT": frozenset(
        {
            "acl",
            "uploadId",
            "partNumber",
            "tagging",
            "symlink",
            "x-oss-traffic-limit",
            "callback",
            "callback-var",
        }
    ),
    "POST": frozenset(
        {
            "uploads",
            "uploadId",
            "callback",
            "callback-var",
            "append",
            "position",
            "restore",
            "x-oss-traffic-limit",
            "x-oss-process",
        }
    ),
    "DELETE": frozenset({"uploadId", "tagging", "live"}),
}
# Headers that ask OSS for something the fake does not do (it would otherwise ignore them).
_REFUSED_HEADERS = {
    "x-oss-server-side-data-encryption": "KMS data encryption",
    "x-oss-server-side-encryption-key-id": "KMS encryption keys",
    "x-oss-request-payer": "requester pays",
}


def not_implemented(what: str, header: str = "") -> OssError:
    message = f"A header you provided implies functionality that is not implemented ({what})."
    if header:
        return OssError(501, "NotImplemented", message, Header=header)
    return OssError(501, "NotImplemented", message)


def check_supported(
    method: str, on_object: bool, params: Mapping[str, str], headers: Mapping[str, str]
) -> None:
    """Refuse a request that asks for a subresource or feature the fake does not serve."""
    served = (_OBJECT if on_object else _BUCKET).get(method, frozenset())
    for name in params:
        if name in KNOWN and name not in served:
            target = "object" if on_object else "bucket"
            raise not_implemented(f"{method} {target} ?{name}", name)
    for name, what in _REFUSED_HEADERS.items():
        if name in headers:
            raise not_implemented(what, name)
    encryption = headers.get("x-oss-server-side-encryption", "")
    if encryption and encryption not in ("AES256", "SM4"):
        raise not_implemented(
            f"server-side encryption {encryption}", "x-oss-server-side-encryption"
        )
    process = params.get("x-oss-process", "")
    if process and not process.startswith("image/"):
        # Video snapshots, document previews, saveas...: other OSS services.
        raise not_implemented(f"x-oss-process={process.split('/', 1)[0]}", "x-oss-process")
