/*
 * The 16550A transmit path.  One lock per UART: several vCPUs may print at
 * once and lines must not be torn.  The output callback runs with the lock
 * held so that lines reach the sink in the order they were completed.
 */
#include "vmm/uart.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

void uart_init(struct uart *u, uart_out_fn out, void *opaque)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	u->out = out;
	u->opaque = opaque;
	u->dll = 0x0c;		/* 9600 baud, as after a BIOS */
	u->lcr = 0x03;		/* 8N1 */
}

static void __uart_flush(struct uart *u)
{
	if (u->len && u->out)
		u->out(u->opaque, u->line, u->len);
	u->len = 0;
}

void uart_flush(struct uart *u)
{
	pthread_mutex_lock(&u->lock);
	__uart_flush(u);
	pthread_mutex_unlock(&u->lock);
}

void uart_destroy(struct uart *u)
{
	uart_flush(u);
	pthread_mutex_destroy(&u->lock);
}

static void __uart_tx(struct uart *u, uint8_t c)
{
	u->tx_bytes++;
	u->line[u->len++] = c;
	if (c == '\n' || u->len == sizeof(u->line))
		__uart_flush(u);
}

void uart_write(struct uart *u, unsigned int offset, uint8_t v)
{
	pthread_mutex_lock(&u->lock);
	switch (offset & 7) {
	case UART_RX:
		if (u->lcr & UART_LCR_DLAB)
			u->dll = v;
		else if (!(u->mcr & UART_MCR_LOOP))
			__uart_tx(u, v);
		break;
	case UART_IER:
		if (u->lcr & UART_LCR_DLAB)
			u->dlm = v;
		else
			u->ier = v & 0x0f;
		break;
	case UART_FCR:
		u->fcr = v;
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1f;
		break;
	case UART_SCR:
		u->scr = v;
		break;
	default:		/* LSR, MSR: read only */
		break;
	}
	pthread_mutex_unlock(&u->lock);
}

uint8_t uart_read(struct uart *u, unsigned int offset)
{
	uint8_t v = 0;

	pthread_mutex_lock(&u->lock);
	switch (offset & 7) {
	case UART_RX:
		v = (u->lcr & UART_LCR_DLAB) ? u->dll : 0;
		break;
	case UART_IER:
		v = (u->lcr & UART_LCR_DLAB) ? u->dlm : u->ier;
		break;
	case UART_IIR:
		/* no interrupt pending; FIFOs enabled if FCR bit 0 */
		v = 0x01 | ((u->fcr & 1) ? 0xc0 : 0);
		break;
	case UART_LCR:
		v = u->lcr;
		break;
	case UART_MCR:
		v = u->mcr;
		break;
	case UART_LSR:
		v = UART_LSR_THRE | UART_LSR_TEMT;
		break;
	case UART_MSR:
		if (u->mcr & UART_MCR_LOOP)	/* RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD */
			v = (u->mcr & 0x02) << 3 | (u->mcr & 0x01) << 5 |
			    (u->mcr & 0x04) << 4 | (u->mcr & 0x08) << 4;
		else
			v = 0xb0;	/* DCD, DSR, CTS */
		break;
	case UART_SCR:
		v = u->scr;
		break;
	}
	pthread_mutex_unlock(&u->lock);
	return v;
}

int uart_ioport(void *opaque, unsigned int vcpu, uint16_t port, bool is_write,
		unsigned int size, uint32_t *val)
{
	struct uart *u = opaque;

	/* a wider access reaches the addressed register only */
	if (is_write)
		uart_write(u, port & 7, *val & 0xff);
	else
		*val = uart_read(u, port & 7);
	return 0;
}

void uart_out_fd(void *opaque, const char *buf, size_t len)
{
	int fd = (int)(intptr_t)opaque;

	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= n;
	}
}
