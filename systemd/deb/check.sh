#!/bin/sh
# check.sh: check the packages build.sh made, as CI does.
#
#   systemd/deb/check.sh DIST
#
# For every package: the files it must hold, with their modes (dpkg-deb
# -c), and lintian when it is installed (errors fail, warnings show). Then,
# when run as root with apt (CI), the amd64 package is installed for real:
# the user and its groups, the config's permissions, the binary's version,
# an upgrade that keeps the owner's edit of the config, and a purge that
# keeps the data directory.
set -eu
DIST=${1:?usage: check.sh DIST}
fail() { printf 'check.sh: %s\n' "$*" >&2; exit 1; }

found=0
for deb in "$DIST"/simgate_*.deb; do
	[ -e "$deb" ] || fail "no packages in $DIST"
	found=$((found + 1))
	list=$(dpkg-deb -c "$deb")
	for want in \
		'-rwxr-xr-x root/root .* ./usr/bin/simgate$' \
		'-rw-r--r-- root/root .* ./lib/systemd/system/simgate.service$' \
		'-rw-r--r-- root/root .* ./lib/udev/rules.d/99-simgate-modems.rules$' \
		'-rw-r--r-- root/root .* ./usr/lib/modules-load.d/simgate.conf$' \
		'-rw-r--r-- root/root .* ./etc/simgate/simgate.toml$' \
		'./usr/share/doc/simgate/copyright$' \
		'./usr/share/man/man1/simgate.1.gz$'; do
		printf '%s\n' "$list" | grep -q -- "$want" || fail "$deb lacks $want"
	done
	dpkg-deb -I "$deb" conffiles | grep -qx /etc/simgate/simgate.toml || fail "$deb: simgate.toml is not a conffile"
	dpkg-deb -I "$deb" control | grep -q '^Depends:.*adduser' || fail "$deb: no Depends on adduser"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/systemd/system/simgate.service | grep -q '^ExecStart=/usr/bin/simgate serve' ||
		fail "$deb: the unit does not run /usr/bin/simgate"
	if command -v lintian >/dev/null 2>&1; then
		# Root is how CI runs; lintian only notes it.
		lintian --tag-display-limit 0 "$deb" 2>&1 | grep -v 'running with root privileges' || true
		lintian "$deb" >/dev/null 2>&1 || fail "lintian found errors in $deb"
	fi
	echo "ok $deb"
done

amd64=$(ls "$DIST"/simgate_*_amd64.deb 2>/dev/null | head -n 1)
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1 || [ -z "$amd64" ] || [ "$(dpkg --print-architecture)" != amd64 ]; then
	echo "install test skipped (needs root, apt and an amd64 machine)"
	exit 0
fi
if dpkg -s simgate >/dev/null 2>&1; then
	fail "simgate is installed on this machine already; the install test would change it"
fi
export DEBIAN_FRONTEND=noninteractive
# apt takes a file only as a path with a slash in front ("./x.deb", "/x.deb").
amd64="$(cd "$(dirname "$amd64")" && pwd)/$(basename "$amd64")"
apt-get install -y -qq "$amd64" >/dev/null
trap 'dpkg --purge simgate >/dev/null 2>&1 || true' EXIT
id -nG simgate | tr ' ' '\n' | grep -qx dialout || fail "user simgate is not in dialout"
[ "$(stat -c '%a %U %G' /etc/simgate/simgate.toml)" = "640 root simgate" ] || fail "simgate.toml is $(stat -c '%a %U %G' /etc/simgate/simgate.toml)"
[ "$(stat -c '%a %U %G' /etc/simgate)" = "750 root simgate" ] || fail "/etc/simgate is $(stat -c '%a %U %G' /etc/simgate)"
/usr/bin/simgate version | grep -q '^simgate ' || fail "simgate version: $(/usr/bin/simgate version)"

# An upgrade keeps the owner's edit of the config.
echo '# an edit the upgrade must keep' >>/etc/simgate/simgate.toml
work=$(mktemp -d)
dpkg-deb -R "$amd64" "$work/root"
sed -i 's/^Version: \(.*\)$/Version: \1+upgrade/' "$work/root/DEBIAN/control"
dpkg-deb --root-owner-group -b "$work/root" "$work/simgate_upgrade_amd64.deb" >/dev/null
apt-get install -y -qq "$work/simgate_upgrade_amd64.deb" >/dev/null
tail -n 1 /etc/simgate/simgate.toml | grep -q 'an edit the upgrade must keep' || fail "the upgrade replaced the edited config"
dpkg -s simgate | grep -q '^Version: .*+upgrade$' || fail "the upgrade did not install"
rm -rf "$work"

# A purge removes the program and its config, never the data.
mkdir -p /var/lib/simgate && touch /var/lib/simgate/simgate.db
dpkg --purge simgate >/dev/null
trap - EXIT
[ ! -e /usr/bin/simgate ] || fail "purge left /usr/bin/simgate"
[ -e /var/lib/simgate/simgate.db ] || fail "purge removed the data"
echo "install, upgrade and purge ok"
