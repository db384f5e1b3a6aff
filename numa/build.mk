# numa/: topology, zonelists, memory policies, range policies, numastat and
# the allocation entry point (numa_alloc).  Uses mm/.
LIBS += numa
numa_SRCS := numa/topology.c numa/zonelist.c numa/mempolicy.c numa/range.c \
	     numa/numastat.c numa/numa.c

TESTS += check_numa
check_numa_SRCS := tests/check_numa.c
check_numa_LIBS := numa mm
check_numa_PKGS := check

BENCHES += bench_numa
bench_numa_SRCS := tests/bench_numa.c
bench_numa_LIBS := numa mm
