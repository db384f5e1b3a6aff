/*
 * The sequence counts numa/ reads lock-free (vCPU policies, range policies,
 * numastat blocks), Linux's seqcount_t in a few lines.  A writer, already
 * serialised by its own means (a mutex, or being the only writer), makes the
 * count odd, changes the data and makes it even again; a reader waits for
 * an even count, copies the data and retries if the count moved, so it
 * never writes shared memory and never sees a half-written state.
 *
 *	do {
 *		seq = seqcount_read_begin(&x->seq);
 *		copy = x->data;
 *	} while (seqcount_read_retry(&x->seq, seq));
 *
 * A reader that finds a write in progress spins with a pause, and yields
 * the CPU now and then so that a writer preempted in the middle of its
 * (short) update can finish even when there are fewer host CPUs than
 * threads.  Only reached under contention.
 */
#ifndef NUMAVM_NUMA_SEQCOUNT_H
#define NUMAVM_NUMA_SEQCOUNT_H

#include <sched.h>
#include <stdbool.h>

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

/* Wait for no write in progress; returns the (even) count to retry on. */
static inline unsigned int seqcount_read_begin(const unsigned int *seq)
{
	unsigned int s, spins = 0;

	while ((s = __atomic_load_n(seq, __ATOMIC_ACQUIRE)) & 1)
		seqcount_relax(&spins);
	return s;
}

/* Did a writer run since seqcount_read_begin() returned @start? */
static inline bool seqcount_read_retry(const unsigned int *seq,
				       unsigned int start)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(seq, __ATOMIC_RELAXED) != start;
}

/* Writer side; writers must already exclude each other. */
static inline void seqcount_write_begin(unsigned int *seq)
{
	__atomic_store_n(seq, *seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void seqcount_write_end(unsigned int *seq)
{
	__atomic_store_n(seq, *seq + 1, __ATOMIC_RELEASE);
}

#endif /* NUMAVM_NUMA_SEQCOUNT_H */
