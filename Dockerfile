# syntax=docker/dockerfile:1
#
# netzone for production: `docker build -t netzone .`, then run it with
# DATABASE_URL pointing at PostgreSQL (production mode refuses to start without it; see
# docker-compose.yml). The same image serves SIP2 with `netzone sip2 --host 0.0.0.0`.

# Base images at exact versions, so a rebuild starts from the same Python and Node.js
# (Python 3.11 is also what requirements/*.lock are compiled for). Move them on purpose.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
ARG NODE_IMAGE=node:20.19.5-slim

# ---------------------------------------------------------------------------
# GraphiQL's tarballs: npm packs the packages app/graphiql/assets.lock.json pins,
# from the registry it is configured with (netzone checks them in the builder).
# ---------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS graphiql-tarballs
WORKDIR /tarballs
COPY app/graphiql/assets.lock.json /tmp/assets.lock.json
RUN node -e 'for (const p of require("/tmp/assets.lock.json").packages) console.log(`${p.name}@${p.version}`)' \
    | xargs npm pack --silent

# ---------------------------------------------------------------------------
# Builder: the locked dependencies and netzone, installed into /opt/venv.
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
WORKDIR /srv/netzone

# Dependencies first, so this layer is rebuilt only when a lock changes: exactly the
# versions requirements/runtime.lock pins, each file checked against its hash, and the
# build backend requirements/build.lock pins (see requirements/compile.sh).
COPY requirements/runtime.lock requirements/build.lock ./requirements/
RUN /opt/venv/bin/pip install --require-hashes -r requirements/runtime.lock \
        -r requirements/build.lock

# The application. It is installed in place (editable) at the same path the
# runtime image uses: app/migrate.py finds migrations/ beside app/.
# --no-deps: everything it needs is installed above (pip check fails the build if the
# lock missed something); --no-build-isolation: built with the locked setuptools.
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation -e . \
 && rm -rf build *.egg-info \
 && /opt/venv/bin/pip check \
 && /opt/venv/bin/netzone --help >/dev/null

# GraphiQL's browser files, served by netzone itself: the tarballs npm packed (above),
# each checked against app/graphiql/assets.lock.json; only the listed files are kept.
COPY --from=graphiql-tarballs /tarballs /tmp/graphiql-tarballs
RUN /opt/venv/bin/netzone fetch-graphiql-assets --from /tmp/graphiql-tarballs \
        --dir /opt/netzone-graphiql \
 && rm -rf /tmp/graphiql-tarballs

# ---------------------------------------------------------------------------
# Runtime: the venv and the application, run as an unprivileged user.
# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NETZONE_ENVIRONMENT=production \
    NETZONE_HOST=0.0.0.0 \
    NETZONE_PORT=8000 \
    NETZONE_GRAPHIQL_ASSETS_DIR=/opt/netzone-graphiql

RUN groupadd --system --gid 10001 netzone \
 && useradd --system --uid 10001 --gid netzone --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin netzone

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /opt/netzone-graphiql /opt/netzone-graphiql
WORKDIR /srv/netzone
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
# Compile now: the code is owned by root and the service cannot write to it.
RUN python -m compileall -q app migrations \
 && netzone --help >/dev/null

USER netzone:netzone
EXPOSE 8000

# Healthy means ready: /readyz answers 503 while the database is unreachable (urlopen
# raises on it), where /healthz would only say that the process is up.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/readyz' % os.environ.get('NETZONE_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(url, timeout=4).status == 200 else 1)"]

# `serve` brings the database schema up to date before it starts serving.
CMD ["netzone", "serve", "--host", "0.0.0.0"]
