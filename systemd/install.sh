#!/bin/sh
# install.sh: install simgate as a systemd service on this machine.
#
#   go build -o simgate ./cmd/simgate
#   sudo systemd/install.sh [BINARY]        # BINARY defaults to ./simgate
#
# What it does, each step safe to repeat (run it again to upgrade):
#   - creates the system user and group "simgate", in group dialout;
#   - installs BINARY as /usr/local/bin/simgate (atomically: a running
#     daemon keeps its old copy until restarted);
#   - installs simgate.service, the udev rule that keeps ModemManager off
#     the modems, and the modules-load.d file for the serial drivers;
#   - creates /etc/simgate/simgate.toml from the commented example, only if
#     there is none: your configuration is never overwritten;
#   - reloads systemd and udev, loads the drivers, enables the service, and
#     restarts it if it was running.
#
# With DESTDIR set (DESTDIR=/tmp/stage systemd/install.sh), the files are
# staged below DESTDIR and the running system is left alone: no user, no
# systemctl, udevadm or modprobe, no root needed. That is for packaging and
# for the test in cmd/simgate.
set -eu

BIN=${1:-./simgate}
DESTDIR=${DESTDIR:-}
SRC=$(cd "$(dirname "$0")" && pwd)

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 1; }
# live: true when installing onto this system rather than into DESTDIR.
live() { [ -z "$DESTDIR" ]; }

# place MODE SRC DEST copies SRC to DESTDIR/DEST through a temporary file
# and a rename, so DEST is never half-written and a running binary is not
# modified in place ("text file busy").
place() {
	dest="$DESTDIR$3"
	mkdir -p "$(dirname "$dest")"
	install -m "$1" "$2" "$dest.new.$$"
	mv -f "$dest.new.$$" "$dest"
	say "installed $3"
}

[ -f "$BIN" ] || die "no binary at $BIN (build it with: go build -o simgate ./cmd/simgate)"
for f in simgate.service 99-simgate-modems.rules modules-load.d/simgate.conf simgate.toml; do
	[ -f "$SRC/$f" ] || die "missing $SRC/$f: run install.sh from a simgate source tree"
done
if live && [ "$(id -u)" -ne 0 ]; then
	die "run as root (sudo $0), or set DESTDIR to stage the files somewhere"
fi

# The user the service runs as. dialout owns the serial ports.
if live; then
	getent group dialout >/dev/null || groupadd --system dialout
	getent group simgate >/dev/null || groupadd --system simgate
	if ! getent passwd simgate >/dev/null; then
		nologin=$(command -v nologin || echo /usr/sbin/nologin)
		useradd --system --gid simgate --home-dir /var/lib/simgate --no-create-home \
			--shell "$nologin" --comment "simgate SMS gateway" simgate
		say "created user simgate"
	fi
	# Also for a user made by hand or by an older version without dialout.
	usermod -a -G dialout simgate
fi

place 0755 "$BIN" /usr/local/bin/simgate
place 0644 "$SRC/simgate.service" /etc/systemd/system/simgate.service
place 0644 "$SRC/99-simgate-modems.rules" /etc/udev/rules.d/99-simgate-modems.rules
place 0644 "$SRC/modules-load.d/simgate.conf" /etc/modules-load.d/simgate.conf

# The config holds SIM PINs: readable by root and the service's group only.
mkdir -p "$DESTDIR/etc/simgate"
chmod 0750 "$DESTDIR/etc/simgate"
if live; then chown root:simgate /etc/simgate; fi
conf="$DESTDIR/etc/simgate/simgate.toml"
if [ -e "$conf" ] || [ -L "$conf" ]; then
	say "kept existing /etc/simgate/simgate.toml"
else
	install -m 0640 "$SRC/simgate.toml" "$conf.new.$$"
	if live; then chown root:simgate "$conf.new.$$"; fi
	mv "$conf.new.$$" "$conf"
	say "created /etc/simgate/simgate.toml: add your modems there (simgate ports lists them)"
fi

if ! live; then
	say "staged in $DESTDIR; skipped user creation, systemctl, udevadm and modprobe"
	exit 0
fi

systemctl daemon-reload
# Apply the udev rule to modems already plugged in: their ttys get the
# ModemManager-ignore property and the dialout group now, not at next plug.
udevadm control --reload
udevadm trigger --action=change --subsystem-match=tty
# Built-in drivers or a kernel without them is not fatal: simgate ports
# will show whether the modem's ports exist.
modprobe -a option qcserial cdc_acm || say "warning: could not load every serial driver (see dmesg)"
systemctl enable simgate.service
if systemctl is-active --quiet simgate.service; then
	systemctl restart simgate.service
	say "restarted simgate with the new binary and unit"
else
	say "enabled simgate; start it with: sudo systemctl start simgate"
fi
if systemctl is-active --quiet ModemManager.service; then
	say "note: ModemManager is running. The udev rule keeps it off known modems;"
	say "      if simgate ports shows a modem as busy, add its USB id to"
	say "      /etc/udev/rules.d/99-simgate-modems.rules or disable ModemManager."
fi
say "logs: journalctl -u simgate -f"
