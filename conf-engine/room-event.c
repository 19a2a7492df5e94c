/* room-event.c - the typed room event: a blank one, and who a participant is from a message */
#include <string.h>

#include "message.h"
#include "room-event.h"

/** @ev blank, of @kind: no names, nothing said (users, maxusers, energy, duration_ms -1). */
void ce_room_event_init(struct ce_room_event *ev, enum ce_event_kind kind)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->users = ev->maxusers = -1;
	ev->energy = -1;
	ev->duration_ms = -1;
}

/**
 * Who a participant is, from the parameters of @msg (a join request, a
 * journal line, Yate's chan.notify or call.execute); strings borrowed from @msg.
 */
void ce_room_who_read(struct ce_room_who *w, const struct ce_msg *msg)
{
	w->caller = ce_msg_get(msg, "caller");
	w->callername = ce_msg_get(msg, "callername");
	w->called = ce_msg_get(msg, "called");
	w->billid = ce_msg_get(msg, "billid");
	w->number = ce_msg_get(msg, "participant_number");
	w->name = ce_msg_get(msg, "participant_name");
	w->role = ce_msg_get(msg, "participant_role");
	w->direction = ce_msg_get(msg, "participant_direction");
	w->conference_id = ce_msg_get_int(msg, "conference_id", 0, 0, G_MAXINT64);
	w->participant_id = ce_msg_get_int(msg, "participant_id", 0, 0, G_MAXINT64);
}
