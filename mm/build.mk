# mm/: the buddy allocator (libmm.a), its unit tests and benchmark
LIBS		+= mm
mm_SRCS		:= mm/buddy.c
