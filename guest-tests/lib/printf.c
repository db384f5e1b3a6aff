/*
 * A small vsnprintf for the guest runtime and printf on top of it.  printf
 * formats into a stack buffer and writes it with one serial_write() under a
 * spinlock, so lines from different vCPUs never interleave.  Output longer
 * than PRINTF_BUF bytes per call is truncated.
 */
#include "libcflat.h"
#include "smp.h"

#define PRINTF_BUF	512

struct pbuf {
	char *buf;
	size_t size;
	size_t len;	/* characters produced, even past size */
};

static void pb_putc(struct pbuf *pb, char c)
{
	if (pb->len + 1 < pb->size)
		pb->buf[pb->len] = c;
	pb->len++;
}

static void pb_pad(struct pbuf *pb, char c, int n)
{
	while (n-- > 0)
		pb_putc(pb, c);
}

static void pb_str(struct pbuf *pb, const char *s, int width, bool left)
{
	int len = (int)strlen(s);

	if (!left)
		pb_pad(pb, ' ', width - len);
	while (*s)
		pb_putc(pb, *s++);
	if (left)
		pb_pad(pb, ' ', width - len);
}

static void pb_num(struct pbuf *pb, uint64_t v, bool neg, unsigned int base,
		   bool upper, int width, bool zero, bool left)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, len;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	len = n + neg;
	if (!left && !zero)
		pb_pad(pb, ' ', width - len);
	if (neg)
		pb_putc(pb, '-');
	if (!left && zero)
		pb_pad(pb, '0', width - len);
	while (n)
		pb_putc(pb, tmp[--n]);
	if (left)
		pb_pad(pb, ' ', width - len);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct pbuf pb = { .buf = buf, .size = size, .len = 0 };

	for (; *fmt; fmt++) {
		bool left = false, zero = false, upper = false;
		int width = 0, lng = 0;
		unsigned int base = 10;
		bool is_signed = false;
		uint64_t u;
		int64_t s;

		if (*fmt != '%') {
			pb_putc(&pb, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				zero = true;
			else
				break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng++;
			fmt++;
		}
		switch (*fmt) {
		case '\0':
			fmt--;
			continue;
		case '%':
			pb_putc(&pb, '%');
			continue;
		case 'c':
			pb_putc(&pb, (char)va_arg(ap, int));
			continue;
		case 's': {
			const char *str = va_arg(ap, const char *);

			pb_str(&pb, str ? str : "(null)", width, left);
			continue;
		}
		case 'p':
			pb_str(&pb, "0x", 0, false);
			pb_num(&pb, (uintptr_t)va_arg(ap, void *), false, 16,
			       false, width, zero, left);
			continue;
		case 'd':
		case 'i':
			is_signed = true;
			break;
		case 'u':
			break;
		case 'X':
			upper = true;
			/* fall through */
		case 'x':
			base = 16;
			break;
		default:	/* unknown conversion: print it as is */
			pb_putc(&pb, '%');
			pb_putc(&pb, *fmt);
			continue;
		}
		if (is_signed) {
			s = lng ? va_arg(ap, long) : va_arg(ap, int);
			u = s < 0 ? -(uint64_t)s : (uint64_t)s;
			pb_num(&pb, u, s < 0, base, upper, width, zero, left);
		} else {
			u = lng ? va_arg(ap, unsigned long) :
				  va_arg(ap, unsigned int);
			pb_num(&pb, u, false, base, upper, width, zero, left);
		}
	}
	if (size)
		buf[pb.len < size ? pb.len : size - 1] = '\0';
	return (int)pb.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static struct spinlock print_lock;

int printf(const char *fmt, ...)
{
	char buf[PRINTF_BUF];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	spin_lock(&print_lock);
	serial_write(buf, strlen(buf));
	spin_unlock(&print_lock);
	return n;
}

void puts(const char *s)
{
	spin_lock(&print_lock);
	serial_write(s, strlen(s));
	spin_unlock(&print_lock);
}
