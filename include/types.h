/*
 * Scalar address kinds used across numavm.  Only scalars are typedef'd;
 * structures are always spelled out (struct vm, struct buddy, ...).
 */
#ifndef NUMAVM_TYPES_H
#define NUMAVM_TYPES_H

#include <stdint.h>

typedef uint64_t gpa_t;		/* guest physical address */
typedef uint64_t hva_t;		/* host virtual address */
typedef uint64_t pfn_t;		/* frame number inside a node's pool */

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1UL << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))

#endif /* NUMAVM_TYPES_H */
