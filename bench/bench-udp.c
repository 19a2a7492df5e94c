/* bench-udp.c - the kernel's share: what a media server that does nothing costs per participant */
/*
 * The floor under the bypassed engine's CPU (docs/PERFORMANCE.md, "The
 * floor"): one UDP socket on loopback that receives one 172-byte RTP-sized
 * datagram from each of N phones every 20 ms and sends each of them one
 * back, exactly as the engine's media thread does it (a wake every 5 ms,
 * recvmmsg in batches of 64, a quarter of the participants sent to at each
 * wake with sendmmsg in batches of 64), but with no jitter buffer, no
 * decoding, no mixing and no encoding: the datagram received is the
 * datagram sent.  Its CPU per participant-second is what the kernel takes
 * for the datagrams alone on this host (on loopback, with the delivery
 * into the receiving socket done by the sender's system call), the part of
 * the engine's cost that no user-space work can remove.
 *
 * The phones are a child process (one socket each, sending at the same
 * 5 ms phases and draining their sockets), measured apart and not counted.
 *
 *   bench/bench-udp [-n N[,N...]] [-t SECONDS] [-b BATCH]
 *
 * -b 1 sends and receives one datagram per system call, as a server with
 * one thread per session does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PACKET   172 /* 12 bytes of RTP header and 20 ms of G.711 */
#define PHASES   4
#define PHASE_NS 5000000L
#define MAXBATCH 64
#define WARMUP   2

static volatile sig_atomic_t stop;
static int phones_epoll; /* -e: the phones wait in epoll_wait() for their datagrams */

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static int udp_socket(uint16_t port, struct sockaddr_in *bound)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), big = 4 << 20;

	if (fd < 0)
		die("socket");
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	if (getsockname(fd, (struct sockaddr *)bound, &len) < 0)
		die("getsockname");
	return fd;
}

static void next_phase(struct timespec *t)
{
	t->tv_nsec += PHASE_NS;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR && !stop)
		;
}

static double cpu_of(const struct rusage *r)
{
	return r->ru_utime.tv_sec + r->ru_utime.tv_usec / 1e6 + r->ru_stime.tv_sec +
	       r->ru_stime.tv_usec / 1e6;
}

/* The phones of -e: they send at their phase and sleep in epoll_wait() until then, reading
 * each datagram as it comes (so each delivery may wake them). */
static void phones_waiting(int *fd, unsigned n, const struct sockaddr_in *server,
        struct timespec *t)
{
	uint8_t pkt[PACKET] = {0x80, 0x00}, in[2048];
	struct epoll_event ev[256];
	int ep = epoll_create1(0);
	unsigned phase = 0;

	if (ep < 0)
		die("epoll_create1");
	for (unsigned i = 0; i < n; i++) {
		struct epoll_event e = {.events = EPOLLIN, .data.u32 = i};

		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd[i], &e) < 0)
			die("epoll_ctl");
	}
	while (!stop) {
		struct timespec now;
		long ms;
		int got;

		for (unsigned i = phase; i < n; i += PHASES)
			sendto(fd[i], pkt, sizeof(pkt), 0, (const struct sockaddr *)server,
			        sizeof(*server));
		phase = (phase + 1) % PHASES;
		t->tv_nsec += PHASE_NS;
		if (t->tv_nsec >= 1000000000L) {
			t->tv_nsec -= 1000000000L;
			t->tv_sec++;
		}
		do {
			clock_gettime(CLOCK_MONOTONIC, &now);
			ms = (t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
			got = epoll_wait(ep, ev, 256, ms > 0 ? (int)ms : 0);
			for (int i = 0; i < got; i++)
				recv(fd[ev[i].data.u32], in, sizeof(in), 0);
		} while (ms > 0 && !stop);
	}
	_exit(0);
}

/* The phones: @n sockets, each sending to @server every 20 ms at its phase, draining what came. */
static void phones(unsigned n, const struct sockaddr_in *server, int ready)
{
	int *fd = calloc(n, sizeof(*fd));
	uint8_t pkt[PACKET] = {0x80, 0x00}, in[2048];
	struct timespec t;
	unsigned phase = 0;

	for (unsigned i = 0; i < n; i++) {
		struct sockaddr_in a;

		fd[i] = udp_socket(0, &a);
	}
	if (write(ready, "r", 1) != 1)
		die("write");
	clock_gettime(CLOCK_MONOTONIC, &t);
	if (phones_epoll)
		phones_waiting(fd, n, server, &t);
	while (!stop) {
		for (unsigned i = phase; i < n; i += PHASES)
			sendto(fd[i], pkt, sizeof(pkt), 0, (const struct sockaddr *)server,
			        sizeof(*server));
		for (unsigned i = 0; i < n; i++)
			while (recv(fd[i], in, sizeof(in), 0) > 0)
				;
		phase = (phase + 1) % PHASES;
		next_phase(&t);
	}
	_exit(0);
}

struct server {
	int fd;
	unsigned n, batch, known;
	struct sockaddr_in *peer; /* by arrival order, as legs latch */
	uint8_t *seen;            /* by the peer's port: known yet */
	uint64_t rx, tx, tx_fail;
	struct mmsghdr msg[MAXBATCH];
	struct iovec iov[MAXBATCH];
	struct sockaddr_in addr[MAXBATCH];
	uint8_t buf[MAXBATCH][2048];
};

static void server_read(struct server *s)
{
	for (;;) {
		int got;

		for (unsigned i = 0; i < s->batch; i++) {
			s->iov[i] = (struct iovec){s->buf[i], sizeof(s->buf[i])};
			memset(&s->msg[i].msg_hdr, 0, sizeof(s->msg[i].msg_hdr));
			s->msg[i].msg_hdr.msg_iov = &s->iov[i];
			s->msg[i].msg_hdr.msg_iovlen = 1;
			s->msg[i].msg_hdr.msg_name = &s->addr[i];
			s->msg[i].msg_hdr.msg_namelen = sizeof(s->addr[i]);
		}
		got = recvmmsg(s->fd, s->msg, s->batch, MSG_DONTWAIT, NULL);
		if (got <= 0)
			return;
		s->rx += (unsigned)got;
		for (int i = 0; i < got; i++) {
			uint16_t port = ntohs(s->addr[i].sin_port);

			if (!s->seen[port] && s->known < s->n) {
				s->seen[port] = 1;
				s->peer[s->known++] = s->addr[i];
			}
		}
		if ((unsigned)got < s->batch)
			return;
	}
}

static void server_send(struct server *s, unsigned phase)
{
	unsigned k = 0;

	for (unsigned i = phase; i < s->known; i += PHASES) {
		s->iov[k] = (struct iovec){s->buf[0], PACKET};
		memset(&s->msg[k].msg_hdr, 0, sizeof(s->msg[k].msg_hdr));
		s->msg[k].msg_hdr.msg_iov = &s->iov[k];
		s->msg[k].msg_hdr.msg_iovlen = 1;
		s->msg[k].msg_hdr.msg_name = &s->peer[i];
		s->msg[k].msg_hdr.msg_namelen = sizeof(s->peer[i]);
		if (++k == s->batch || i + PHASES >= s->known) {
			int sent = sendmmsg(s->fd, s->msg, k, MSG_DONTWAIT);

			s->tx += sent > 0 ? (unsigned)sent : 0;
			s->tx_fail += sent > 0 ? k - (unsigned)sent : k;
			k = 0;
		}
	}
}

static void run(unsigned n, unsigned seconds, unsigned batch)
{
	struct server s = {.n = n, .batch = batch};
	struct sockaddr_in me;
	struct rusage r0, r1, c;
	struct timespec t, w0, w1;
	uint64_t rx0 = 0, tx0 = 0;
	unsigned phase = 0, ticks = 0, window = (WARMUP + seconds) * 1000 / 5;
	int pipefd[2];
	char ch;
	pid_t kid;
	double secs, cpu;

	s.fd = udp_socket(0, &me);
	s.peer = calloc(n, sizeof(*s.peer));
	s.seen = calloc(65536, 1);
	if (pipe(pipefd) < 0)
		die("pipe");
	kid = fork();
	if (kid < 0)
		die("fork");
	if (kid == 0)
		phones(n, &me, pipefd[1]);
	if (read(pipefd[0], &ch, 1) != 1)
		die("phones");
	clock_gettime(CLOCK_MONOTONIC, &t);
	while (!stop && ticks < window) {
		server_read(&s);
		server_send(&s, phase);
		phase = (phase + 1) % PHASES;
		if (++ticks == WARMUP * 1000 / 5) {
			getrusage(RUSAGE_SELF, &r0);
			clock_gettime(CLOCK_MONOTONIC, &w0);
			rx0 = s.rx;
			tx0 = s.tx;
		}
		next_phase(&t);
	}
	getrusage(RUSAGE_SELF, &r1);
	clock_gettime(CLOCK_MONOTONIC, &w1);
	kill(kid, SIGTERM);
	waitpid(kid, NULL, 0);
	getrusage(RUSAGE_CHILDREN, &c);
	secs = (double)(w1.tv_sec - w0.tv_sec) + (w1.tv_nsec - w0.tv_nsec) / 1e9;
	cpu = cpu_of(&r1) - cpu_of(&r0);
	printf("N %5u batch %2u: server %.3f s/s (user %.3f, sys %.3f) = %.3f ms per "
	       "participant-second; %u legs, received %.1f%% and sent %.1f%% of 50/s each, "
	       "%lu sends refused; phones %.3f s/s (not counted)\n",
	        n, batch, cpu / secs,
	        (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec +
	                (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6) / secs,
	        (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec +
	                (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6) / secs,
	        cpu / secs / n * 1000, s.known, 100.0 * (double)(s.rx - rx0) / (50.0 * n * secs),
	        100.0 * (double)(s.tx - tx0) / (50.0 * n * secs), (unsigned long)s.tx_fail,
	        cpu_of(&c) / (secs + WARMUP));
	fflush(stdout);
	close(s.fd);
	free(s.peer);
	free(s.seen);
}

int main(int argc, char **argv)
{
	const char *ns = "500";
	unsigned seconds = 10, batch = MAXBATCH;
	int opt;

	while ((opt = getopt(argc, argv, "n:t:b:e")) != -1) {
		switch (opt) {
		case 'e':
			phones_epoll = 1;
			break;
		case 'n':
			ns = optarg;
			break;
		case 't':
			seconds = (unsigned)atoi(optarg);
			break;
		case 'b':
			batch = (unsigned)atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-n N[,N...]] [-t SECONDS] [-b BATCH] [-e]\n", argv[0]);
			return 2;
		}
	}
	if (batch < 1 || batch > MAXBATCH || seconds < 1) {
		fprintf(stderr, "bench-udp: -b takes 1 to %d, -t at least 1\n", MAXBATCH);
		return 2;
	}
	signal(SIGINT, on_term);
	signal(SIGTERM, on_term);
	char *list = strdup(ns);

	for (char *tok = strtok(list, ","); tok && !stop; tok = strtok(NULL, ","))
		run((unsigned)atoi(tok), seconds, batch);
	free(list);
	return 0;
}
