#!/bin/sh
# build.sh: build the Debian packages of simgate with dpkg-deb, one per
# architecture a shop's box may have.
#
#   systemd/deb/build.sh [OUTDIR]          # default OUTDIR: dist
#   VERSION=1.2.0 systemd/deb/build.sh     # default: from git describe
#
# Each package holds /usr/bin/simgate, the systemd unit, the udev rule that
# keeps ModemManager off the modems, the serial drivers' modules-load.d
# file and /etc/simgate/simgate.toml as a conffile (an owner's edits survive
# upgrades). postinst creates the "simgate" system user in dialout and
# enables the service. Run from the source tree; needs go and dpkg-deb.
set -eu

SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-dist}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$SRC"

if [ -z "${VERSION:-}" ]; then
	# A tag v1.2.3 gives 1.2.3; between tags, or without any, the commit
	# gives a version that sorts after the last tag.
	desc=$(git describe --tags --match 'v[0-9]*' 2>/dev/null || true)
	if [ -n "$desc" ]; then
		VERSION=$(printf '%s' "$desc" | sed -e 's/^v//' -e 's/-\([0-9]*\)-g\([0-9a-f]*\)$/+git\1.\2/')
	else
		VERSION="0.0.0~git$(git log -1 --format=%cd --date=format:%Y%m%d).$(git rev-parse --short=12 HEAD)"
	fi
fi

for arch in amd64 arm64 armhf; do
	case $arch in
	amd64) goarch=amd64 goarm= ;;
	arm64) goarch=arm64 goarm= ;;
	armhf) goarch=arm goarm=7 ;; # Raspberry Pi 2 and later on 32-bit Raspberry Pi OS
	esac
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	root="$stage/root"
	mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/lib/udev/rules.d" \
		"$root/usr/lib/modules-load.d" "$root/etc/simgate" "$root/usr/share/doc/simgate" \
		"$root/usr/share/man/man1" "$root/usr/share/lintian/overrides"

	# No -trimpath: the build shares the cache of CI's cross builds.
	CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm go build \
		-ldflags "-s -w -X main.version=$VERSION" -o "$root/usr/bin/simgate" ./cmd/simgate
	# The unit as install.sh installs it, with the package's binary path.
	sed 's#/usr/local/bin/simgate#/usr/bin/simgate#g; s#Installed by systemd/install.sh to /etc/systemd/system/simgate.service.#Installed by the simgate package.#' \
		systemd/simgate.service >"$root/lib/systemd/system/simgate.service"
	install -m 0644 systemd/99-simgate-modems.rules "$root/lib/udev/rules.d/99-simgate-modems.rules"
	install -m 0644 systemd/modules-load.d/simgate.conf "$root/usr/lib/modules-load.d/simgate.conf"
	# 0644 as shipped (the example holds no secret); postinst makes it
	# 0640 root:simgate before anyone can write a PIN into it.
	install -m 0644 systemd/simgate.toml "$root/etc/simgate/simgate.toml"
	gzip -9n <systemd/deb/simgate.1 >"$root/usr/share/man/man1/simgate.1.gz"
	install -m 0644 systemd/deb/lintian-overrides "$root/usr/share/lintian/overrides/simgate"
	chmod 0644 "$root/usr/share/man/man1/simgate.1.gz"
	chmod 0644 "$root/lib/systemd/system/simgate.service"
	install -m 0644 systemd/deb/copyright "$root/usr/share/doc/simgate/copyright"
	printf 'simgate (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n -- simgate maintainers <simgate@users.noreply.github.com>  %s\n' \
		"$VERSION" "$(git rev-parse HEAD 2>/dev/null || echo 'a source tree')" "$(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")" |
		gzip -9n >"$root/usr/share/doc/simgate/changelog.gz"
	chmod 0644 "$root/usr/share/doc/simgate/changelog.gz"
	install -m 0755 systemd/deb/postinst systemd/deb/prerm systemd/deb/postrm "$root/DEBIAN/"
	install -m 0644 systemd/deb/conffiles "$root/DEBIAN/conffiles"
	size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
	cat >"$root/DEBIAN/control" <<CONTROL
Package: simgate
Version: $VERSION
Architecture: $arch
Maintainer: simgate maintainers <simgate@users.noreply.github.com>
Installed-Size: $size
Depends: adduser, init-system-helpers (>= 1.52)
Section: comm
Priority: optional
Homepage: https://github.com/simgate/simgate
Description: self-hosted SMS gateway for USB GSM modems
 simgate drives USB and serial GSM modems with AT commands and sends a
 shop's texts from its own SIM cards: an outbound queue that survives
 crashes, delivery reports, consent and opt-outs (STOP, HELP, quiet hours,
 frequency caps), and a web console with live status and an HTTP API.
CONTROL
	deb="$OUT/simgate_${VERSION}_${arch}.deb"
	dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
	echo "built $deb"
	rm -rf "$stage"
	trap - EXIT
done
