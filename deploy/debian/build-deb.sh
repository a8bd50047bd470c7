#!/usr/bin/env bash
# make deb: builds the Debian package of the working tree with debhelper,
# in build/deb/ (the source is copied to build/deb/hornet-VERSION/, the
# packaging from deploy/debian/), then runs lintian on it.
# VERSION is the Makefile's, passed by `make deb`: the one place it lives.
set -euo pipefail
cd "$(dirname "$0")/../.."

VERSION=${1:-}
if [[ ! $VERSION =~ ^[0-9][0-9A-Za-z.+~]*$ ]]; then
    echo "usage: deploy/debian/build-deb.sh VERSION (make deb passes the Makefile's)" >&2
    exit 2
fi
for tool in dpkg-buildpackage dh help2man; do
    if ! command -v "$tool" >/dev/null; then
        echo "build-deb: $tool is missing; run: make deps (deploy/install-deps.sh)" >&2
        exit 1
    fi
done

OUT=build/deb
STAGE=$OUT/hornet-$VERSION
rm -rf "$OUT"
mkdir -p "$STAGE"

# The source: the files git knows about (tracked and new, not ignored) that
# exist now, so the package is what `make` builds from this tree.
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do
            [[ -e $f && $f != node_modules/* ]] && printf '%s\0' "$f"
        done | tar --null -T - -cf - | tar -xf - -C "$STAGE"
    commit=$(git rev-parse --short HEAD)
    epoch=$(git log -1 --format=%ct)
else
    tar --exclude=./build --exclude=./.git --exclude=./node_modules -cf - . | tar -xf - -C "$STAGE"
    commit=unknown
    epoch=$(date +%s)
fi
# The npm packages the build embeds (make deps fetched them): copied, so the
# package build needs no network.
if [[ -d node_modules ]]; then
    cp -a node_modules "$STAGE/"
fi
cp -a deploy/debian "$STAGE/debian"
rm -f "$STAGE/debian/build-deb.sh" "$STAGE/debian/gen-man.sh"

maint=$(sed -n 's/^Maintainer: //p' deploy/debian/control)
{
    echo "hornet ($VERSION) unstable; urgency=medium"
    echo
    echo "  * Built by make deb from the hornet source tree at $commit."
    echo
    echo " -- $maint  $(date -R -u -d "@$epoch")"
} >"$STAGE/debian/changelog"

export SOURCE_DATE_EPOCH=$epoch
(cd "$STAGE" && dpkg-buildpackage -b -us -uc) >"$OUT/build.log" 2>&1 || {
    tail -40 "$OUT/build.log"
    echo "build-deb: dpkg-buildpackage failed; the whole log is $OUT/build.log" >&2
    exit 1
}
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$OUT/hornet_${VERSION}_${arch}.deb
[[ -f $deb ]] || { echo "build-deb: $deb was not made (see $OUT/build.log)" >&2; exit 1; }
echo "build-deb: $deb"
dpkg-deb --field "$deb" Version Depends

if command -v lintian >/dev/null; then
    # Errors fail the build; warnings and info are listed.
    if lintian --info --display-level '>=pedantic' --fail-on error "$deb" >"$OUT/lintian.txt" 2>&1; then
        echo "build-deb: lintian: no errors ($(grep -c '^W:' "$OUT/lintian.txt" || true) warnings; $OUT/lintian.txt)"
    else
        cat "$OUT/lintian.txt"
        echo "build-deb: lintian found errors" >&2
        exit 1
    fi
    grep -E '^[WIP]:' "$OUT/lintian.txt" | sort -u || true
else
    echo "build-deb: lintian is not installed; not checked (make deps installs it)"
fi
