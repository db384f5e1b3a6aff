/*
 * The waiting side of the sequence counts numa/ reads lock-free (vCPU
 * policies, range policies, numastat blocks): a reader that finds a write
 * in progress spins with a pause, and yields the CPU now and then so that a
 * writer preempted in the middle of its (short) update can finish even when
 * there are fewer host CPUs than threads.  Only reached under contention.
 */
#ifndef NUMAVM_NUMA_SEQCOUNT_H
#define NUMAVM_NUMA_SEQCOUNT_H

#include <sched.h>

static inline void seqcount_relax(unsigned int *spins)
{
	if (++*spins % 1024 == 0) {
		sched_yield();
		return;
	}
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

#endif /* NUMAVM_NUMA_SEQCOUNT_H */
