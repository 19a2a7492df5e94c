/* testutil.c - small helpers shared by the C test programs */
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "testutil.h"

/** Remove @dir and everything below it; links are removed, not followed. */
void ce_test_rm_tree(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		char *p = g_build_filename(dir, name, NULL);

		if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			ce_test_rm_tree(p);
		else
			g_unlink(p);
		g_free(p);
	}
	if (d)
		g_dir_close(d);
	g_rmdir(dir);
}

/** A non-blocking UDP socket bound to 127.0.0.1 on a free port; @a gets its address. */
int ce_test_udp_loopback(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	g_assert_cmpint(fd, >=, 0);
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(fd, (struct sockaddr *)a, sizeof(*a)), ==, 0);
	getsockname(fd, (struct sockaddr *)a, &len);
	return fd;
}
