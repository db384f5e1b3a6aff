/*
 * The 16550 UART at NV_SERIAL_PORT, transmit only.  serial_init() programs
 * 115200 8N1 with FIFOs (QEMU ignores the rate; numavm only needs THR), and
 * every byte waits, boundedly, for the transmitter to be empty.
 */
#include "libcflat.h"
#include "numavm_abi.h"
#include "processor.h"

#define UART_THR	0	/* transmit holding register */
#define UART_IER	1
#define UART_DLL	0
#define UART_DLM	1
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_LSR_THRE	0x20

#define LCR_DLAB	0x80
#define LCR_8N1		0x03

void serial_init(void)
{
	const uint16_t p = NV_SERIAL_PORT;

	outb(0x00, p + UART_IER);
	outb(LCR_DLAB, p + UART_LCR);
	outb(0x01, p + UART_DLL);
	outb(0x00, p + UART_DLM);
	outb(LCR_8N1, p + UART_LCR);
	outb(0x07, p + UART_FCR);
	outb(0x03, p + UART_MCR);
}

static void serial_putc(char c)
{
	unsigned int spin = 100000;

	while (!(inb(NV_SERIAL_PORT + UART_LSR) & UART_LSR_THRE) && --spin)
		cpu_relax();
	outb((uint8_t)c, NV_SERIAL_PORT + UART_THR);
}

void serial_write(const char *s, size_t len)
{
	while (len--)
		serial_putc(*s++);
}
