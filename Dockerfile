# Errorwave: build the frontend, then run `errorwave serve` on port 8000 with its data
# (short links) in the /data volume. See docs/server.md.

# ---- frontend -----------------------------------------------------------------------------
FROM node:22-bookworm-slim AS frontend
WORKDIR /app/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
COPY shared/ /app/shared/
RUN npm run build

# ---- server -------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ERRORWAVE_DATA=/data
WORKDIR /app
COPY requirements.txt ./
# The server has no use for CUDA: point this at a CPU-only torch index if you have one.
ARG PIP_EXTRA_INDEX_URL=""
RUN PIP_EXTRA_INDEX_URL="$PIP_EXTRA_INDEX_URL" pip install -r requirements.txt
COPY backend/ backend/
COPY shared/ shared/
RUN pip install --no-deps -e backend
COPY --from=frontend /app/frontend/dist frontend/dist
RUN useradd --system --uid 10001 errorwave && mkdir -p /data && chown errorwave /data
USER errorwave
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["errorwave", "serve", "--host", "0.0.0.0", "--port", "8000"]
