"""Bucket configurations this fake never holds, answered as OSS answers a bucket without them.

Setting any of them (PUT) is refused with 501 (``subresources``), so none can exist: reading
one is answered with what OSS says of a bucket that has none (its NoSuch... error, or the
empty document for those OSS always answers), and deleting one changes nothing (204).
"""

from __future__ import annotations

from .errors import OssError

_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'

# Reading: OSS's error for a bucket without the configuration.
MISSING = {
    "cors": ("NoSuchCORSConfiguration", "The CORS configuration does not exist."),
    "lifecycle": ("NoSuchLifecycle", "No Row found in Lifecycle Table."),
    "website": (
        "NoSuchWebsiteConfiguration",
        "The specified bucket does not have a website configuration.",
    ),
    "policy": ("NoSuchBucketPolicy", "The bucket policy does not exist."),
    "encryption": (
        "NoSuchServerSideEncryptionRule",
        "The server side encryption configuration was not found.",
    ),
    "worm": ("NoSuchWORMConfiguration", "The WORM Configuration does not exist."),
    "transferAcceleration": (
        "NoSuchTransferAccelerationConfiguration",
        "The transfer acceleration configuration does not exist.",
    ),
}
# Reading: the document OSS answers for a bucket left as created.
DEFAULTS = {
    "referer": "<RefererConfiguration><AllowEmptyReferer>true</AllowEmptyReferer>"
    "<RefererList></RefererList></RefererConfiguration>",
    "logging": "<BucketLoggingStatus></BucketLoggingStatus>",
    "tagging": "<Tagging><TagSet></TagSet></Tagging>",
    "versioning": "<VersioningConfiguration></VersioningConfiguration>",
    "requestPayment": "<RequestPaymentConfiguration><Payer>BucketOwner</Payer>"
    "</RequestPaymentConfiguration>",
}
# Deleting one that does not exist succeeds on OSS.
DELETABLE = frozenset({"cors", "lifecycle", "website", "policy", "encryption", "tagging"})


def read(name: str, bucket: str) -> bytes:
    """The answer to GET ?name on a bucket, or OssError (404) for a missing configuration."""
    if name in MISSING:
        code, message = MISSING[name]
        raise OssError(404, code, message, BucketName=bucket)
    return (_HEAD + DEFAULTS[name]).encode()


def live_channel_missing(channel: str) -> OssError:
    """Any live channel: none exist, since PutLiveChannel is refused."""
    return OssError(404, "NoSuchLiveChannel", "The specified live channel does not exist.",
                    ChannelName=channel)  # fmt: skip
