"""A fake Alibaba Cloud OSS server: OSS's HTTP API in front of moto's S3 backend.

Served as OSS serves them: buckets made by ``--bucket`` or PutBucket (others are
NoSuchBucket), objects (put, get with OSS's range and conditional rules, head, copy,
append, delete, batch delete, ACLs, user metadata, storage classes with Archive restore,
AES256 encryption flag), listing (v1, v2, multipart uploads), multipart uploads and
UploadPartCopy, tagging, symlinks, objectMeta and image processing (``imaging``). Every
other OSS subresource or feature header is answered 501 NotImplemented and changes
nothing (``subresources``).

Importing the package sets moto's environment before moto is imported anywhere
through us: moto reads these variables once, when ``moto.settings`` is imported.
"""

import os

# OSS accepts multipart parts down to 100 KB; moto's default minimum is S3's 5 MB.
os.environ.setdefault("S3_UPLOAD_PART_MIN_SIZE", "102400")
# moto spools object bodies above this size to temporary files; its default is
# derived from the part minimum (100 KB here), which would put every test image on disk.
os.environ.setdefault("MOTO_S3_DEFAULT_KEY_BUFFER_SIZE", str(16 * 1024 * 1024))

__all__: list[str] = []
