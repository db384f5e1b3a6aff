#!/bin/bash
# End-to-end check of the control socket on a VM that ran a guest test:
# the host simulator ($BUILD/guest-sim/interleave, docs/guest-tests.md)
# runs the interleave placement test on a two-node VM with --socket and
# --hold, then the real numavmctl reads the finished VM and every figure is
# checked against what the guest did: numastat (text and --json), vcpus,
# buddyinfo/zoneinfo, placement over the interleaved range; set-policy is
# accepted, and quit makes the sim exit with the pass status and remove
# its socket.  Every step is under a timeout; the sim is killed on failure.
#
#   live_socket.sh [--build DIR] [-v]
#
# Exit status 0 when every check passes, 1 otherwise.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
verbose=
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	-v) verbose=yes; shift ;;
	*) echo "usage: $0 [--build DIR] [-v]" >&2; exit 2 ;;
	esac
done

sim=$build/guest-sim/interleave
ctl=$build/numavmctl
config=$root/configs/two-node-interleave.ini
append="vcpu-nodes=0-1 range=64M+16M range-nodes=0-1"
range=0x4000000-0x4200000	# the 512 pages the test interleaves by offset
ncpus=2

tmp=$(mktemp -d /tmp/live_socket.XXXXXX) || exit 1
sock=$tmp/s
out=$tmp/sim.out
pid=
failed=0

# shellcheck disable=SC2317  # called by the trap below
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

pass() {
	echo "PASS: live socket: $*"
}

fail() {
	echo "FAIL: live socket: $*"
	failed=1
}

# fatal: print what the sim said and stop (cleanup kills it)
die() {
	fail "$*"
	echo "--- simulator output:"
	cat "$out"
	exit 1
}

check() {
	local what=$1
	shift
	if "$@"; then
		pass "$what"
	else
		fail "$what"
	fi
}

nvctl() {
	timeout 5 "$ctl" --socket "$sock" "$@"
}

[ -x "$sim" ] || die "$sim not built"
[ -x "$ctl" ] || die "$ctl not built"

echo "== control socket on a simulated VM after its guest test ($sim)"
# timeout(1) is the backstop: the sim holds for 20 s at most
timeout -s KILL 40 "$sim" --hold --config "$config" --timeout 15 \
	-append "$append" --socket "$sock" >"$out" 2>&1 &
pid=$!

# the guest is done and the host checks passed when the sim says so
for _ in $(seq 200); do
	grep -q '^sim: holding' "$out" && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
grep -q '^sim: holding' "$out" || die "the sim did not finish its guest test and hold"
[ -n "$verbose" ] && cat "$out"
grep -q '^SUMMARY: .* 0 unexpected failures' "$out" ||
	die "the guest test did not pass"
[ -S "$sock" ] || die "no socket at $sock"

# pages the guest touched, from its report lines ("2 CPUs x 256 pages ...
# read back", "512 pages touched ... read back"), plus one hypercall page
# per vCPU
touched=$(awk '/^PASS: .*read back/ {
		if (match($0, /[0-9]+ CPUs x [0-9]+ pages/)) {
			split(substr($0, RSTART, RLENGTH), w, " ")
			n += w[1] * w[4]
		} else if (match($0, /[0-9]+ pages touched/)) {
			n += substr($0, RSTART, RLENGTH) + 0
		}
	} END { print n + 0 }' "$out")
expect=$((touched + ncpus))
[ "$touched" -gt 0 ] || die "no touched pages in the guest's report"

# numastat: "ROW node0 node1"
nvctl numastat >"$tmp/numastat" || die "numavmctl numastat failed"
stat() {
	awk -v row="$1" -v col="$2" '$1 == row { print $(col + 2) }' \
		"$tmp/numastat"
}
used0=$(stat pages_used 0)
used1=$(stat pages_used 1)
used=$((used0 + used1))
check "pages in use $used0+$used1 == guest-touched $touched + $ncpus hypercall pages" \
	[ "$used" -eq "$expect" ]
ok=yes
for n in 0 1; do
	hit=$(stat numa_hit $n)
	[ "$(stat numa_miss $n)" -eq 0 ] || ok=no
	[ "$(stat interleave_hit $n)" -eq "$hit" ] || ok=no
	[ "$(stat pages_used $n)" -eq "$hit" ] || ok=no
	[ $(($(stat local_node $n) + $(stat other_node $n))) -eq "$hit" ] ||
		ok=no
done
check "numastat: every page an interleave hit, no miss, local+other == hit" \
	[ "$ok" = yes ]
diff=$((used0 - used1))
check "interleaved pages balanced over the nodes ($used0 vs $used1)" \
	[ "${diff#-}" -le "$ncpus" ]

# --json numastat: the same interleave_hit figures
nvctl --json numastat >"$tmp/numastat.json" ||
	die "numavmctl --json numastat failed"
jhits=$(grep -o '"interleave_hit":[0-9]*' "$tmp/numastat.json" |
	awk -F: '{ s += $2; n++ } END { print n "/" s }')
check "--json numastat: 2 nodes, interleave_hit total $used" \
	[ "$jhits" = "2/$used" ]

# vcpus: "CPU HOME FAULTS POLICY NODE0 NODE1"
nvctl vcpus >"$tmp/vcpus" || die "numavmctl vcpus failed"
vsum=$(awk 'NR > 1 && $3 == $5 + $6 && $4 == "interleave:0-1" {
		n++; f += $3 } END { print n "/" f }' "$tmp/vcpus")
check "vcpus: $ncpus interleaving vCPUs, allocations == faults, faults total $used" \
	[ "$vsum" = "$ncpus/$used" ]

# zoneinfo + buddyinfo: free blocks + pcp + in use == managed, per node
nvctl zoneinfo >"$tmp/zoneinfo" || die "numavmctl zoneinfo failed"
nvctl buddyinfo >"$tmp/buddyinfo" || die "numavmctl buddyinfo failed"
ok=yes
for n in 0 1; do
	bfree=$(awk -v n="$n," '$1 == "Node" && $2 == n {
			for (o = 5; o <= NF; o++) s += $o * 2 ^ (o - 5)
		} END { printf "%d", s }' "$tmp/buddyinfo")
	zone=$(awk -v n="$n," '$1 == "Node" { cur = ($2 == n) }
		cur && $1 == "pages" { f = $3 } cur && $1 == "pcp" { p = $2 }
		cur && $1 == "managed" { m = $2 }
		END { print f, p, m }' "$tmp/zoneinfo")
	read -r zfree zpcp managed <<<"$zone"
	[ "$bfree" -eq "$zfree" ] || ok=no
	[ $((zfree + zpcp)) -eq "$(stat pages_free $n)" ] || ok=no
	[ $((zfree + zpcp + $(stat pages_used $n))) -eq "$managed" ] || ok=no
done
check "buddyinfo blocks == zoneinfo free; free + pcp + in use == managed" \
	[ "$ok" = yes ]

# placement over the config's interleaved range: page k on node k % 2
nvctl placement "$range" >"$tmp/placement" || die "numavmctl placement failed"
runs=$(awk '/ node[0-9]+ +1 pages$/ {
		if ($2 != "node" (n % 2)) bad++
		n++
	} END { print n + 0 "/" bad + 0 }' "$tmp/placement")
check "placement $range: 512 one-page runs alternating node0, node1" \
	[ "$runs" = "512/0" ]
check "placement $range: 256 pages per node, none unbacked" \
	grep -q '^pages: node0=256 node1=256 unbacked=0$' "$tmp/placement"

# a policy change on the live VM
check "set-policy vcpu 0 bind 1 accepted" nvctl set-policy vcpu 0 bind 1
check "vcpus shows vCPU 0 bound to node 1" \
	sh -c "timeout 5 '$ctl' --socket '$sock' vcpus | awk '\$1 == 0 && \$4 == \"bind:1\" { f = 1 } END { exit !f }'"

# quit: the sim stops with the pass status and removes its socket
reply=$(nvctl raw quit)
check "quit answers {\"return\":{}} (got $reply)" [ "$reply" = '{"return":{}}' ]
status=
for _ in $(seq 100); do
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"
		status=$?
		pid=
		break
	fi
	sleep 0.1
done
[ -n "$status" ] || die "the sim still runs 10 s after quit"
check "the sim exits with the pass status 1 after quit (got $status)" \
	[ "$status" -eq 1 ]
check "the socket file is removed" [ ! -e "$sock" ]

if [ "$failed" -ne 0 ]; then
	echo "--- simulator output:"
	cat "$out"
	exit 1
fi
exit 0
