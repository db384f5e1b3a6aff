/*
 * Guest RAM backed by one anonymous mapping (MAP_NORESERVE: pages are
 * populated by the host kernel on first touch).  See guest_ram.h for the
 * gpa layout.
 */
#include "vmm/guest_ram.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

static bool guest_ram_size_ok(uint64_t size)
{
	return size >= GUEST_RAM_MIN && size <= GUEST_RAM_MAX &&
	       !(size % PAGE_SIZE);
}

int guest_ram_create(struct guest_ram *ram, uint64_t size)
{
	void *base;

	if (!guest_ram_size_ok(size))
		return -EINVAL;

	base = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	if (guest_ram_init(ram, base, size)) {
		munmap(base, size);
		return -EINVAL;
	}
	ram->owned = true;
	return 0;
}

int guest_ram_init(struct guest_ram *ram, void *base, uint64_t size)
{
	uint64_t low;

	if (!base || !guest_ram_size_ok(size))
		return -EINVAL;
	memset(ram, 0, sizeof(*ram));
	ram->base = base;
	ram->size = size;
	low = min_t(uint64_t, size, GUEST_RAM_LOW_MAX);
	ram->regions[0] = (struct guest_ram_region){
		.gpa = 0, .size = low, .hva = base };
	ram->nr_regions = 1;
	if (size > low) {
		ram->regions[1] = (struct guest_ram_region){
			.gpa = GUEST_RAM_HIGH_BASE,
			.size = size - low,
			.hva = (char *)base + low,
		};
		ram->nr_regions = 2;
	}
	return 0;
}

void guest_ram_destroy(struct guest_ram *ram)
{
	if (ram->base && ram->owned)
		munmap(ram->base, ram->size);
	memset(ram, 0, sizeof(*ram));
}

void *guest_ram_hva(const struct guest_ram *ram, gpa_t gpa, uint64_t len)
{
	unsigned int i;

	if (len == 0)
		return NULL;
	for (i = 0; i < ram->nr_regions; i++) {
		const struct guest_ram_region *r = &ram->regions[i];

		/* written so that nothing can overflow */
		if (gpa >= r->gpa && gpa - r->gpa < r->size &&
		    len <= r->size - (gpa - r->gpa))
			return (char *)r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int guest_ram_read(const struct guest_ram *ram, gpa_t gpa, void *buf,
		   size_t len)
{
	void *p;

	if (len == 0)
		return 0;
	p = guest_ram_hva(ram, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int guest_ram_write(const struct guest_ram *ram, gpa_t gpa, const void *buf,
		    size_t len)
{
	void *p;

	if (len == 0)
		return 0;
	p = guest_ram_hva(ram, gpa, len);
	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

int guest_ram_clear(const struct guest_ram *ram, gpa_t gpa, uint64_t len)
{
	void *p;

	if (len == 0)
		return 0;
	p = guest_ram_hva(ram, gpa, len);
	if (!p)
		return -EFAULT;
	memset(p, 0, len);
	return 0;
}

gpa_t guest_ram_offset_to_gpa(const struct guest_ram *ram, uint64_t offset)
{
	uint64_t low = guest_ram_low_size(ram);

	return offset < low ? offset : GUEST_RAM_HIGH_BASE + (offset - low);
}

int guest_ram_gpa_to_offset(const struct guest_ram *ram, gpa_t gpa,
			    uint64_t len, uint64_t *offset)
{
	char *p = guest_ram_hva(ram, gpa, len);

	if (!p)
		return -EFAULT;
	*offset = (uint64_t)(p - (char *)ram->base);
	return 0;
}

uint64_t guest_ram_low_size(const struct guest_ram *ram)
{
	return ram->nr_regions ? ram->regions[0].size : 0;
}

uint64_t guest_ram_high_size(const struct guest_ram *ram)
{
	return ram->nr_regions > 1 ? ram->regions[1].size : 0;
}
