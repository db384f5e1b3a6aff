# vmm/ fault path: per-node host pools, userfaultfd mechanics and the fault
# handler (libfault.a).  fault_numa.c is the numa/ glue; a program that
# references fault_numa_ops links numa and mm too.
LIBS		+= fault
fault_SRCS	:= vmm/pool.c vmm/uffd.c vmm/fault.c vmm/fault_numa.c

TESTS		+= check_fault
check_fault_SRCS := tests/check_fault.c
check_fault_LIBS := fault numa mm
check_fault_PKGS := check numa

BENCHES		+= bench_fault
bench_fault_SRCS := tests/bench_fault.c
bench_fault_LIBS := fault numa mm
bench_fault_PKGS := numa
