/*
 * The control socket server: a listening UNIX socket, one thread polling it,
 * an eventfd (wake-up: stop and queued events) and every client, with
 * non-blocking I/O throughout.  Each client has a request reader (incremental
 * json_tokener framing, bounded by max_request) and a bounded output buffer;
 * a client whose output would exceed max_outbuf is disconnected, never waited
 * for, so a stuck client cannot stall the thread.  The fault path only ever
 * touches the small OOM event ring (a short mutex and an eventfd write); the
 * server thread samples the zones every wmark_interval_ms and turns low/min
 * watermark crossings into events.  Commands are executed in qmp_cmds.c.
 */
#include "vmm/qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <json-c/json.h>

#include "vmm/qmp_cmds.h"

#define QMP_EVENT_RING	64
#define QMP_READ_CHUNK	4096

/* ---- request reader ---- */

struct qmp_reader {
	struct json_tokener *tok;
	size_t max;		/* request size limit */
	size_t cur;		/* bytes of the value being parsed */
	bool in_value;		/* a value has started */
	bool skip_line;		/* resynchronising after a syntax error */
};

struct qmp_reader *qmp_reader_create(size_t max_request)
{
	struct qmp_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->tok = json_tokener_new();
	if (!r->tok) {
		free(r);
		return NULL;
	}
	r->max = max_request ? max_request : QMP_DEFAULT_MAX_REQUEST;
	return r;
}

void qmp_reader_destroy(struct qmp_reader *r)
{
	if (!r)
		return;
	json_tokener_free(r->tok);
	free(r);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void reader_reset(struct qmp_reader *r)
{
	json_tokener_reset(r->tok);
	r->in_value = false;
	r->cur = 0;
}

int qmp_reader_feed(struct qmp_reader *r, const char *buf, size_t len,
		    qmp_read_cb cb, void *arg)
{
	enum json_tokener_error jerr;
	struct json_object *obj;
	size_t chunk, used;
	int ret;

	while (len) {
		if (r->skip_line) {
			const char *nl = memchr(buf, '\n', len);

			if (!nl)
				return 0;
			len -= nl + 1 - buf;
			buf = nl + 1;
			r->skip_line = false;
			continue;
		}
		if (!r->in_value) {
			while (len && is_space(*buf)) {
				buf++;
				len--;
			}
			if (!len)
				return 0;
			r->in_value = true;
			r->cur = 0;
		}
		/* Never hand the tokener more than one byte past the limit. */
		chunk = min_t(size_t, len, r->max + 1 - r->cur);
		obj = json_tokener_parse_ex(r->tok, buf, (int)chunk);
		jerr = json_tokener_get_error(r->tok);
		if (jerr == json_tokener_continue) {
			r->cur += chunk;
			buf += chunk;
			len -= chunk;
			if (r->cur > r->max) {
				reader_reset(r);
				return cb(arg, QMP_READ_TOO_BIG, NULL,
					  "request too large");
			}
			continue;
		}
		used = json_tokener_get_parse_end(r->tok);
		if (used > chunk)
			used = chunk;
		if (jerr != json_tokener_success) {
			const char *desc = json_tokener_error_desc(jerr);

			json_object_put(obj);
			reader_reset(r);
			/* drop the rest of the offending line */
			buf += used;
			len -= used;
			r->skip_line = true;
			ret = cb(arg, QMP_READ_ERROR, NULL, desc);
			if (ret)
				return ret;
			continue;
		}
		r->cur += used;
		buf += used;
		len -= used;
		if (r->cur > r->max) {
			json_object_put(obj);
			reader_reset(r);
			return cb(arg, QMP_READ_TOO_BIG, NULL, "request too large");
		}
		reader_reset(r);
		ret = cb(arg, QMP_READ_OBJECT, obj, NULL);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- server ---- */

struct qmp_client {
	int fd;
	bool negotiated;
	bool rd_eof;		/* peer shut its writing side down */
	bool closing;		/* flush what is queued, then close */
	long linger_start;	/* ms, when closing with output still queued */
	long connected;		/* ms, accept time (negotiation deadline) */
	long out_progress;	/* ms, output last queued into empty or sent */
	struct qmp_reader *rd;
	char *out;
	size_t out_off, out_len, out_cap;
	struct qmp_server *s;
};

struct qmp_queued_oom {
	struct timespec ts;
	struct qmp_oom oom;
};

struct qmp_server {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	int lfd, evfd;
	pthread_t thread;
	bool stop;				/* READ_ONCE/WRITE_ONCE */
	const struct qmp_backend *be;
	struct qmp_config cfg;

	struct qmp_client **clients;
	unsigned int nr_clients;

	/* OOM events from other threads */
	pthread_mutex_t ev_lock;
	struct qmp_queued_oom ring[QMP_EVENT_RING];
	unsigned int ring_head, ring_len;
	uint64_t ev_dropped;

	/* watermark level per node: 0 above low, 1 at/below low, 2 at/below min */
	int wm_level[NUMA_MAX_NODES];
	bool wm_valid;
	struct timespec wm_last;

	long accept_resume;	/* ms; until then the listener is not polled */

	pthread_mutex_t st_lock;
	struct qmp_server_stats st;
};

static void stat_inc(struct qmp_server *s, uint64_t *field)
{
	pthread_mutex_lock(&s->st_lock);
	(*field)++;
	pthread_mutex_unlock(&s->st_lock);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;	/* never 0 */
}

static void client_free(struct qmp_client *c)
{
	close(c->fd);
	qmp_reader_destroy(c->rd);
	free(c->out);
	free(c);
}

/* Send what is queued; -1 if the connection is dead. */
static int client_flush(struct qmp_client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->out_off += n;
		if (n)
			c->out_progress = now_ms();
	}
	c->out_off = c->out_len = 0;
	return 0;
}

/*
 * Queue one JSON value followed by a newline.  A value that alone exceeds
 * max_outbuf is replaced by an error reply (with the same "id"): the client
 * did nothing wrong by asking.  A client that cannot take a value within
 * max_outbuf because it does not read is marked for disconnection (-1).
 */
static int client_queue(struct qmp_client *c, struct json_object *obj)
{
	struct qmp_server *s = c->s;
	struct json_object *big, *id;
	const char *txt;
	size_t len, need;
	int r;

	if (!obj)
		return -1;
	txt = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
					     JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(txt);
	if (len + 1 > s->cfg.max_outbuf) {
		if (json_object_object_get_ex(obj, "error", NULL))
			return -1;	/* not even the error fits */
		big = qmp_error_reply("GenericError",
				      "reply of %zu bytes exceeds the %zu byte output limit",
				      len + 1, s->cfg.max_outbuf);
		if (!big)
			return -1;
		if (json_object_object_get_ex(obj, "id", &id))
			json_object_object_add(big, "id", json_object_get(id));
		r = client_queue(c, big);
		json_object_put(big);
		return r;
	}
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
		c->out_progress = now_ms();	/* the stall clock starts now */
	}
	need = c->out_len - c->out_off + len + 1;
	if (need > s->cfg.max_outbuf) {
		stat_inc(s, &s->st.disconnected_slow);
		return -1;
	}
	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len + 1 > c->out_cap) {
		size_t cap = max_t(size_t, c->out_cap * 2, c->out_len + len + 1);
		char *p;

		cap = min_t(size_t, max_t(size_t, cap, 4096), s->cfg.max_outbuf);
		p = realloc(c->out, cap);
		if (!p)
			return -1;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, txt, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	return 0;
}

static int reader_cb(void *arg, enum qmp_read_status st,
		     struct json_object *obj, const char *desc)
{
	struct qmp_client *c = arg;
	struct qmp_server *s = c->s;
	struct json_object *reply;
	int r;

	switch (st) {
	case QMP_READ_OBJECT:
		stat_inc(s, &s->st.requests);
		reply = qmp_dispatch(s->be, obj, &c->negotiated);
		json_object_put(obj);
		break;
	case QMP_READ_ERROR:
		reply = qmp_error_reply("GenericError", "JSON parse error, %s",
					desc);
		break;
	case QMP_READ_TOO_BIG:
	default:
		reply = qmp_error_reply("GenericError",
					"request larger than %zu bytes, closing",
					s->cfg.max_request);
		c->closing = true;
		break;
	}
	r = client_queue(c, reply);
	json_object_put(reply);
	if (r) {
		c->closing = true;
		c->out_len = c->out_off = 0;	/* nothing more for it */
		return -1;
	}
	return c->closing ? 1 : 0;
}

static void broadcast(struct qmp_server *s, struct json_object *ev)
{
	unsigned int i;

	for (i = 0; i < s->nr_clients; i++) {
		struct qmp_client *c = s->clients[i];

		if (!c->negotiated || c->closing)
			continue;
		if (client_queue(c, ev)) {
			c->closing = true;
			c->out_len = c->out_off = 0;
		}
	}
	stat_inc(s, &s->st.events);
}

static struct json_object *event_new(const char *name, struct json_object *data,
				     const struct timespec *ts)
{
	struct json_object *ev = json_object_new_object();
	struct json_object *t = json_object_new_object();

	if (!ev || !t) {
		json_object_put(ev);
		json_object_put(t);
		json_object_put(data);
		return NULL;
	}
	json_object_object_add(t, "seconds", json_object_new_int64(ts->tv_sec));
	json_object_object_add(t, "microseconds",
			       json_object_new_int64(ts->tv_nsec / 1000));
	json_object_object_add(ev, "event", json_object_new_string(name));
	json_object_object_add(ev, "data", data);
	json_object_object_add(ev, "timestamp", t);
	return ev;
}

static void emit_oom(struct qmp_server *s, const struct qmp_queued_oom *q)
{
	struct json_object *d = json_object_new_object();
	struct json_object *fr = json_object_new_array();
	struct json_object *pol = qmp_policy_to_json(&q->oom.policy);
	struct json_object *ev;
	unsigned int n;

	if (!d || !fr || !pol) {
		json_object_put(d);
		json_object_put(fr);
		json_object_put(pol);
		return;
	}
	for (n = 0; n < q->oom.nr_nodes && n < NUMA_MAX_NODES; n++)
		json_object_array_add(fr, json_object_new_uint64(q->oom.free[n]));
	json_object_object_add(d, "vcpu", json_object_new_int(q->oom.vcpu));
	json_object_object_add(d, "gpa", json_object_new_uint64(q->oom.gpa));
	json_object_object_add(d, "order", json_object_new_int(q->oom.order));
	json_object_object_add(d, "policy", pol);
	json_object_object_add(d, "free", fr);
	ev = event_new("OOM", d, &q->ts);
	if (ev)
		broadcast(s, ev);
	json_object_put(ev);
}

static void drain_events(struct qmp_server *s)
{
	struct qmp_queued_oom q[QMP_EVENT_RING];
	unsigned int i, n;
	uint64_t v;

	if (read(s->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&s->ev_lock);
	n = s->ring_len;
	for (i = 0; i < n; i++)
		q[i] = s->ring[(s->ring_head + i) % QMP_EVENT_RING];
	s->ring_head = (s->ring_head + n) % QMP_EVENT_RING;
	s->ring_len = 0;
	pthread_mutex_unlock(&s->ev_lock);
	for (i = 0; i < n; i++)
		emit_oom(s, &q[i]);
}

void qmp_event_oom(struct qmp_server *s, const struct qmp_oom *oom)
{
	struct qmp_queued_oom *q;
	uint64_t one = 1;
	ssize_t r;

	if (!s)
		return;
	pthread_mutex_lock(&s->ev_lock);
	if (s->ring_len == QMP_EVENT_RING) {
		s->ev_dropped++;
		pthread_mutex_unlock(&s->ev_lock);
		return;
	}
	q = &s->ring[(s->ring_head + s->ring_len) % QMP_EVENT_RING];
	clock_gettime(CLOCK_REALTIME, &q->ts);
	q->oom = *oom;
	s->ring_len++;
	pthread_mutex_unlock(&s->ev_lock);
	r = write(s->evfd, &one, sizeof(one));
	(void)r;	/* a full eventfd counter still wakes the thread */
}

static void emit_wmark(struct qmp_server *s, unsigned int node,
		       const char *mark, const char *dir,
		       const struct qmp_zone *z, const struct timespec *ts)
{
	struct json_object *d = json_object_new_object();
	struct json_object *ev;

	if (!d)
		return;
	json_object_object_add(d, "node", json_object_new_int(node));
	json_object_object_add(d, "watermark", json_object_new_string(mark));
	json_object_object_add(d, "direction", json_object_new_string(dir));
	json_object_object_add(d, "free", json_object_new_uint64(z->free));
	json_object_object_add(d, "min", json_object_new_uint64(z->min));
	json_object_object_add(d, "low", json_object_new_uint64(z->low));
	json_object_object_add(d, "high", json_object_new_uint64(z->high));
	ev = event_new("WATERMARK", d, ts);
	if (ev)
		broadcast(s, ev);
	json_object_put(ev);
}

static long ms_since(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

/*
 * Compare every node's free pages with its watermarks (Linux's check fails
 * when free <= mark) and report each threshold crossed since the last sample,
 * in the order it was crossed.  The first sample only records the levels.
 */
static void check_watermarks(struct qmp_server *s)
{
	struct qmp_zone z[NUMA_MAX_NODES];
	struct timespec now;
	unsigned int n;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (s->wm_valid && ms_since(&s->wm_last, &now) <
				   (long)s->cfg.wmark_interval_ms)
		return;
	s->wm_last = now;
	if (!s->be->zones || s->be->zones(s->be->opaque, z))
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	for (n = 0; n < s->be->nr_nodes && n < NUMA_MAX_NODES; n++) {
		int lvl = z[n].free <= z[n].min ? 2 : z[n].free <= z[n].low ? 1 : 0;
		int old = s->wm_level[n];

		s->wm_level[n] = lvl;
		if (!s->wm_valid || lvl == old)
			continue;
		if (old == 0 && lvl >= 1)
			emit_wmark(s, n, "low", "below", &z[n], &now);
		if (old <= 1 && lvl == 2)
			emit_wmark(s, n, "min", "below", &z[n], &now);
		if (old == 2 && lvl <= 1)
			emit_wmark(s, n, "min", "above", &z[n], &now);
		if (old >= 1 && lvl == 0)
			emit_wmark(s, n, "low", "above", &z[n], &now);
	}
	s->wm_valid = true;
}

static void accept_clients(struct qmp_server *s)
{
	struct json_object *msg;
	struct qmp_client *c;
	int fd;

	for (;;) {
		fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			/*
			 * Out of fds or memory: the connection stays queued
			 * and the listener stays readable, so polling it
			 * again at once would spin.  Leave it alone briefly.
			 */
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				s->accept_resume = now_ms() +
						   QMP_ACCEPT_BACKOFF_MS;
				stat_inc(s, &s->st.accept_errors);
			}
			return;	/* EAGAIN, or a transient error: poll again */
		}
		if (s->nr_clients >= s->cfg.max_clients) {
			const char *txt;
			ssize_t r;

			msg = qmp_error_reply("GenericError",
					      "too many clients (limit %u)",
					      s->cfg.max_clients);
			if (msg) {
				txt = json_object_to_json_string_ext(msg,
						JSON_C_TO_STRING_PLAIN);
				r = send(fd, txt, strlen(txt), MSG_NOSIGNAL | MSG_DONTWAIT);
				r = send(fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
				(void)r;
				json_object_put(msg);
			}
			close(fd);
			stat_inc(s, &s->st.refused);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c)
			goto err_close;
		c->fd = fd;
		c->s = s;
		c->connected = now_ms();
		c->rd = qmp_reader_create(s->cfg.max_request);
		if (!c->rd)
			goto err_free;
		msg = qmp_greeting();
		if (client_queue(c, msg)) {
			json_object_put(msg);
			goto err_reader;
		}
		json_object_put(msg);
		s->clients[s->nr_clients++] = c;
		client_flush(c);
		pthread_mutex_lock(&s->st_lock);
		s->st.accepted++;
		s->st.clients = s->nr_clients;
		pthread_mutex_unlock(&s->st_lock);
		continue;

err_reader:
		qmp_reader_destroy(c->rd);
err_free:
		free(c);
err_close:
		close(fd);
	}
}

static void client_read(struct qmp_client *c)
{
	char buf[QMP_READ_CHUNK];
	ssize_t n;

	n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			c->closing = true;
			c->out_len = c->out_off = 0;
		}
		return;
	}
	if (n == 0) {
		c->rd_eof = true;	/* answer what came, then close */
		c->closing = true;
		return;
	}
	qmp_reader_feed(c->rd, buf, n, reader_cb, c);
}

static void remove_client(struct qmp_server *s, unsigned int i)
{
	client_free(s->clients[i]);
	s->clients[i] = s->clients[--s->nr_clients];
	pthread_mutex_lock(&s->st_lock);
	s->st.clients = s->nr_clients;
	pthread_mutex_unlock(&s->st_lock);
}

/*
 * A connection that never negotiates, or that stops reading with output
 * queued, would hold one of the max_clients slots forever: the first gets
 * an error reply and is closed after negotiate_ms, the second is dropped
 * when none of its output left in stall_ms.
 */
static void check_deadlines(struct qmp_server *s)
{
	struct json_object *msg;
	long now = now_ms();
	unsigned int i;

	for (i = 0; i < s->nr_clients; i++) {
		struct qmp_client *c = s->clients[i];

		if (c->out_len > c->out_off &&
		    now - c->out_progress > (long)s->cfg.stall_ms) {
			stat_inc(s, &s->st.disconnected_slow);
			c->closing = true;
			c->out_len = c->out_off = 0;
			continue;
		}
		if (c->negotiated || c->closing ||
		    now - c->connected <= (long)s->cfg.negotiate_ms)
			continue;
		msg = qmp_error_reply("GenericError",
				      "no capabilities negotiation within %u ms, closing",
				      s->cfg.negotiate_ms);
		if (client_queue(c, msg))
			c->out_len = c->out_off = 0;
		json_object_put(msg);
		client_flush(c);
		c->closing = true;
	}
}

static void *server_thread(void *arg)
{
	struct qmp_server *s = arg;
	struct pollfd *pfd;
	unsigned int i, n;

	pfd = calloc(s->cfg.max_clients + 2, sizeof(*pfd));
	if (!pfd)
		return NULL;
	while (!READ_ONCE(s->stop)) {
		pfd[0].fd = s->evfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = s->lfd;
		if (s->accept_resume && now_ms() < s->accept_resume)
			pfd[1].fd = -1;		/* backing off: see accept */
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		for (i = 0; i < s->nr_clients; i++) {
			struct qmp_client *c = s->clients[i];

			pfd[i + 2].fd = c->fd;
			pfd[i + 2].events = (c->closing ? 0 : POLLIN) |
					    (c->out_len > c->out_off ? POLLOUT : 0);
			pfd[i + 2].revents = 0;
		}
		n = s->nr_clients;
		if (poll(pfd, n + 2, s->cfg.wmark_interval_ms) < 0 &&
		    errno != EINTR)
			break;
		if (pfd[0].revents & POLLIN)
			drain_events(s);
		for (i = 0; i < n; i++) {
			struct qmp_client *c = s->clients[i];
			short rev = pfd[i + 2].revents;

			if (rev & POLLIN)
				client_read(c);
			else if (rev & (POLLHUP | POLLERR))
				c->closing = true;
			if (c->out_len > c->out_off && client_flush(c)) {
				c->closing = true;
				c->out_len = c->out_off = 0;
			}
		}
		check_watermarks(s);
		check_deadlines(s);
		/* close finished clients (from the end: removal swaps) */
		for (i = s->nr_clients; i-- > 0;) {
			struct qmp_client *c = s->clients[i];

			if (!c->closing)
				continue;
			if (c->out_len == c->out_off) {
				remove_client(s, i);
			} else if (!c->linger_start) {
				c->linger_start = now_ms();
			} else if (now_ms() - c->linger_start >
				   (long)s->cfg.linger_ms) {
				stat_inc(s, &s->st.disconnected_slow);
				remove_client(s, i);
			}
		}
		if (pfd[1].revents & POLLIN)
			accept_clients(s);
	}
	free(pfd);
	return NULL;
}

/*
 * Replace a stale socket at @path, refuse a live one or a non-socket file.
 */
static int claim_path(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "socket: %s", strerror(-r));
		return r;
	}
	strcpy(sa.sun_path, path);
	if (!connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		snprintf(err, errlen,
			 "%s is in use by a running server (another numavm?)",
			 path);
		return -EADDRINUSE;
	}
	r = errno;
	close(fd);
	if (r != ECONNREFUSED) {
		snprintf(err, errlen, "%s: cannot probe existing socket: %s",
			 path, strerror(r));
		return -r;
	}
	if (unlink(path) && errno != ENOENT) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot remove stale socket: %s",
			 path, strerror(-r));
		return r;
	}
	return 0;
}

int qmp_server_start(const char *path, const struct qmp_backend *backend,
		     const struct qmp_config *cfg, struct qmp_server **out,
		     char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qmp_server *s;
	struct stat st;
	int r;

	if (!path || !backend || backend->nr_nodes > NUMA_MAX_NODES) {
		snprintf(err, errlen, "control socket: bad arguments");
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s: socket path too long (max %zu)", path,
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "control socket: out of memory");
		return -ENOMEM;
	}
	strcpy(s->path, path);
	s->be = backend;
	if (cfg)
		s->cfg = *cfg;
	if (!s->cfg.max_clients)
		s->cfg.max_clients = QMP_DEFAULT_MAX_CLIENTS;
	if (!s->cfg.max_request)
		s->cfg.max_request = QMP_DEFAULT_MAX_REQUEST;
	if (!s->cfg.max_outbuf)
		s->cfg.max_outbuf = QMP_DEFAULT_MAX_OUTBUF;
	if (!s->cfg.wmark_interval_ms)
		s->cfg.wmark_interval_ms = QMP_DEFAULT_WMARK_MS;
	if (!s->cfg.linger_ms)
		s->cfg.linger_ms = QMP_DEFAULT_LINGER_MS;
	if (!s->cfg.negotiate_ms)
		s->cfg.negotiate_ms = QMP_DEFAULT_NEGOTIATE_MS;
	if (!s->cfg.stall_ms)
		s->cfg.stall_ms = QMP_DEFAULT_STALL_MS;
	s->lfd = s->evfd = -1;
	r = -pthread_mutex_init(&s->ev_lock, NULL);
	if (r) {
		snprintf(err, errlen, "control socket: mutex: %s", strerror(-r));
		free(s);
		return r;
	}
	r = -pthread_mutex_init(&s->st_lock, NULL);
	if (r) {
		snprintf(err, errlen, "control socket: mutex: %s", strerror(-r));
		goto err_ev_lock;
	}
	s->clients = calloc(s->cfg.max_clients, sizeof(*s->clients));
	if (!s->clients) {
		r = -ENOMEM;
		snprintf(err, errlen, "control socket: out of memory");
		goto err_free;
	}

	r = claim_path(path, err, errlen);
	if (r)
		goto err_free;
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0) {
		r = -errno;
		snprintf(err, errlen, "socket: %s", strerror(-r));
		goto err_free;
	}
	/* The mode of the socket inode becomes the file's mode at bind(). */
	if (fchmod(s->lfd, 0600)) {
		r = -errno;
		snprintf(err, errlen, "%s: fchmod: %s", path, strerror(-r));
		goto err_close;
	}
	strcpy(sa.sun_path, path);
	if (bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = -errno;
		snprintf(err, errlen, "%s: bind: %s", path, strerror(-r));
		goto err_close;
	}
	if (chmod(path, 0600) || lstat(path, &st)) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		goto err_unlink;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	if (listen(s->lfd, 16)) {
		r = -errno;
		snprintf(err, errlen, "%s: listen: %s", path, strerror(-r));
		goto err_unlink;
	}
	s->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->evfd < 0) {
		r = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(-r));
		goto err_unlink;
	}
	r = -pthread_create(&s->thread, NULL, server_thread, s);
	if (r) {
		snprintf(err, errlen, "control socket thread: %s", strerror(-r));
		goto err_evfd;
	}
	*out = s;
	return 0;

err_evfd:
	close(s->evfd);
err_unlink:
	unlink(path);
err_close:
	close(s->lfd);
err_free:
	free(s->clients);
	pthread_mutex_destroy(&s->st_lock);
err_ev_lock:
	pthread_mutex_destroy(&s->ev_lock);
	free(s);
	return r;
}

void qmp_server_stop(struct qmp_server *s)
{
	uint64_t one = 1;
	struct stat st;
	ssize_t r;

	if (!s)
		return;
	WRITE_ONCE(s->stop, true);
	r = write(s->evfd, &one, sizeof(one));
	(void)r;
	pthread_join(s->thread, NULL);
	while (s->nr_clients)
		remove_client(s, s->nr_clients - 1);
	/* Remove the file only if it is still ours. */
	if (!lstat(s->path, &st) && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	close(s->lfd);
	close(s->evfd);
	free(s->clients);
	pthread_mutex_destroy(&s->ev_lock);
	pthread_mutex_destroy(&s->st_lock);
	free(s);
}

void qmp_server_get_stats(struct qmp_server *s, struct qmp_server_stats *st)
{
	pthread_mutex_lock(&s->st_lock);
	*st = s->st;
	pthread_mutex_unlock(&s->st_lock);
	pthread_mutex_lock(&s->ev_lock);
	st->events_dropped = s->ev_dropped;
	pthread_mutex_unlock(&s->ev_lock);
}
