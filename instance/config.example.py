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
