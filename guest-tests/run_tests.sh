#!/bin/bash
# Run the guest tests of unittests.cfg, as kvm-unit-tests' run_tests.sh does:
# one "PASS|FAIL|SKIP <name> (...)" line per test, then "N passed, N failed,
# N skipped"; exit status 1 if anything failed.
#
#   run_tests.sh [--build DIR] [--qemu|--sim] [-g GROUP] [-v] [NAME...]
#
# Default mode boots every image under numavm ($BUILD/numavm); without a
# usable /dev/kvm every test is a SKIP.  --qemu boots them under
# qemu-system-x86_64 instead: with KVM when /dev/kvm is usable, else TCG
# (ACCEL=kvm|tcg forces one).  --sim runs the numavm command line of each
# test that has a host simulation ($BUILD/guest-sim/<file>: the test on
# host threads over numavm's fault path, no KVM); the others are SKIPs.
# Every run is under timeout(1), so a stuck guest is killed.
# Logs: $BUILD/guest-tests/logs/<name>.<mode>.log.
# Environment: NUMAVM, QEMU (binaries), ACCEL, CFG (the table), KVM_DEV
# (the device checked for KVM, to test the runner itself).
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=build
mode=numavm
group=
verbose=0
names=()

usage() {
	sed -n '2,/^set -u/s/^# \{0,1\}//p' "$0"
	exit "$1"
}

while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--build=*) build=${1#--build=}; shift ;;
	--qemu) mode=qemu; shift ;;
	--sim) mode=sim; shift ;;
	-g) group=$2; shift 2 ;;
	-v) verbose=1; shift ;;
	-h|--help) usage 0 ;;
	-*) echo "run_tests.sh: unknown option $1" >&2; usage 2 >&2 ;;
	*) names+=("$1"); shift ;;
	esac
done

cfg=${CFG:-$here/unittests.cfg}
imgdir=$build/guest-tests
logdir=$imgdir/logs
numavm=${NUMAVM:-$build/numavm}
qemu=${QEMU:-qemu-system-x86_64}
mkdir -p "$logdir" || exit 1

kvm_dev=${KVM_DEV:-/dev/kvm}
kvm_usable() { [ -c "$kvm_dev" ] && [ -r "$kvm_dev" ] && [ -w "$kvm_dev" ]; }

# --- parse the table into tests[] and cfg_<key>[name] -------------------
declare -a tests=()
declare -A cfg_file cfg_smp cfg_mem cfg_append cfg_extra_params \
	cfg_qemu_params cfg_expect cfg_qemu_expect cfg_groups cfg_timeout \
	cfg_config
cur=
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	line=${line%%$'\r'}
	[[ $line =~ ^[[:space:]]*(#|$) ]] && continue
	if [[ $line =~ ^\[([A-Za-z0-9_.-]+)\][[:space:]]*$ ]]; then
		cur=${BASH_REMATCH[1]}
		tests+=("$cur")
		continue
	fi
	if [[ -z $cur || ! $line =~ ^[[:space:]]*([a-z_]+)[[:space:]]*=[[:space:]]*(.*[^[:space:]])?[[:space:]]*$ ]]; then
		echo "run_tests.sh: $cfg:$lineno: cannot parse: $line" >&2
		exit 2
	fi
	key=${BASH_REMATCH[1]}
	val=${BASH_REMATCH[2]}
	case $key in
	file|smp|mem|append|extra_params|qemu_params|expect|qemu_expect|groups|timeout|config)
		declare -n ref=cfg_$key
		# shellcheck disable=SC2034  # a nameref to cfg_<key>
		ref["$cur"]=$val
		unset -n ref ;;
	*)
		echo "run_tests.sh: $cfg:$lineno: unknown key '$key'" >&2
		exit 2 ;;
	esac
done < "$cfg"

# --- what an exit status means -------------------------------------------
explain() {
	case $1 in
	0) echo "status 0: guest shut down or triple-faulted, or no exit port" ;;
	1) echo "status 1: all passed" ;;
	3) echo "status 3: a subtest failed" ;;
	124|137) echo "status $1: timed out after ${2}s, killed" ;;
	155) echo "status 155: every subtest skipped" ;;
	251) echo "status 251: guest abort()" ;;
	253) echo "status 253: unhandled exception in the guest" ;;
	*) echo "status $1" ;;
	esac
}

summary_of() {
	local s
	s=$(grep -a -m1 '^SUMMARY:' "$1" | sed 's/^SUMMARY: //')
	echo "${s:-no SUMMARY line}"
}

# --- the runner -----------------------------------------------------------
accel=
if [ "$mode" = qemu ]; then
	if [ -n "${ACCEL:-}" ]; then
		accel=$ACCEL
	elif kvm_usable; then
		accel=kvm
	else
		accel=tcg
	fi
	if ! command -v "$qemu" >/dev/null 2>&1; then
		echo "run_tests.sh: $qemu not found (scripts/deps.sh installs qemu-system-x86)" >&2
		exit 2
	fi
	echo "== guest tests under QEMU ($("$qemu" --version | head -n1 | sed 's/ (.*//'), accel=$accel$([ "$accel" = tcg ] && ! kvm_usable && echo ': no /dev/kvm'))"
elif [ "$mode" = sim ]; then
	echo "== guest tests in the host simulator ($build/guest-sim/: numavm's fault path, host threads as vCPUs, no KVM)"
else
	echo "== guest tests under numavm ($numavm)"
fi

numavm_has_append=
numavm_has_config=
passed=0 failed=0 skipped=0

run_one() {
	local name=$1 file=${cfg_file[$1]:-} smp=${cfg_smp[$1]:-1}
	local mem=${cfg_mem[$1]:-128} append=${cfg_append[$1]:-}
	local expect=${cfg_expect[$1]:-pass} timeout=${cfg_timeout[$1]:-30}
	local config=${cfg_config[$1]:-} numavm=$numavm
	local img=$imgdir/$file log=$logdir/$name.$mode.log
	local label status why limit=$timeout
	local -a cmd

	if [ -z "$file" ]; then
		result FAIL "$name" "no file= in $cfg"
		return
	fi
	if [ "$mode" = sim ]; then
		# the same numavm command line, run by the host simulator
		label=sim
		numavm=$build/guest-sim/${file%.elf}
		if [ ! -x "$numavm" ]; then
			result SKIP "$name" "no host simulation of $file (only the placement tests have one)"
			return
		fi
		numavm_has_append=yes numavm_has_config=yes
	fi
	if [ "$mode" = numavm ] || [ "$mode" = sim ]; then
		[ "$mode" = numavm ] && label=numavm
		if [ "$mode" = numavm ] && ! kvm_usable; then
			result SKIP "$name" "no /dev/kvm: numavm needs KVM; run_tests.sh --qemu boots the same image under QEMU"
			return
		fi
		if [ ! -x "$numavm" ]; then
			result FAIL "$name" "$numavm not built"
			return
		fi
		if [ -n "$append" ]; then
			if [ -z "$numavm_has_append" ]; then
				if "$numavm" -h 2>&1 | grep -q -- '-append'; then
					numavm_has_append=yes
				else
					numavm_has_append=no
				fi
			fi
			if [ "$numavm_has_append" = no ]; then
				result SKIP "$name" "needs a guest command line ($append) and numavm has no -append"
				return
			fi
		fi
		if [ -n "$config" ]; then
			if [ -z "$numavm_has_config" ]; then
				if "$numavm" -h 2>&1 | grep -q -- '--config'; then
					numavm_has_config=yes
				else
					numavm_has_config=no
				fi
			fi
			if [ "$numavm_has_config" = no ]; then
				result SKIP "$name" "needs $config and numavm has no --config"
				return
			fi
		fi
		# numavm stops the guest itself; timeout(1) is the backstop
		limit=$((timeout + 5))
		if [ -n "$config" ]; then
			# the config file sets RAM, vCPUs and the topology
			cmd=("$numavm" --config "$root/$config" --timeout "$timeout")
		else
			cmd=("$numavm" -smp "$smp" -m "$mem" --timeout "$timeout")
		fi
		[ -n "$append" ] && cmd+=(-append "$append")
		# shellcheck disable=SC2206
		cmd+=(${cfg_extra_params[$name]:-} "$img")
	else
		label="qemu/$accel"
		expect=${cfg_qemu_expect[$name]:-$expect}
		cmd=("$qemu" -accel "$accel" -nodefaults -display none
		     -monitor none -serial stdio
		     -device "isa-debug-exit,iobase=0xf4,iosize=0x04"
		     -no-reboot -smp "$smp" -m "$mem" -kernel "$img")
		[ -n "$append" ] && cmd+=(-append "$append")
		# shellcheck disable=SC2206
		cmd+=(${cfg_qemu_params[$name]:-})
	fi
	if [ "$mode" != sim ] && [ ! -f "$img" ]; then
		result FAIL "$name" "$img missing (make guest images first)"
		return
	fi

	echo "# ${cmd[*]}" > "$log"
	timeout -k 3 "$limit" "${cmd[@]}" < /dev/null >> "$log" 2>&1
	status=$?
	[ "$verbose" = 1 ] && sed 's/^/    /' "$log"

	if [ "$expect" = pass ]; then
		if [ "$status" = 1 ] && grep -aq '^SUMMARY:' "$log"; then
			result PASS "$name" "$label: $(summary_of "$log")"
		elif [ "$status" = 155 ]; then
			result SKIP "$name" "$label: $(summary_of "$log")"
		else
			why=$(explain "$status" "$limit")
			result FAIL "$name" "$label: $why; $(summary_of "$log")" "$log"
		fi
	elif [ "$status" = "$expect" ]; then
		result PASS "$name" "$label: status $status as expected"
	else
		why=$(explain "$status" "$limit")
		result FAIL "$name" "$label: expected status $expect, got $why" "$log"
	fi
}

result() {
	echo "$1 $2 ($3)"
	case $1 in
	PASS) passed=$((passed + 1)) ;;
	SKIP) skipped=$((skipped + 1)) ;;
	FAIL)
		failed=$((failed + 1))
		if [ -n "${4:-}" ] && [ "$verbose" = 0 ]; then
			echo "    --- last lines of $4:"
			tail -n 15 "$4" | sed 's/^/    /'
		fi ;;
	esac
}

selected() {
	local n
	if [ ${#names[@]} -gt 0 ]; then
		for n in "${names[@]}"; do [ "$n" = "$1" ] && return 0; done
		return 1
	fi
	[ -z "$group" ] && return 0
	[[ " ${cfg_groups[$1]:-} " == *" $group "* ]]
}

for n in "${names[@]}"; do
	if [[ " ${tests[*]} " != *" $n "* ]]; then
		echo "run_tests.sh: no test '$n' in $cfg" >&2
		exit 2
	fi
done

for t in "${tests[@]}"; do
	selected "$t" && run_one "$t"
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
