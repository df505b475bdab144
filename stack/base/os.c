/* os.c - the stack's table of operating-system calls (os.h). */
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os.h"

static int own_fd(int fd)
{
	return fd;
}

struct mtcp_os mtcp_os = {
	.socket = socket,
	.bind = bind,
	.setsockopt = setsockopt,
	.ioctl = ioctl,
	.open = open,
	.close = close,
	.read = read,
	.write = write,
	.readv = readv,
	.writev = writev,
	.send = send,
	.recv = recv,
	.sendmsg = sendmsg,
	.recvmsg = recvmsg,
	.poll = poll,
	.eventfd = eventfd,
	.fstat = fstat,
	.epoll_create1 = epoll_create1,
	.epoll_ctl = epoll_ctl,
	.epoll_wait = epoll_wait,
	.own = own_fd,
};

void mtcp_os_set(const struct mtcp_os *os)
{
	mtcp_os = *os;
}
