#!/bin/sh
# A home router on one machine, for the NAT tests: three network namespaces
# joined by veth pairs.
#   lan    192.168.77.2/24, default route via the router (the node under test),
#          and 192.168.77.3/24, a second LAN host that can hold ports
#   router 192.168.77.1/24 (LAN) and 10.99.0.1/24 (WAN): nftables masquerade;
#          miniupnpd serving UPnP IGDv2 (http://192.168.77.1:5000/rootDesc.xml),
#          NAT-PMP and PCP (UDP 5351) to the LAN
#   wan    10.99.0.2/24 and 10.99.0.3/24: a STUN server and the "Internet" peers
# miniupnpd will not forward while its WAN address is private unless STUN says
# the NAT is full-cone: hence ext_perform_stun and the STUN server in wan.
#
# Every address lives inside these namespaces, and so does every multicast
# (SSDP) and NAT-PMP/PCP packet: nothing here touches the host's interfaces.
#
# Needs root and: iproute2 nftables miniupnpd-nftables stun-server.
# Usage: up.sh STATE_DIR      (down.sh STATE_DIR undoes it)
# Prints nothing on success; on failure, what went wrong, and cleans up.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
D=${1:?usage: up.sh STATE_DIR}
mkdir -p "$D"
# A previous run that died leaves namespaces behind.
"$HERE/down.sh" "$D"
trap '"$HERE/down.sh" "$D"' EXIT

ip netns add lan
ip netns add router
ip netns add wan
ip link add lan0 netns lan type veth peer name rlan0 netns router
ip link add rwan0 netns router type veth peer name wan0 netns wan
ip -n lan    addr add 192.168.77.2/24 dev lan0
ip -n lan    addr add 192.168.77.3/24 dev lan0   # secondary: .2 stays the source address
ip -n router addr add 192.168.77.1/24 dev rlan0
ip -n router addr add 10.99.0.1/24  dev rwan0
ip -n wan    addr add 10.99.0.2/24  dev wan0
ip -n wan    addr add 10.99.0.3/24  dev wan0   # stund answers from a second address
for ns in lan router wan; do ip -n $ns link set lo up; done
ip -n lan link set lan0 up
ip -n router link set rlan0 up
ip -n router link set rwan0 up
ip -n wan link set wan0 up
ip -n lan route add default via 192.168.77.1
# /proc/sys/net shows the namespace of the process that writes it.
ip netns exec router sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward'

ip netns exec wan stund -h 10.99.0.2 -a 10.99.0.3 >"$D/stund.log" 2>&1 &
echo $! >"$D/stund.pid"
for i in $(seq 50); do
  ip netns exec wan ss -Hlun 'sport = 3478' | grep -q . && break
  sleep 0.1
done

"$HERE/router.sh" start "$D"
trap - EXIT
