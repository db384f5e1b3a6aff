/*
 * The exit port: end the run with a chosen code and let the runner check
 * the status, (code << 1) | 1, under numavm and QEMU alike.  Boot
 * arguments: code=N (0..127, default 42: status 85); "hcall" exits through
 * the NV_HC_EXIT hypercall instead when numavm is present, asking for the
 * port's status (code << 1) | 1 directly (NV_HC_EXIT's status is the
 * process exit status as is), so the expected status is the same; under
 * QEMU "hcall" falls back to the port.
 */
#include "hcall.h"
#include "libcflat.h"
#include "processor.h"

#define DEFAULT_CODE	42

int main(int argc, char **argv)
{
	uint32_t code = boot_arg_u64("code", DEFAULT_CODE) & 0x7f;

	if (boot_flag("hcall") && nv_present()) {
		printf("exiting with status %u through NV_HC_EXIT\n",
		       (code << 1) | 1);
		nv_exit((code << 1) | 1);
		printf("FAIL: NV_HC_EXIT returned\n");
		return EXIT_FAIL;
	}
	printf("exiting with code %u through port 0x%x (status %u)\n", code,
	       NV_EXIT_PORT, (code << 1) | 1);
	outl(code, NV_EXIT_PORT);
	printf("FAIL: the exit port did not stop the guest\n");
	return EXIT_FAIL;
}
