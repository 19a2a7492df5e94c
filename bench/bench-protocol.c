/* bench-protocol.c - the real conf-engine through pipes: flood throughput, latency at a fixed rate
 */
#define G_LOG_DOMAIN "bench-protocol"
#define _GNU_SOURCE  /* ppoll, F_SETPIPE_SZ */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
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
 * Plays Yate in one thread (ppoll on both pipes, so that the harness adds
 * a single runnable thread to the engine's): starts conf-engine with its
 * stdin/stdout on pipes and reads every line it writes.
 *  1. flood: FLOOD %%>message lines as fast as the pipe takes them; reports
 *     messages per second from the first write to the last answer (parse +
 *     dispatch + diff + answer inside the engine, plus the pipes).
 *  2. latency: RATE messages per second for SECONDS on an absolute
 *     schedule; reports the answer latency p50/p90/p99/max.
 * Every message is answered by the engine; ids are <phase letter><index>.
 */

#ifndef CE_BUILDDIR
#define CE_BUILDDIR "."
#endif

#define IN_BUF (1 << 20)

struct bench {
	int to_engine, from_engine;
	pid_t pid;
	const char *name;
	char *in; /* partial line from the engine */
	size_t in_len;
	char phase;   /* id prefix of the current phase */
	gint64 *recv; /* per message index: arrival time, 0 until answered */
	unsigned n;   /* messages in the phase */
	unsigned answered;
	bool eof;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CPU seconds (user + system, all threads) the engine used so far. */
static double engine_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	/* after "pid (comm)": state is field 3, utime 14, stime 15 */
	if (!p ||
	        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
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
	/* larger pipes: fewer wake-ups on both sides during the flood */
	fcntl(b->to_engine, F_SETPIPE_SZ, 1 << 20);
	fcntl(b->from_engine, F_SETPIPE_SZ, 1 << 20);
	fcntl(b->to_engine, F_SETFL, O_NONBLOCK);
	fcntl(b->from_engine, F_SETFL, O_NONBLOCK);
	return 0;
}

/* "%%<message:<phase><index>:..." -> the arrival time of that index. */
static void on_line(struct bench *b, const char *line, size_t len, int64_t t)
{
	static const char kw[] = "%%<message:";
	char *end;
	unsigned long i;

	if (len < sizeof(kw) + 1 || memcmp(line, kw, sizeof(kw) - 1) ||
	        line[sizeof(kw) - 1] != b->phase)
		return;
	i = strtoul(line + sizeof(kw), &end, 10);
	if (*end != ':' || i >= b->n || b->recv[i])
		return;
	b->recv[i] = t;
	b->answered++;
}

/* Read what the engine wrote (non-blocking) and account for its answers. */
static void drain(struct bench *b)
{
	for (;;) {
		ssize_t n = read(b->from_engine, b->in + b->in_len, IN_BUF - b->in_len);
		int64_t t = now_ns();
		size_t start = 0;
		char *nl;

		if (n == 0)
			b->eof = true;
		if (n <= 0)
			return;
		b->in_len += (size_t)n;
		while ((nl = memchr(b->in + start, '\n', b->in_len - start))) {
			on_line(b, b->in + start, (size_t)(nl - b->in - start), t);
			start = (size_t)(nl - b->in) + 1;
		}
		memmove(b->in, b->in + start, b->in_len - start);
		b->in_len -= start;
		if (b->in_len == IN_BUF)
			b->in_len = 0; /* an absurd line: drop it */
	}
}

/* Wait for input or output readiness, or until @deadline (ns, 0: none). */
static void wait_io(struct bench *b, bool want_out, int64_t deadline)
{
	struct pollfd p[2] = {{b->from_engine, POLLIN, 0}, {b->to_engine, POLLOUT, 0}};
	int64_t left = deadline ? deadline - now_ns() : 100000000;
	struct timespec ts;

	if (left < 0)
		left = 0;
	ts.tv_sec = (time_t)(left / 1000000000);
	ts.tv_nsec = (long)(left % 1000000000);
	ppoll(p, want_out ? 2 : 1, &ts, NULL);
}

/* One message line; formatted by hand: the harness must cost little next to the engine. */
static void format_msg(GString *s, char phase, unsigned i, const char *name)
{
	static const char tail[] = "::module=other:callto=tone/dial:target=800:"
	                           "cmd_address=127.0.0.1%z35146:cmd_machine=false:cmd_admin=true:"
	                           "handlers=yrtp%z50\n";
	char num[16], *p = num + sizeof(num);

	do {
		*--p = (char)('0' + i % 10);
		i /= 10;
	} while (i);
	g_string_append_len(s, "%%>message:", 11);
	g_string_append_c(s, phase);
	g_string_append_len(s, p, num + sizeof(num) - p);
	g_string_append_len(s, ":1795326762:", 12);
	g_string_append(s, name);
	g_string_append_len(s, tail, sizeof(tail) - 1);
}

static void begin(struct bench *b, char phase, unsigned n)
{
	g_free(b->recv);
	b->recv = g_new0(gint64, n);
	b->n = n;
	b->phase = phase;
	b->answered = 0;
}

/*
 * Flood @n messages; returns messages per second of wall time (0 if they
 * were not all answered) and, in @per_cpu, per second of the engine's CPU
 * time: the figure that does not depend on what else the machine runs.
 */
static double flood(struct bench *b, unsigned n, double *per_cpu)
{
	double cpu0 = engine_cpu(b->pid);
	GString *s = g_string_sized_new(256 * 1024);
	int64_t t0, end, last = 0;
	size_t off = 0;
	unsigned i = 0;

	begin(b, 'f', n);
	t0 = now_ns();
	end = t0 + 120LL * 1000000000;
	while (b->answered < n && !b->eof && now_ns() < end) {
		while (off == s->len && i < n) {
			g_string_truncate(s, 0);
			off = 0;
			for (; i < n && s->len < 128 * 1024; i++)
				format_msg(s, 'f', i, b->name);
		}
		if (off < s->len) {
			ssize_t w = write(b->to_engine, s->str + off, s->len - off);

			if (w > 0)
				off += (size_t)w;
		}
		drain(b);
		if (b->answered < n && (off < s->len || i == n))
			wait_io(b, off < s->len, 0); /* the pipe is full, or all was written */
	}
	g_string_free(s, TRUE);
	if (b->answered < n) {
		fprintf(stderr, "bench-protocol: flood: only %u of %u answered\n", b->answered, n);
		return 0;
	}
	for (i = 0; i < n; i++)
		last = MAX(last, b->recv[i]);
	*per_cpu = n / MAX(engine_cpu(b->pid) - cpu0, 0.01);
	return n / ((last - t0) / 1e9);
}

static int cmp_i64(const void *a, const void *c)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)c;

	return x < y ? -1 : x > y;
}

static void latency(struct bench *b, unsigned rate, double secs)
{
	unsigned i = 0, n = (unsigned)(rate * secs), lost = 0;
	int64_t *sent = g_new0(int64_t, n), *lat = g_new0(int64_t, n);
	int64_t period = 1000000000LL / rate, t0 = now_ns() + 10000000, end;
	GString *s = g_string_sized_new(512);

	begin(b, 'l', n);
	while (i < n && !b->eof) {
		int64_t due = t0 + (int64_t)i * period;

		if (now_ns() >= due) {
			g_string_truncate(s, 0);
			format_msg(s, 'l', i, b->name);
			sent[i] = now_ns();
			if (write(b->to_engine, s->str, s->len) != (ssize_t)s->len)
				break; /* a 200-byte write to a drained pipe: only if the engine
				          died */
			i++;
			continue;
		}
		drain(b);
		wait_io(b, false, due);
	}
	end = now_ns() + 10LL * 1000000000;
	while (b->answered < n && !b->eof && now_ns() < end) {
		drain(b);
		wait_io(b, false, 0);
	}
	for (i = 0; i < n; i++) {
		lat[i] = b->recv[i] ? b->recv[i] - sent[i] : INT64_MAX;
		lost += !b->recv[i];
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
	struct bench b = {.name = "engine.status"};
	const char *binary = CE_BUILDDIR "/conf-engine/conf-engine";
	unsigned n = 1000000, rate = 10000;
	double secs = 3, mps, cpu = 0;
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
	if (!n || !rate || rate > 1000000 || secs <= 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	b.in = g_malloc(IN_BUF);
	if (spawn(&b, binary) < 0) {
		perror("bench-protocol: spawn");
		return 1;
	}
	flood(&b, 10000, &cpu); /* warm up: the engine starts its modules and settles */
	mps = flood(&b, n, &cpu);
	printf("bench-protocol: flood of %u %s messages through pipes: %.0f msg/s wall, "
	       "%.0f msg per engine CPU second (parse + dispatch + answer)  [goal 300000/core: "
	       "%s]\n",
	        n, b.name, mps, cpu, cpu >= 300000 ? "met" : "NOT met");
	latency(&b, rate, secs);
	close(b.to_engine); /* EOF: the engine stops */
	for (int64_t end = now_ns() + 10LL * 1000000000; !b.eof && now_ns() < end;) {
		drain(&b);
		wait_io(&b, false, 0);
	}
	if (!b.eof)
		kill(b.pid, SIGKILL);
	waitpid(b.pid, &status, 0);
	close(b.from_engine);
	g_free(b.recv);
	g_free(b.in);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
