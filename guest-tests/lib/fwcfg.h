/*
 * QEMU's fw_cfg interface over ports 0x510 (selector) / 0x511 (data), as
 * kvm-unit-tests reads it: only used when numavm is absent.
 */
#ifndef GUEST_FWCFG_H
#define GUEST_FWCFG_H

#include <stdbool.h>
#include <stdint.h>

#define FW_CFG_SIGNATURE	0x00
#define FW_CFG_NB_CPUS		0x05

/* True when the "QEMU" signature reads back. */
bool fwcfg_present(void);
/* Little-endian item @key, @size (1..8) bytes. */
uint64_t fwcfg_get(uint16_t key, unsigned int size);

#endif /* GUEST_FWCFG_H */
