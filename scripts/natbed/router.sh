#!/bin/sh
# Starts, stops or restarts miniupnpd in the router namespace of up.sh.
# A restart is a router reboot as the LAN sees it: the leases are gone, the
# nftables rules miniupnpd made are flushed, and the NAT-PMP/PCP epoch
# starts again from 0 (system_uptime=no).
# Usage: router.sh start|stop|restart STATE_DIR
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
D=${2:?usage: router.sh start|stop|restart STATE_DIR}

stop() {
  if [ -f "$D/miniupnpd.ownpid" ]; then
    pid=$(cat "$D/miniupnpd.ownpid")
    kill "$pid" 2>/dev/null || true
    # miniupnpd deletes its rules on the way out; wait for it.
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$D/miniupnpd.ownpid" "$D/miniupnpd.pid"
  fi
  rm -f "$D/upnp.leases"
}

start() {
  # Rules left by a miniupnpd that was killed would outlive it.
  ip netns exec router nft -f "$HERE/router.nft"
  sed "s|^lease_file=.*|lease_file=$D/upnp.leases|" "$HERE/miniupnpd.conf" >"$D/miniupnpd.conf"
  : >"$D/miniupnpd.log"
  ip netns exec router /usr/sbin/miniupnpd -f "$D/miniupnpd.conf" -P "$D/miniupnpd.pid" -d >>"$D/miniupnpd.log" 2>&1 &
  echo $! >"$D/miniupnpd.ownpid"
  # miniupnpd asks STUN before it enables forwarding.
  for i in $(seq 100); do
    grep -q "Port forwarding is now enabled" "$D/miniupnpd.log" && return 0
    sleep 0.1
  done
  echo "miniupnpd did not enable forwarding; see $D/miniupnpd.log:" >&2
  tail -20 "$D/miniupnpd.log" >&2
  return 1
}

case $1 in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  *) echo "usage: router.sh start|stop|restart STATE_DIR" >&2; exit 2 ;;
esac
