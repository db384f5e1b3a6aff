/*
 * fw_cfg reads (see fwcfg.h).
 */
#include "fwcfg.h"
#include "processor.h"

#define FW_CFG_PORT_SEL		0x510
#define FW_CFG_PORT_DATA	0x511

uint64_t fwcfg_get(uint16_t key, unsigned int size)
{
	uint64_t v = 0;
	unsigned int i;

	outw(key, FW_CFG_PORT_SEL);
	for (i = 0; i < size && i < 8; i++)
		v |= (uint64_t)inb(FW_CFG_PORT_DATA) << (8 * i);
	return v;
}

bool fwcfg_present(void)
{
	/* "QEMU" read byte by byte */
	return fwcfg_get(FW_CFG_SIGNATURE, 4) == 0x554d4551;
}
