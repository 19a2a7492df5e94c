/* bench-protocol.c - the real conf-engine through pipes: flood throughput, then latency at a fixed
 * rate */
#define G_LOG_DOMAIN "bench-protocol"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

/*
 * Usage: bench-protocol [-n FLOOD] [-r RATE] [-s SECONDS] [-m NAME] [-b BINARY]
 *
 * Plays Yate: starts conf-engine with its stdin/stdout on pipes, answers
 * nothing but reads every line.  Phase 1 writes FLOOD %%>message lines as
 * fast as the pipe takes them and measures messages per second until the
 * last answer arrived (parse + dispatch + diff + answer, inside the engine,
 * plus the pipes).  Phase 2 sends RATE messages per second for SECONDS on
 * an absolute schedule and reports the answer latency distribution.
 */

#ifndef CE_BUILDDIR
#define CE_BUILDDIR "."
#endif

struct bench {
	int to_engine, from_engine;
	pid_t pid;
	const char *name;
	/* filled by the reader thread */
	gint64 *recv_ns; /* per message index, 0 until answered */
	unsigned n_slots;
	volatile unsigned answered;
	volatile int reader_done;
	char prefix;    /* 'f' flood, 'l' latency: ids are <prefix><index> */
	GPtrArray *old; /* arrays of earlier phases: the reader may still look */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
	struct timespec ts = {(time_t)(t / 1000000000), (long)(t % 1000000000)};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int spawn(struct bench *b, const char *binary)
{
	int in[2], out[2];

	if (pipe(in) < 0 || pipe(out) < 0)
		return -errno;
	b->pid = fork();
	if (b->pid < 0)
		return -errno;
	if (b->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execl(binary, binary, "--log-level", "error", (char *)NULL);
		fprintf(stderr, "bench-protocol: cannot run %s: %s\n", binary, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	b->to_engine = in[1];
	b->from_engine = out[0];
	return 0;
}

/* "%%<message:<p><index>:..." -> record the arrival time of that index. */
static void on_line(struct bench *b, const char *line, size_t len, int64_t t)
{
	static const char kw[] = "%%<message:";
	char *end;
	unsigned long i;

	if (len < sizeof(kw) + 1 || memcmp(line, kw, sizeof(kw) - 1))
		return;
	if (line[sizeof(kw) - 1] != b->prefix)
		return;
	i = strtoul(line + sizeof(kw), &end, 10);
	if (*end != ':' || i >= b->n_slots || b->recv_ns[i])
		return;
	b->recv_ns[i] = t;
	__atomic_add_fetch(&b->answered, 1, __ATOMIC_RELEASE);
}

static void *reader(void *arg)
{
	struct bench *b = arg;
	static char buf[1 << 20];
	size_t have = 0;

	for (;;) {
		ssize_t n = read(b->from_engine, buf + have, sizeof(buf) - have);
		int64_t t = now_ns();
		size_t start = 0;
		char *nl;

		if (n <= 0)
			break;
		have += (size_t)n;
		while ((nl = memchr(buf + start, '\n', have - start))) {
			on_line(b, buf + start, (size_t)(nl - buf - start), t);
			start = (size_t)(nl - buf) + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have == sizeof(buf))
			have = 0; /* an absurd line: drop it */
	}
	b->reader_done = 1;
	return NULL;
}

static void format_msg(GString *s, char prefix, unsigned i, const char *name)
{
	g_string_append_printf(s,
	        "%%%%>message:%c%u:1795326762:%s::module=other:callto=tone/dial:target=800:"
	        "cmd_address=127.0.0.1%%z35146:cmd_machine=false:cmd_admin=true:handlers=yrtp%%"
	        "z50\n",
	        prefix, i, name);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Wait (bounded) until @want answers arrived; returns whether they did. */
static bool wait_answers(struct bench *b, unsigned want, int64_t limit_ns)
{
	int64_t end = now_ns() + limit_ns;

	while (__atomic_load_n(&b->answered, __ATOMIC_ACQUIRE) < want && !b->reader_done) {
		if (now_ns() > end)
			return false;
		sleep_until(now_ns() + 200000);
	}
	return __atomic_load_n(&b->answered, __ATOMIC_ACQUIRE) >= want;
}

static void reset(struct bench *b, char prefix, unsigned n)
{
	if (b->recv_ns)
		g_ptr_array_add(b->old, b->recv_ns);
	b->recv_ns = g_new0(gint64, n);
	b->n_slots = n;
	b->prefix = prefix;
	__atomic_store_n(&b->answered, 0, __ATOMIC_RELEASE);
}

static double flood(struct bench *b, unsigned n)
{
	GString *s = g_string_sized_new(256 * 1024);
	int64_t t0, t1;
	unsigned i;

	reset(b, 'f', n);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		format_msg(s, 'f', i, b->name);
		if (s->len > 200 * 1024 || i == n - 1) {
			if (write_all(b->to_engine, s->str, s->len) < 0)
				break;
			g_string_truncate(s, 0);
		}
	}
	g_string_free(s, TRUE);
	if (!wait_answers(b, n, 60LL * 1000000000)) {
		fprintf(stderr, "bench-protocol: flood: only %u of %u answered\n", b->answered, n);
		return 0;
	}
	t1 = 0;
	for (i = 0; i < n; i++)
		t1 = MAX(t1, b->recv_ns[i]);
	return n / ((t1 - t0) / 1e9);
}

static int cmp_i64(const void *a, const void *c)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)c;

	return x < y ? -1 : x > y;
}

static void latency(struct bench *b, unsigned rate, double secs)
{
	unsigned i, n = (unsigned)(rate * secs), lost = 0;
	int64_t *sent = g_new0(int64_t, n), *lat = g_new0(int64_t, n);
	int64_t period = 1000000000LL / rate, t0;
	GString *s = g_string_sized_new(512);

	reset(b, 'l', n);
	t0 = now_ns() + 10000000;
	for (i = 0; i < n; i++) {
		sleep_until(t0 + (int64_t)i * period);
		g_string_truncate(s, 0);
		format_msg(s, 'l', i, b->name);
		sent[i] = now_ns();
		if (write_all(b->to_engine, s->str, s->len) < 0)
			break;
	}
	wait_answers(b, n, 10LL * 1000000000);
	for (i = 0; i < n; i++) {
		if (!b->recv_ns[i]) {
			lost++;
			lat[i] = INT64_MAX;
		} else {
			lat[i] = b->recv_ns[i] - sent[i];
		}
	}
	qsort(lat, n, sizeof(*lat), cmp_i64);
	printf("bench-protocol: latency at %u msg/s for %.1f s (%u messages, %u unanswered): "
	       "p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us  [goal p99 < 1000 us: %s]\n",
	        rate, secs, n, lost, lat[n / 2] / 1e3, lat[n * 9 / 10] / 1e3,
	        lat[n * 99 / 100] / 1e3, lost ? -1.0 : lat[n - 1] / 1e3,
	        !lost && lat[n * 99 / 100] < 1000000 ? "met" : "NOT met");
	g_string_free(s, TRUE);
	g_free(sent);
	g_free(lat);
}

int main(int argc, char **argv)
{
	struct bench b = {.name = "engine.status", .old = g_ptr_array_new_with_free_func(g_free)};
	const char *binary = CE_BUILDDIR "/conf-engine/conf-engine";
	unsigned n = 1000000, rate = 10000;
	double secs = 3, mps;
	pthread_t th;
	int opt, status;

	while ((opt = getopt(argc, argv, "n:r:s:m:b:")) != -1) {
		switch (opt) {
		case 'n':
			n = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			rate = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 's':
			secs = strtod(optarg, NULL);
			break;
		case 'm':
			b.name = optarg;
			break;
		case 'b':
			binary = optarg;
			break;
		default:
			fprintf(stderr,
			        "usage: %s [-n FLOOD] [-r RATE] [-s SECONDS] [-m NAME] [-b "
			        "BINARY]\n",
			        argv[0]);
			return 2;
		}
	}
	if (!n || !rate || secs <= 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	if (spawn(&b, binary) < 0) {
		perror("bench-protocol: spawn");
		return 1;
	}
	pthread_create(&th, NULL, reader, &b);
	/* warm up: let the engine start and settle */
	mps = flood(&b, 10000);
	mps = flood(&b, n);
	printf("bench-protocol: flood of %u %s messages through pipes: %.0f msg/s "
	       "(parse + dispatch + answer)  [goal 300000: %s]\n",
	        n, b.name, mps, mps >= 300000 ? "met" : "NOT met");
	latency(&b, rate, secs);
	close(b.to_engine);
	waitpid(b.pid, &status, 0);
	pthread_join(th, NULL);
	close(b.from_engine);
	g_free(b.recv_ns);
	g_ptr_array_free(b.old, TRUE);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
