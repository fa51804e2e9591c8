/*  testclock.h: the monotonic clock of the tests, in milliseconds.

    Tests bound their waits ("the server answers within 5 s") and time
    calls; they all read the same clock, CLOCK_MONOTONIC, which no change
    of the wall clock moves. Safe from any thread. */
#ifndef DOSSIER_TESTCLOCK_H
#define DOSSIER_TESTCLOCK_H

#include <stdint.h>

/*  Milliseconds on CLOCK_MONOTONIC since an unspecified start: only
    differences between two readings mean anything. */
int64_t testclock_now_ms(void);

/*  Sleeps about ms milliseconds (0 or more); a signal may end it early. */
void testclock_sleep_ms(int ms);

#endif
