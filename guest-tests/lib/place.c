/*
 * Placement test helpers (see place.h): topology per CPU, a bump allocator
 * of fresh RAM above the image that steps over reserved ranges, page
 * patterns and the boot argument parsers the placement tests share.
 */
#include "place.h"

#include "bootinfo.h"
#include "libcflat.h"
#include "smp.h"

struct place_info place;
uintptr_t place_ram_base;

static void place_topo_cpu(void *arg)
{
	struct nv_topology t __aligned(8);
	int id = smp_id();

	/* touched by the guest first: the VMM's write then finds it backed */
	memset(&t, 0, sizeof(t));
	if (nv_topology(&t)) {
		place.cpu_vcpu[id] = -1;
		place.cpu_node[id] = -1;
		return;
	}
	place.cpu_vcpu[id] = (int)t.this_vcpu;
	place.cpu_node[id] = (int)t.home_node;
}

bool place_init(void)
{
	struct nv_topology *t = &place.topo;
	char buf[64];
	unsigned int n;
	int i, bad = 0;

	place.numavm = nv_present();
	place.nr_cpus = cpu_count();
	for (i = 0; i < SMP_MAX_CPUS; i++)
		place.cpu_vcpu[i] = place.cpu_node[i] = -1;

	if (!mem_range_from(ALIGN_UP(alloc_top(), 2 * MiB), &place.start,
			    &place.end) || place.end - place.start < 2 * MiB) {
		report(false, "RAM above the image for test regions");
		return false;
	}
	place.next = place.start;

	if (!place.numavm) {
		report_info("not under numavm (NV_HC_ABI_VERSION unanswered): %d CPUs, test RAM [0x%lx-0x%lx); placement checks will be skipped",
			    place.nr_cpus, place.start, place.end);
		return true;
	}
	if (nv_topology(t)) {
		report(false, "NV_HC_TOPOLOGY answers under numavm");
		return false;
	}
	for (n = 0; n < t->nr_nodes && n < NV_MAX_NODES; n++) {
		if (t->node_mem[n])
			place.mem_nodes |= 1ULL << n;
		report_info("node %u: %lu MiB at 0x%lx, distances %u %u %u %u",
			    n, t->node_mem[n] / MiB, t->node_base[n],
			    t->distance[n][0], t->distance[n][1],
			    t->distance[n][2], t->distance[n][3]);
	}
	on_cpus(place_topo_cpu, NULL);
	for (i = 0; i < place.nr_cpus; i++) {
		int v = place.cpu_vcpu[i];

		if (v < 0 || v >= (int)t->nr_vcpus ||
		    place.cpu_node[i] != t->vcpu_node[v])
			bad++;
	}
	report(!bad && place.nr_cpus == (int)t->nr_vcpus,
	       "%d CPUs online of %u vCPUs, each home node as vcpu_node[] (%d inconsistent)",
	       place.nr_cpus, t->nr_vcpus, bad);
	report_info("%u nodes, memory on %s; test RAM [0x%lx-0x%lx)",
		    t->nr_nodes, place_nodes_str(place.mem_nodes, buf,
						 sizeof(buf)),
		    place.start, place.end);
	return !bad;
}

bool place_need(const char *what)
{
	if (place.numavm)
		return true;
	report_skip("%s: needs numavm's NV_HC_GET_NODE/SET_POLICY (not answered: not numavm)",
		    what);
	return false;
}

void place_reserve(uint64_t start, uint64_t len)
{
	if (place.nr_reserved < PLACE_MAX_RESERVED) {
		place.reserved[place.nr_reserved][0] = start;
		place.reserved[place.nr_reserved][1] = start + len;
		place.nr_reserved++;
	}
}

uint64_t place_alloc(uint64_t size, uint64_t align)
{
	uint64_t p = ALIGN_UP(place.next, align);
	int i, moved = 1;

	while (moved) {
		moved = 0;
		for (i = 0; i < place.nr_reserved; i++)
			if (p < place.reserved[i][1] &&
			    p + size > place.reserved[i][0]) {
				p = ALIGN_UP(place.reserved[i][1], align);
				moved = 1;
			}
	}
	if (p + size > place.end || p + size < p)
		return 0;
	place.next = p + size;
	return p;
}

uint64_t place_room(uint64_t align)
{
	uint64_t p = ALIGN_UP(place.next, align);

	return p < place.end ? place.end - p : 0;
}

int place_node(uint64_t gpa)
{
	return nv_get_node(gpa);
}

uint64_t place_pattern(uint64_t gpa, uint32_t seed)
{
	uint64_t x = gpa * 0x9e3779b97f4a7c15ULL + seed;

	return (x ^ (x >> 29)) | 1;
}

void place_fill(uint64_t base, unsigned long pages, unsigned int slot,
		uint32_t seed)
{
	unsigned long i;

	for (i = 0; i < pages; i++) {
		uint64_t gpa = base + i * PAGE_SIZE;

		*place_p64(gpa + 8 * slot) =
			place_pattern(gpa, seed);
	}
}

unsigned long place_check(uint64_t base, unsigned long pages,
			  unsigned int slot, uint32_t seed)
{
	unsigned long i, bad = 0;

	for (i = 0; i < pages; i++) {
		uint64_t gpa = base + i * PAGE_SIZE;

		if (*place_p64(gpa + 8 * slot) !=
		    place_pattern(gpa, seed) ||
		    *place_p8(gpa + PLACE_PROBE))
			bad++;
	}
	return bad;
}

unsigned long place_count_zero(uint64_t base, unsigned long pages,
			       unsigned int slot)
{
	unsigned long i, zero = 0;

	for (i = 0; i < pages; i++) {
		uint64_t gpa = base + i * PAGE_SIZE;

		if (!*place_p64(gpa) &&
		    !*place_p64(gpa + 8 * slot) &&
		    !*place_p8(gpa + PLACE_PROBE))
			zero++;
	}
	return zero;
}

int place_nth_node(uint64_t mask, unsigned int n)
{
	int i;

	for (i = 0; i < 64; i++)
		if ((mask >> i) & 1 && !n--)
			return i;
	return -1;
}

unsigned int place_nr_nodes(uint64_t mask)
{
	unsigned int n = 0;

	for (; mask; mask &= mask - 1)	/* no libgcc: no __popcountdi2 */
		n++;
	return n;
}

static bool parse_uint(const char *s, const char **end, uint64_t *v)
{
	const char *e;
	uint64_t x = strtou64(s, &e);

	if (e == s)
		return false;
	*v = x;
	*end = e;
	return true;
}

bool place_parse_nodes(const char *s, uint64_t *mask)
{
	uint64_t m = 0, a, b;
	const char *e;

	for (;;) {
		if (!parse_uint(s, &e, &a))
			return false;
		b = a;
		if (*e == '-' && !parse_uint(e + 1, &e, &b))
			return false;
		if (a > b || b >= NV_MAX_NODES)
			return false;
		for (; a <= b; a++)
			m |= 1ULL << a;
		if (!*e)
			break;
		if (*e != ',')
			return false;
		s = e + 1;
	}
	*mask = m;
	return true;
}

bool place_parse_size(const char *s, const char **end, uint64_t *v)
{
	uint64_t x;
	const char *e;

	if (!parse_uint(s, &e, &x))
		return false;
	switch (*e) {
	case 'G': case 'g':
		x <<= 10;
		/* fall through */
	case 'M': case 'm':
		x <<= 10;
		/* fall through */
	case 'K': case 'k':
		x <<= 10;
		e++;
		break;
	}
	*v = x;
	*end = e;
	return true;
}

bool place_parse_range(const char *s, const char **end, uint64_t *start,
		       uint64_t *len)
{
	uint64_t a, b;
	const char *e;

	if (!place_parse_size(s, &e, &a) || (*e != '+' && *e != '-') ||
	    !place_parse_size(e + 1, end, &b))
		return false;
	if (*e == '-') {
		if (b <= a)
			return false;
		b -= a;
	}
	*start = a;
	*len = b;
	return true;
}

bool place_arg_nodes(const char *key, uint64_t *mask)
{
	const char *s = boot_arg(key);

	if (!s)
		return false;
	if (!place_parse_nodes(s, mask)) {
		report(false, "boot argument %s=%s: expected a node list", key,
		       s);
		return false;
	}
	return true;
}

const char *place_nodes_str(uint64_t mask, char *buf, unsigned long len)
{
	unsigned long off = 0;
	int a, b;

	buf[0] = 0;
	for (a = 0; a < 64 && off < len; a++) {
		if (!((mask >> a) & 1))
			continue;
		for (b = a; b + 1 < 64 && (mask >> (b + 1)) & 1; b++)
			;
		if (b > a)
			off += snprintf(buf + off, len - off, "%s%d-%d",
					off ? "," : "", a, b);
		else
			off += snprintf(buf + off, len - off, "%s%d",
					off ? "," : "", a);
		a = b;
	}
	if (!off)
		snprintf(buf, len, "none");
	return buf;
}
