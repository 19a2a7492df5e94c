/* testclock.h - a media clock a test steps wake by wake (struct ce_media_clock) */
#ifndef CE_TESTCLOCK_H
#define CE_TESTCLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "media/media-priv.h"

/*
 * A media clock the test steps: the media thread's sleep_until() waits
 * until the test has moved the time there.  ce_test_step_wake() moves it one wake
 * and returns once the thread has done that wake and sleeps again, so the
 * packets sent before it are read at that wake (loopback UDP queues a
 * datagram on the receiving socket within sendto()) and the frames it
 * mixed are in the peers' sockets.  Between steps the thread is parked and
 * the test may read its state.  With several media threads (threads > 1)
 * a step waits until every one of them has done the wake.
 */
#define CLOCK_THREADS_MAX 4

struct ce_test_clock {
	struct ce_media_clock clock;
	GMutex lock;
	GCond cond;
	int64_t now;      /* ns */
	unsigned threads; /* media threads on this clock (ce_test_clock_init: 1) */
	struct {
		GThread *thread;
		int64_t sleeping; /* until when it sleeps; 0 while it runs */
	} sleeper[CLOCK_THREADS_MAX];
	bool free; /* let the threads run (their end) */
};

void ce_test_clock_init(struct ce_test_clock *c);
void ce_test_step_wake(struct ce_test_clock *c);
void ce_test_clock_release(struct ce_test_clock *c);
void ce_test_clock_clear(struct ce_test_clock *c);

#endif
