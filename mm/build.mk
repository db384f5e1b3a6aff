# mm/: the buddy allocator (libmm.a), its unit tests and benchmark
LIBS		+= mm
mm_SRCS		:= mm/buddy.c

TESTS		+= check_mm
check_mm_SRCS	:= tests/check_mm.c
check_mm_LIBS	:= mm
check_mm_PKGS	:= check


BENCHES		+= bench_mm
bench_mm_SRCS	:= tests/bench_mm.c
bench_mm_LIBS	:= mm
