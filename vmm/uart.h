/*
 * A 16550A UART, transmit side only: enough for a guest's serial console.
 * Bytes written to THR are collected per line and handed to the output
 * callback on '\n' or when the line buffer fills (and at uart_flush()).
 * Reads return what a driver's probe expects: LSR with THRE and TEMT set
 * (always ready), no interrupt pending, the scratch and control registers
 * read back, loopback reflected in MSR.  Nothing is ever received.
 */
#ifndef NUMAVM_VMM_UART_H
#define NUMAVM_VMM_UART_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#define UART_NR_PORTS	8
#define UART_LINE_MAX	256

/* Register offsets */
#define UART_RX		0	/* DLAB=0: receive/transmit buffer */
#define UART_IER	1
#define UART_IIR	2	/* read: interrupt identification */
#define UART_FCR	2	/* write: FIFO control */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define UART_LCR_DLAB	0x80
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_MCR_LOOP	0x10

/* Output sink: write @len bytes; the return value is ignored. */
typedef void (*uart_out_fn)(void *opaque, const char *buf, size_t len);

struct uart {
	pthread_mutex_t lock;		/* protects everything below */
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	char line[UART_LINE_MAX];
	size_t len;
	uint64_t tx_bytes;
	uart_out_fn out;
	void *opaque;
};

/* Set up; @out receives each completed line. */
void uart_init(struct uart *u, uart_out_fn out, void *opaque);
/* Flush a partial line; then the uart may be freed. */
void uart_destroy(struct uart *u);

/* Emit the buffered partial line, if any. */
void uart_flush(struct uart *u);

/* Access register @offset (0..7); one byte. */
void uart_write(struct uart *u, unsigned int offset, uint8_t v);
uint8_t uart_read(struct uart *u, unsigned int offset);

/* ioport_fn adapter: @opaque is the struct uart, base port = port & ~7. */
int uart_ioport(void *opaque, unsigned int vcpu, uint16_t port, bool is_write,
		unsigned int size, uint32_t *val);

/* A uart_out_fn that writes to the file descriptor (int)(intptr_t)opaque. */
void uart_out_fd(void *opaque, const char *buf, size_t len);

#endif /* NUMAVM_VMM_UART_H */
