#!/usr/bin/env bash
# A minimal Debian base image with python3, for machines that reach no image registry (CI):
# debootstrap from the machine's own apt mirror, the machine's CA bundle copied in (so pip in
# the build works through a TLS-intercepting proxy), `docker import`. Prints the image tag.
#
#   docker build --network host --build-arg BASE_IMAGE="$(docker/debian-base.sh)" ...
#
# Needs root, debootstrap and a running Docker engine. The root file system is cached as a
# tarball in $EQUIGRID_CACHE (default /var/cache/equigrid), keyed by the recipe (suite, mirror,
# packages, image settings, RECIPE below) and the CA bundle; a warm run only imports it (or finds
# the image). Bump RECIPE when changing how the tree is made.
set -euo pipefail
RECIPE=2

suite=${DEBIAN_SUITE:-bookworm}
ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
cache=${EQUIGRID_CACHE:-/var/cache/equigrid}

mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then  # the first archive in the machine's apt sources (deb822 or one-line)
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
fi
if [ -z "$mirror" ]; then
    mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}

packages=python3,python3-venv,ca-certificates
# Debian's python3 lives in /usr/bin; the official python images set the same variables.
changes=(
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    "ENV LANG=C.UTF-8"
    "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
    "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt"
    'CMD ["python3"]'
)

key=$({ echo "$RECIPE $suite $mirror $packages ${changes[*]}"; cat "$ca"; } | sha256sum | cut -c1-12)
tag="equigrid-base:$suite-$key"
if docker image inspect "$tag" >/dev/null 2>&1; then
    echo "$tag"
    exit 0
fi

tarball="$cache/debian-$suite-$key.tar"
if [ ! -f "$tarball" ]; then
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    echo "debian-base: debootstrap $suite from $mirror (cold: a few minutes)" >&2
    debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >&2
    install -m 0644 "$ca" "$root/etc/ssl/certs/ca-certificates.crt"
    chmod 0755 "$root"  # mktemp made it 0700; it becomes the image's /
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
        "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/*
    mkdir -p "$cache"
    tar --numeric-owner -C "$root" -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
    find "$cache" -maxdepth 1 -name "debian-$suite-*.tar" ! -name "${tarball##*/}" -delete
fi
import_args=()
for c in "${changes[@]}"; do import_args+=(--change "$c"); done
docker import "${import_args[@]}" "$tarball" "$tag" >/dev/null
echo "$tag"
