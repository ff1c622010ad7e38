"""Compose files the engine tests run, each named after what it exercises; the parity test
checks stackctl's reading of them against `docker compose config`."""

from __future__ import annotations

BASE = "stackctl/debian:bookworm"  # made by `invoke base`, which .ci/run runs first

# Named networks with aliases, expose, container_name, replicas, secrets, profiles, anonymous
# volumes, `network_mode: service:` and host options (test_stack_compose_keys_engine).
COMPOSE_KEYS = f"""
services:
  db:
    image: {BASE}
    container_name: ${{COMPOSE_PROJECT_NAME}}-database
    command: ["sleep", "300"]
    init: true
    networks:
      back:
        aliases: [database]
    expose: ["5432"]
    secrets: [db_password]
    read_only: true
    tmpfs: ["/tmp:size=8m"]
    security_opt: ["no-new-privileges:true"]
    shm_size: 32m
  web:
    image: {BASE}
    command: ["sleep", "300"]
    init: true
    hostname: webhost
    networks: [front, back]
    deploy:
      replicas: 2
      resources:
        limits: {{cpus: "0.5", memory: 64M}}
    cap_drop: [NET_RAW]
    ulimits:
      nofile: {{soft: 1024, hard: 2048}}
    volumes:
      - /scratch
    secrets:
      - source: api_key
        target: api.key
  sidecar:
    image: {BASE}
    command: ["sleep", "300"]
    init: true
    network_mode: service:db
  tools:
    image: {BASE}
    command: ["sleep", "300"]
    init: true
    profiles: [debug]
  never:
    image: {BASE}
    command: ["sleep", "300"]
    profiles: [other]
networks:
  front:
  back:
    internal: true
secrets:
  db_password:
    file: ./db_password.txt
  api_key:
    environment: API_KEY
"""

# Health waits, ps, logs and down -v on a small stack (test_stack_small_engine).
SMALL_STACK = f"""
services:
  steady:
    image: {BASE}
    command: ["sh", "-c", "echo steady says hello; exec sleep 300"]
    init: true
    volumes:
      - data:/data
    healthcheck:
      test: ["CMD", "true"]
      interval: 1s
      retries: 3
  sick:
    image: {BASE}
    command: ["sh", "-c", "echo sick cannot find its config; exec sleep 300"]
    init: true
    profiles: ["sick"]
    healthcheck:
      test: ["CMD", "false"]
      interval: 1s
      retries: 2
  after:
    image: {BASE}
    command: ["sleep", "300"]
    init: true
    profiles: ["sick"]
    depends_on:
      sick:
        condition: service_healthy
volumes:
  data:
"""
