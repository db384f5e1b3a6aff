/*
 * Runtime start-up (setup.c): what cstart64.S calls and what the other
 * runtime files need from it.  Start-up order, on the BSP: serial, boot
 * information, IDT, SMP, then main(argc, argv) and exit(its return value).
 */
#ifndef GUEST_SETUP_H
#define GUEST_SETUP_H

#include <stdint.h>

#include "compiler.h"
#include "processor.h"

/* Entry from start64 with the multiboot registers. */
void runtime_start(uint32_t magic, uint32_t mbi) __noreturn;
/* Load the shared IDT on this CPU. */
void idt_load(void);
/* Every exception ends here: report it and exit(EXIT_EXCEPTION). */
void do_exception(struct ex_regs *regs) __noreturn;

#define EXIT_EXCEPTION	126	/* status 253 */
#define EXIT_ABORT	125	/* status 251 */

#endif /* GUEST_SETUP_H */
