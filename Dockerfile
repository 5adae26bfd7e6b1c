# Propylon's production image: python slim, a non-root user, the dependencies installed from
# requirements/propylon.lock (exact versions with hashes), the entrypoint migrating then
# serving. `docker compose up` (compose.yaml) runs it with PostgreSQL and Redis.

FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements/build.lock /tmp/build.lock
# the build backend from its lock (exact versions, hashes), used without an isolated build
RUN python -m pip install --no-cache-dir --require-hashes --no-deps -r /tmp/build.lock
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
COPY sdk ./sdk
# the wheel of Propylon itself (its dependencies come from the lock, in the image below)
RUN python -m pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PROPYLON_DATA_DIR=/var/lib/propylon
COPY requirements/propylon.lock /tmp/propylon.lock
RUN python -m pip install --require-hashes --no-deps -r /tmp/propylon.lock \
    && python -m pip check
COPY --from=build /wheels /tmp/wheels
RUN python -m pip install --no-deps /tmp/wheels/*.whl && rm -rf /tmp/wheels /tmp/propylon.lock \
    && useradd --system --uid 10001 --home-dir /var/lib/propylon --create-home propylon
COPY --chmod=0755 scripts/entrypoint /usr/local/bin/propylon-entrypoint
USER propylon
WORKDIR /var/lib/propylon
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"
ENTRYPOINT ["propylon-entrypoint"]
CMD ["serve"]
