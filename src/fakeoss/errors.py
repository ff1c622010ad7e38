"""OSS error responses: an exception carrying OSS's status and code, and its wire form."""

from __future__ import annotations

import base64
from xml.sax.saxutils import escape

# OSS's error codes ("EC") for the errors whose EC its documentation shows; others carry
# UNKNOWN_EC, which no real OSS error has, so nothing can mistake it for a real one.
_EC = {
    "NoSuchBucket": "0015-00000101",
    "NoSuchKey": "0026-00000001",
    "SignatureDoesNotMatch": "0002-00000040",
}
UNKNOWN_EC = "0000-00000000"


class OssError(Exception):
    """An error the fake answers with, shaped as OSS's ``<Error>`` document."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **details: str,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details
        self.ec = _EC.get(code, UNKNOWN_EC)

    def to_xml(self, request_id: str, host_id: str) -> bytes:
        fields = {"Code": self.code, "Message": self.message, "RequestId": request_id}
        fields["HostId"] = host_id
        fields.update(self.details)
        fields["EC"] = self.ec
        inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{inner}</Error>\n'.encode()

    def header_form(self, request_id: str, host_id: str) -> str:
        """The error as OSS sends it to HEAD requests, which have no body: base64 XML."""
        return base64.b64encode(self.to_xml(request_id, host_id)).decode("ascii")


def no_such_bucket(bucket: str) -> OssError:
    return OssError(404, "NoSuchBucket", "The specified bucket does not exist.", BucketName=bucket)


def no_such_key(key: str) -> OssError:
    return OssError(404, "NoSuchKey", "The specified key does not exist.", Key=key)


def no_such_upload(upload_id: str) -> OssError:
    return OssError(
        404,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, "
        "or the upload may have been aborted or completed.",
        UploadId=upload_id,
    )


def invalid_argument(message: str, name: str = "", value: str = "") -> OssError:
    if not name:
        return OssError(400, "InvalidArgument", message)
    return OssError(400, "InvalidArgument", message, ArgumentName=name, ArgumentValue=value)


def access_denied(message: str) -> OssError:
    return OssError(403, "AccessDenied", message)
