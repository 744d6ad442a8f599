# Errorwave: the wheel that `make dist` builds (and tests/package installs and tests),
# installed over the pinned dependencies; runs `errorwave serve` on port 8000 with its data
# (short links) in the /data volume. No Node.js: the page is inside the wheel.
#
#   make dist && docker build -t errorwave .      (or: make dist && docker compose up --build)
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ERRORWAVE_DATA=/data
# The dependencies at the versions make and CI test (requirements.lock); the
# server has no use for CUDA: point this at a CPU-only torch index if you have one.
ARG PIP_EXTRA_INDEX_URL=""
# requirements.lock: every package with its sha256 (torch: the CPU wheel, 2.13.0+cpu).
COPY requirements.lock /tmp/requirements.lock
RUN PIP_EXTRA_INDEX_URL="$PIP_EXTRA_INDEX_URL" pip install --require-hashes -r /tmp/requirements.lock
# Then the wheel itself; `pip check` fails the build if the lock misses one of its ranges.
COPY dist/ /tmp/dist/
RUN test "$(ls /tmp/dist/errorwave-*.whl | wc -l)" = 1 \
    || { echo "dist/ must hold exactly one errorwave wheel: run make dist" >&2; exit 1; }; \
    pip install --no-deps /tmp/dist/errorwave-*.whl && pip check && rm -rf /tmp/dist /tmp/requirements.lock
RUN useradd --system --uid 10001 errorwave && mkdir -p /data && chown errorwave /data
USER errorwave
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["errorwave", "serve", "--host", "0.0.0.0", "--port", "8000"]
