#!/bin/sh
# Install what batten's live-container tests need on Debian 12, only when missing:
# a Docker engine (docker.io), a static busybox for the test image, and OpenSSH.
# Idempotent; must run as root. The tests start their own dockerd and sshd (loopback
# only, no bridge network), so the packages' own services are kept from starting.
set -eu

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-test-engine.sh: must run as root" >&2
    exit 1
fi

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

need=""
command -v dockerd >/dev/null 2>&1 || need="$need docker.io"
installed busybox-static || need="$need busybox-static"
[ -x /usr/sbin/sshd ] || need="$need openssh-server"
{ command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1; } || need="$need openssh-client"

if [ -z "$need" ]; then
    echo "setup-test-engine.sh: everything is installed"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "setup-test-engine.sh: installing:$need"

# Keep the packages' maintainer scripts from starting a system dockerd (which would
# create a bridge and iptables rules) or an sshd on port 22: policy-rc.d exit 101
# means "action forbidden". Only a guard this script created is removed again.
guard=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    guard=/usr/sbin/policy-rc.d
fi
cleanup() { [ -z "$guard" ] || rm -f "$guard"; }
trap cleanup EXIT INT TERM

apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $need
echo "setup-test-engine.sh: done"
