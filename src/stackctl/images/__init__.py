"""Images: reading Dockerfiles, build args, the fingerprint that skips unchanged builds, the builds
themselves (`invoke build`, `up`'s build step) and the offline base images (`invoke base`)."""
