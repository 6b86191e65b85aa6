# equigrid: the HTTP service (`equigrid serve`, the default command) and the batch command
# (`equigrid grid`) in one image, with the shipped default model bundle and the offline map data
# (both are package data).
#
#   GPU (default; torch from the package index, which on Linux is a CUDA build):
#       docker build -t equigrid:gpu .
#   CPU only (torch from a local wheel directory: docker/wheels/ in the build context, or any
#   directory with buildx: --build-context wheels=DIR):
#       docker build --build-arg TORCH=cpu -t equigrid:cpu .
#   Another base (CI builds on a local Debian image; see docker/debian-base.sh):
#       docker build --build-arg BASE_IMAGE=IMAGE ...
#
# Versions come from requirements/lock.txt (the lock of the whole dependency set), used as pip
# constraints; torch's CUDA libraries are pinned there too.
ARG BASE_IMAGE=python:3.11-slim

# Local wheels, e.g. torch-2.13.0+cpu-cp311-*.whl for TORCH=cpu.
FROM scratch AS wheels
LABEL io.equigrid.stage="wheels"
COPY docker/wheels/ /

# The runtime dependencies as pyproject.toml lists them: the dependency layer below is rebuilt
# only when they (or the lock) change, not for every edit of pyproject.toml's tool settings.
FROM ${BASE_IMAGE} AS requirements
LABEL io.equigrid.stage="requirements"
COPY pyproject.toml /src/
RUN python3 -c "import tomllib; print(*tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > /requirements.txt

FROM ${BASE_IMAGE} AS builder
# gpu: torch from the package index (CUDA); cpu: the locked torch version's "+cpu" build from
# the wheels stage (the build fails if it is not there, rather than fall back to CUDA)
ARG TORCH=gpu
LABEL io.equigrid.stage="builder"
RUN python3 -m venv /opt/venv
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY --from=wheels / /wheels/
COPY --from=requirements /requirements.txt /tmp/requirements.txt
COPY requirements/lock.txt requirements/
# Dependencies first (a layer that only the dependency list or the lock invalidate), binary wheels
# only: the runtime stage has no compiler, and neither needs one.
RUN set -eu; \
    case "$TORCH" in \
      gpu) set -- ;; \
      cpu) sed -n 's/^\(torch==[^ ;]*\).*/\1+cpu/p' requirements/lock.txt > /tmp/torch-cpu.txt; \
           test -s /tmp/torch-cpu.txt; \
           set -- --find-links /wheels -c /tmp/torch-cpu.txt ;; \
      *) echo "TORCH must be gpu or cpu, not '$TORCH'" >&2; exit 2 ;; \
    esac; \
    /opt/venv/bin/pip install --no-cache-dir --only-binary=:all: -c requirements/lock.txt "$@" \
        -r /tmp/requirements.txt
COPY . .
# The project itself; PIP_CONSTRAINT also reaches the isolated build environment (setuptools).
RUN PIP_CONSTRAINT=/src/requirements/lock.txt /opt/venv/bin/pip install --no-cache-dir --no-deps . \
    && /opt/venv/bin/pip check \
    && /opt/venv/bin/python -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"

FROM ${BASE_IMAGE} AS runtime
ARG TORCH=gpu
# Metadata first, the venv last: with the legacy builder each instruction after a large layer
# copies it once more on storage drivers without copy-on-write (vfs).
LABEL org.opencontainers.image.title="equigrid" \
      org.opencontainers.image.description="Gridded temperature with uncertainty from station observations" \
      org.opencontainers.image.licenses="MIT" \
      io.equigrid.stage="runtime" \
      io.equigrid.torch="${TORCH}"
# A fixed uid, so host folders can be prepared for it (chown 10001) or mapped (--user).
# /models: extra model bundles (EQUIGRID_MODEL=/models/NAME); /data/dem: DEMs; /work: the batch
# data folder. Mount the first two read-only.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/equigrid \
        --shell /usr/sbin/nologin equigrid \
    && mkdir -p /models /data/dem /work \
    && chown equigrid:equigrid /work
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    MKL_DISABLE_FAST_MM=1 \
    EQUIGRID_HOST=0.0.0.0 \
    EQUIGRID_PORT=8000 \
    EQUIGRID_DEM=/data/dem
USER 10001:10001
WORKDIR /work
EXPOSE 8000
# Ready = model loaded and warmed up. No curl in a slim image: the standard library does it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request as u; u.urlopen(f\"http://127.0.0.1:{os.environ.get('EQUIGRID_PORT', '8000')}/readyz\", timeout=4)"]
ENTRYPOINT ["equigrid"]
CMD ["serve"]
COPY --from=builder /opt/venv /opt/venv
