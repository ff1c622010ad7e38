# Copy to instance/config.py (git-ignored) to override the config class's defaults on this machine.
# Environment variables override what is set here; names are the same.
#
# SECRET_KEY = "a long random string: python -c 'import secrets; print(secrets.token_hex(32))'"
#
# Alibaba Cloud OSS (the develop default is the embedded fake OSS at http://127.0.0.1:9000):
# OSS_ENDPOINT = "https://oss-cn-hangzhou.aliyuncs.com"
# OSS_BUCKET = "my-gallery"
# OSS_ACCESS_KEY_ID = "..."
# OSS_ACCESS_KEY_SECRET = "..."
#
# REDIS_URL = "redis://127.0.0.1:6379/0"
# MAX_CONTENT_LENGTH = 20 * 1024 * 1024   # bytes; larger uploads get 413
# MAX_IMAGE_PIXELS = 50_000_000           # decompression-bomb guard
# OSS_PATH_STYLE = False        # True: path-style URLs, for a named endpoint like fakeoss
# OSS_MULTIPART_THRESHOLD = 8 * 1024 * 1024  # uploads above this go to OSS in parts
# OSS_PART_SIZE = 4 * 1024 * 1024            # bytes per part (OSS minimum 100 KB)
#
# The JSON API's writes need `Authorization: Bearer <GALLERY_API_TOKEN>`.
# Develop: "dev-gallery-token". Production refuses to start without its own:
#   python -c 'import secrets; print(secrets.token_urlsafe(32))'
# GALLERY_API_TOKEN = "..."
# The web login. Develop: admin / admin. Production refuses to start without its own hash:
#   python -c "from werkzeug.security import generate_password_hash as h; print(h(input()))"
# GALLERY_ADMIN_USER = "admin"
# GALLERY_ADMIN_PASSWORD_HASH = "scrypt:32768:8:1$..."
# GALLERY_PRIVATE_READS = False  # True: page, API reads and images need a login or the token
#
# IMAGE_DELIVERY = "redirect"    # or "proxy": stream images through the app (develop default)
# SIGNED_URL_SECONDS = 300       # lifetime of the signed OSS URLs /images/<id> redirects to
# THUMBNAIL_SIZES = (320, 1024)  # longest side in px; environment: THUMBNAIL_SIZES=320,1024
# THUMBNAIL_FORMAT = "WEBP"      # or "JPEG"
# CELERY_VISIBILITY_TIMEOUT = 600  # seconds before a job a killed worker held is redelivered
