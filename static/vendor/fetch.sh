#!/usr/bin/env bash
# Re-create static/vendor/ from the npm registry: only the dist files the maps need + licences.
# Usage: bash static/vendor/fetch.sh   (needs npm and network; run from the repo root)
set -euo pipefail
VENDOR="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

unpack() {  # unpack <npm spec> <dest folder>
    local tgz
    tgz="$(npm pack --silent "$1" | tail -1)"
    rm -rf pkg && mkdir pkg && tar xzf "$tgz" -C pkg
    rm -rf "${VENDOR:?}/$2" && mkdir -p "$VENDOR/$2"
}

unpack leaflet@1.9.3 leaflet@1.9.3
cp -r pkg/package/dist/leaflet.js pkg/package/dist/leaflet.css pkg/package/dist/images \
      pkg/package/LICENSE pkg/package/package.json "$VENDOR/leaflet@1.9.3/"

unpack jquery@3.7.1 jquery@3.7.1
cp pkg/package/dist/jquery.min.js pkg/package/LICENSE.txt pkg/package/package.json "$VENDOR/jquery@3.7.1/"

unpack bootstrap@5.2.2 bootstrap@5.2.2
mkdir -p "$VENDOR/bootstrap@5.2.2/css" "$VENDOR/bootstrap@5.2.2/js"
cp pkg/package/dist/css/bootstrap.min.css "$VENDOR/bootstrap@5.2.2/css/"
cp pkg/package/dist/js/bootstrap.bundle.min.js "$VENDOR/bootstrap@5.2.2/js/"
cp pkg/package/LICENSE pkg/package/package.json "$VENDOR/bootstrap@5.2.2/"

unpack @fortawesome/fontawesome-free@6.2.0 fontawesome-free@6.2.0
cp -r pkg/package/webfonts pkg/package/LICENSE.txt pkg/package/package.json "$VENDOR/fontawesome-free@6.2.0/"
mkdir -p "$VENDOR/fontawesome-free@6.2.0/css"
cp pkg/package/css/all.min.css "$VENDOR/fontawesome-free@6.2.0/css/"

# Leaflet.awesome-markers 2.0.2 as republished on npm (MIT, same files as cdnjs).
unpack drmonty-leaflet-awesome-markers@2.0.2 leaflet.awesome-markers@2.0.2
cp -r pkg/package/css/leaflet.awesome-markers.css pkg/package/css/images pkg/package/package.json \
      "$VENDOR/leaflet.awesome-markers@2.0.2/"
cp pkg/package/js/leaflet.awesome-markers.js "$VENDOR/leaflet.awesome-markers@2.0.2/"

unpack leaflet.fullscreen@3.0.0 leaflet.fullscreen@3.0.0
cp pkg/package/Control.FullScreen.js pkg/package/Control.FullScreen.css pkg/package/icon-fullscreen.svg \
   pkg/package/LICENSE pkg/package/package.json "$VENDOR/leaflet.fullscreen@3.0.0/"

unpack leaflet-draw@1.0.2 leaflet.draw@1.0.2
cp -r pkg/package/dist/leaflet.draw.js pkg/package/dist/leaflet.draw.css pkg/package/dist/images \
      pkg/package/package.json "$VENDOR/leaflet.draw@1.0.2/"
echo "vendored into $VENDOR"
