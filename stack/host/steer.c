/*
 * steer.c - the steering maps and the filter, from user space (libbpf).
 *
 * steer_create makes the three maps (steer.h), steer_open finds them by id
 * in another process, steer_attach loads the embedded filter (steer.bpf.c,
 * steer_obj.S) with this member's number, on the shared maps, and attaches
 * it to the member's AF_PACKET socket. The rest reads and writes entries.
 *
 * Errors: every call returns 0 or -errno, as libbpf 1.x's own calls do
 * (never -1). libbpf prints through a process-wide callback; it is pointed
 * at our log (module "host") only while steer_load runs libbpf's object
 * loader, the only part that prints, and restored after, so a program that
 * uses libbpf itself keeps its own printing. Its warnings (a load that
 * fails, with the verifier's log) are logged at warn, the rest at debug.
 *
 * Locking: none. The registry serialises changes to ports and conf; each
 * member writes its own flows entries; one struct steer is used by one
 * thread at a time (the registry's lock holder).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "os.h"
#include "steer.h"
#include "steer_hash.h"
#include "steer_int.h"

#ifndef SO_ATTACH_BPF
#define SO_ATTACH_BPF 50
#endif

/* The maps' names carry STEER_ABI, so that steer_open never takes maps
 * another build laid out differently, even with the same sizes. */
#define STR_(x) #x
#define STR(x)  STR_(x)
#define NAME(m) "mtcp_" m "_v" STR(STEER_ABI)

static const struct map_shape {
	const char *name;       /* created with this name */
	const char *obj_name;   /* the definition in steer.bpf.c */
	enum bpf_map_type type;
	uint32_t key_size, value_size, max_entries, flags;
} shapes[3] = {
	[STEER_MAP_PORTS] = { NAME("ports"), "ports", BPF_MAP_TYPE_HASH, sizeof(uint32_t),
			      sizeof(struct steer_port), STEER_PORTS_MAX, BPF_F_NO_PREALLOC },
	[STEER_MAP_FLOWS] = { NAME("flows"), "flows", BPF_MAP_TYPE_HASH,
			      sizeof(struct steer_flow), sizeof(uint16_t), STEER_FLOWS_MAX,
			      BPF_F_NO_PREALLOC },
	[STEER_MAP_CONF] = { NAME("conf"), "conf", BPF_MAP_TYPE_ARRAY, sizeof(uint32_t),
			     sizeof(struct steer_conf), 1, 0 },
};

struct steer {
	int fd[3];                      /* STEER_MAP_* */
	struct bpf_object *obj;         /* the last filter loaded, or NULL */
	int prog_fd;                    /* its program (owned by obj), or -1 */
};

static void close_fd(int fd)
{
	if (fd >= 0)
		(void)mtcp_os.close(fd);
}

static struct steer *steer_alloc(void)
{
	struct steer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	for (int i = 0; i < 3; i++)
		s->fd[i] = -1;
	s->prog_fd = -1;
	return s;
}

void steer_close(struct steer *s)
{
	if (!s)
		return;
	if (s->obj)
		bpf_object__close(s->obj);
	for (int i = 0; i < 3; i++)
		close_fd(s->fd[i]);
	free(s);
}

int steer_fds(struct steer *s, int *out, int max)
{
	struct bpf_program *prog;
	struct bpf_map *m;
	int n = 0;

#define STEER_FD_ADD(fd)	do { if ((fd) >= 0 && n < max) out[n++] = (fd); } while (0)
	if (!s)
		return 0;
	for (int i = 0; i < 3; i++)
		STEER_FD_ADD(s->fd[i]);
	if (s->obj) {
		/* libbpf's own: the loaded filter, its maps (dups of ours
		 * and .rodata), its BTF. */
		bpf_object__for_each_program(prog, s->obj)
			STEER_FD_ADD(bpf_program__fd(prog));
		bpf_object__for_each_map(m, s->obj)
			STEER_FD_ADD(bpf_map__fd(m));
		STEER_FD_ADD(bpf_object__btf_fd(s->obj));
	}
#undef STEER_FD_ADD
	return n;
}

int steer_map_fd(struct steer *s, int which)
{
	return which >= 0 && which < 3 ? s->fd[which] : -EINVAL;
}

static int map_info(int fd, struct bpf_map_info *info)
{
	uint32_t len = sizeof(*info);

	memset(info, 0, sizeof(*info));
	return bpf_obj_get_info_by_fd(fd, info, &len);      /* libbpf 1.1 */
}

int steer_create(uint32_t addr, struct steer_ids *ids, struct steer **out)
{
	struct steer_conf c = { .default_member = 0, .addr = addr };
	struct bpf_map_info info;
	uint32_t key = 0, id[3];
	struct steer *s;
	int err;

	*out = NULL;
	s = steer_alloc();
	if (!s)
		return -ENOMEM;
	for (int i = 0; i < 3; i++) {
		const struct map_shape *m = &shapes[i];
		LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = m->flags);

		err = bpf_map_create(m->type, m->name, m->key_size, m->value_size,
				     m->max_entries, &opts);
		if (err < 0) {
			log_debug(host, "steer: creating map %s: %s", m->name, strerror(-err));
			goto fail;
		}
		s->fd[i] = err = os_own(err);
		err = map_info(s->fd[i], &info);
		if (err < 0)
			goto fail;
		id[i] = info.id;
	}
	err = bpf_map_update_elem(s->fd[STEER_MAP_CONF], &key, &c, BPF_ANY);
	if (err < 0)
		goto fail;
	ids->ports = id[STEER_MAP_PORTS];
	ids->flows = id[STEER_MAP_FLOWS];
	ids->conf = id[STEER_MAP_CONF];
	log_debug(host, "steer: maps created, ids ports %u flows %u conf %u", ids->ports,
		  ids->flows, ids->conf);
	*out = s;
	return 0;
fail:
	steer_close(s);
	return err;
}

/* The map with this id, if it is still the one we made: the kernel may
 * give a freed map's id to another map one day. */
static int open_map(uint32_t id, const struct map_shape *m)
{
	struct bpf_map_info info;
	int fd, err;

	if (id == 0)
		return -ENOENT;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return fd;
	err = map_info(fd, &info);
	if (err < 0) {
		close_fd(fd);
		return err;
	}
	if (info.type != m->type || info.key_size != m->key_size ||
	    info.value_size != m->value_size || strncmp(info.name, m->name, sizeof(info.name))) {
		log_debug(host, "steer: map id %u is \"%.16s\" (type %u, key %u, value %u), "
			  "not ours", id, info.name, info.type, info.key_size, info.value_size);
		close_fd(fd);
		return -ENOENT;
	}
	return fd;
}

int steer_open(const struct steer_ids *ids, struct steer **out)
{
	const uint32_t id[3] = {
		[STEER_MAP_PORTS] = ids->ports,
		[STEER_MAP_FLOWS] = ids->flows,
		[STEER_MAP_CONF] = ids->conf,
	};
	struct steer *s;

	*out = NULL;
	s = steer_alloc();
	if (!s)
		return -ENOMEM;
	for (int i = 0; i < 3; i++) {
		int fd = open_map(id[i], &shapes[i]);

		if (fd < 0) {
			steer_close(s);
			return fd;
		}
		s->fd[i] = os_own(fd);
	}
	*out = s;
	return 0;
}

/* libbpf's messages, line by line, into our log. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level l = level == LIBBPF_WARN ? LOG_WARN : LOG_DEBUG;
	char *text, *line, *save = NULL;

	if (l > mtcp_log_levels[LOGM_host])
		return 0;
	if (vasprintf(&text, fmt, ap) < 0)
		return 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		mtcp_log(LOGM_host, l, "libbpf: %s", line);
	free(text);
	return 0;
}

/* Write a global of .rodata (a const volatile of steer.bpf.c) before load:
 * its place is in the object's BTF. */
static int rodata_set(struct bpf_object *obj, const char *var, const void *val, size_t size)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vs;
	const struct btf_type *sec;
	struct bpf_map *map, *rodata = NULL;
	const void *init = NULL;
	size_t msize = 0;
	int id;

	bpf_object__for_each_map(map, obj) {
		const char *n = bpf_map__name(map);
		size_t nl = strlen(n);

		if (bpf_map__is_internal(map) && nl >= 7 && !strcmp(n + nl - 7, ".rodata")) {
			rodata = map;
			init = bpf_map__initial_value(map, &msize);
			break;
		}
	}
	if (!btf || !init)
		return -ENOENT;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id < 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, (uint32_t)id);
	vs = btf_var_secinfos(sec);
	for (int i = 0; i < btf_vlen(sec); i++, vs++) {
		const struct btf_type *t = btf__type_by_id(btf, vs->type);

		if (strcmp(btf__name_by_offset(btf, t->name_off), var))
			continue;
		if (vs->size != size || vs->offset + size > msize || msize > 256)
			return -EINVAL;
		/* A copy, changed, set back: libbpf 1.1 gives the initial
		 * value read-only. */
		unsigned char data[256];

		memcpy(data, init, msize);
		memcpy(data + vs->offset, val, size);
		return bpf_map__set_initial_value(rodata, data, msize);
	}
	return -ENOENT;
}

static int load(struct steer *s, uint16_t member, bool outgoing, struct bpf_object **objp)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "mtcp_steer");
	const uint8_t out8 = outgoing;
	struct bpf_program *prog;
	struct bpf_object *obj;
	int err;

	obj = bpf_object__open_mem(mtcp_steer_bpf_obj,
				   (size_t)(mtcp_steer_bpf_obj_end - mtcp_steer_bpf_obj), &opts);
	if (!obj)
		return errno ? -errno : -EINVAL;
	err = rodata_set(obj, "steer_member", &member, sizeof(member));
	if (!err)
		err = rodata_set(obj, "steer_outgoing", &out8, sizeof(out8));
	if (err) {
		log_error(host, "steer: the embedded filter has no steer_member/steer_outgoing "
			  "of the expected size (%s)", strerror(-err));
		goto fail;
	}
	for (int i = 0; i < 3; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, shapes[i].obj_name);

		err = m ? bpf_map__reuse_fd(m, s->fd[i]) : -ENOENT;
		if (err)
			goto fail;
	}
	err = bpf_object__load(obj);
	if (err)
		goto fail;
	prog = bpf_object__find_program_by_name(obj, "steer_filter");
	if (!prog) {
		err = -ENOENT;
		goto fail;
	}
	*objp = obj;
	return bpf_program__fd(prog);
fail:
	bpf_object__close(obj);
	return err < 0 ? err : -EINVAL;
}

int steer_load(struct steer *s, uint16_t member, bool outgoing)
{
	struct bpf_object *obj = NULL;
	libbpf_print_fn_t old;
	int fd;

	if (member == 0)
		return -EINVAL;
	old = libbpf_set_print(libbpf_print);
	fd = load(s, member, outgoing, &obj);
	libbpf_set_print(old);
	if (fd < 0) {
		log_error(host, "steer: loading the filter for member %u: %s", member,
			  strerror(-fd));
		return fd;
	}
	if (s->obj)
		bpf_object__close(s->obj);
	s->obj = obj;
	s->prog_fd = fd;
	return fd;
}

int steer_attach(struct steer *s, int sockfd, uint16_t member, bool outgoing)
{
	int fd = steer_load(s, member, outgoing), err = 0;

	if (fd < 0)
		return fd;
	if (mtcp_os.setsockopt(sockfd, SOL_SOCKET, SO_ATTACH_BPF, &fd, sizeof(fd)) == -1)
		err = -errno;
	/* The socket holds the program now; the object's descriptors (the
	 * program's, its copies of the maps') would sit at low numbers in
	 * the program's table, where a program expects none (preload/ownfd.c). */
	bpf_object__close(s->obj);
	s->obj = NULL;
	s->prog_fd = -1;
	if (err) {
		log_error(host, "steer: attaching the filter to fd %d: %s", sockfd,
			  strerror(-err));
		return err;
	}
	log_debug(host, "steer: member %u's filter on fd %d (%s frames)", member, sockfd,
		  outgoing ? "outgoing" : "received");
	return 0;
}

/* ports */

int steer_port_get(struct steer *s, uint8_t proto, uint16_t port, struct steer_port *v)
{
	uint32_t key = steer_port_key(proto, ntohs(port));

	return bpf_map_lookup_elem(s->fd[STEER_MAP_PORTS], &key, v);
}

int steer_port_put(struct steer *s, uint8_t proto, uint16_t port, const struct steer_port *v)
{
	uint32_t key = steer_port_key(proto, ntohs(port));
	int err;

	if (v->nholders == 0) {
		err = bpf_map_delete_elem(s->fd[STEER_MAP_PORTS], &key);
		return err == -ENOENT ? 0 : err;
	}
	if (v->nholders > STEER_HOLDERS || v->nactive > v->nholders)
		return -EINVAL;
	return bpf_map_update_elem(s->fd[STEER_MAP_PORTS], &key, v, BPF_ANY);
}

/*
 * Walks over a hash map: the next key is taken before fn sees the current
 * one, so fn may delete it. A key deleted under us (by another process)
 * makes the kernel start over from the first: the walk is bounded, and a
 * sweep that misses an entry finds it next time.
 */
#define WALK_MAX(n)     (2u * (n) + 16)

int steer_port_each(struct steer *s,
		    bool (*fn)(uint8_t proto, uint16_t port, struct steer_port *v, void *arg),
		    void *arg)
{
	int fd = s->fd[STEER_MAP_PORTS];
	uint32_t key, next;
	struct steer_port v;
	int err;

	err = bpf_map_get_next_key(fd, NULL, &key);
	for (unsigned n = 0; err == 0 && n < WALK_MAX(STEER_PORTS_MAX); n++) {
		int lerr = bpf_map_lookup_elem(fd, &key, &v);
		int nerr = bpf_map_get_next_key(fd, &key, &next);

		if (lerr == 0 && fn((uint8_t)(key >> 16), htons((uint16_t)key), &v, arg))
			return 0;
		if (lerr < 0 && lerr != -ENOENT)
			return lerr;
		err = nerr;
		key = next;
	}
	return err == -ENOENT ? 0 : err;
}

/* flows */

/* The key as the filter builds it: padding zero. */
static struct steer_flow flow_key(const struct steer_flow *k)
{
	struct steer_flow f;

	memset(&f, 0, sizeof(f));
	f.raddr = k->raddr;
	f.rport = k->rport;
	f.lport = k->lport;
	f.proto = k->proto;
	return f;
}

int steer_flow_add(struct steer *s, const struct steer_flow *k, uint16_t member)
{
	struct steer_flow f = flow_key(k);

	if (member == 0)
		return -EINVAL;
	return bpf_map_update_elem(s->fd[STEER_MAP_FLOWS], &f, &member, BPF_ANY);
}

int steer_flow_del(struct steer *s, const struct steer_flow *k)
{
	struct steer_flow f = flow_key(k);

	return bpf_map_delete_elem(s->fd[STEER_MAP_FLOWS], &f);
}

int steer_flow_get(struct steer *s, const struct steer_flow *k, uint16_t *member)
{
	struct steer_flow f = flow_key(k);

	return bpf_map_lookup_elem(s->fd[STEER_MAP_FLOWS], &f, member);
}

int steer_flow_sweep(struct steer *s, bool (*dead)(uint16_t member, void *arg), void *arg)
{
	int fd = s->fd[STEER_MAP_FLOWS];
	struct steer_flow key, next;
	int err, n = 0;
	uint16_t m;

	err = bpf_map_get_next_key(fd, NULL, &key);
	for (unsigned i = 0; err == 0 && i < WALK_MAX(STEER_FLOWS_MAX); i++) {
		int lerr = bpf_map_lookup_elem(fd, &key, &m);

		err = bpf_map_get_next_key(fd, &key, &next);
		if (lerr == 0 && dead(m, arg) && bpf_map_delete_elem(fd, &key) == 0)
			n++;
		key = next;
	}
	if (err < 0 && err != -ENOENT)
		return err;
	if (n)
		log_debug(host, "steer: %d flows of dead members deleted", n);
	return n;
}

int steer_set_default(struct steer *s, uint16_t member)
{
	struct steer_conf c;
	uint32_t key = 0;
	int err;

	err = bpf_map_lookup_elem(s->fd[STEER_MAP_CONF], &key, &c);
	if (err < 0)
		return err;
	c.default_member = member;
	return bpf_map_update_elem(s->fd[STEER_MAP_CONF], &key, &c, BPF_ANY);
}

uint16_t steer_pick(const struct steer_port *v, uint32_t raddr, uint16_t rport)
{
	uint32_t n = v->nactive;

	if (n == 0)
		return 0;
	if (n > STEER_HOLDERS)
		n = STEER_HOLDERS;
	return v->active[steer_hash_index(steer_hash(raddr, rport), n)];
}

int steer_flow_takeover(struct steer *s, uint16_t to, bool (*dead)(uint16_t member, void *arg),
			bool (*take)(const struct steer_flow *k, void *arg), void *arg)
{
	int fd = s->fd[STEER_MAP_FLOWS];
	struct steer_flow key, next;
	int err, n = 0;
	uint16_t m;

	if (to == 0)
		return -EINVAL;
	err = bpf_map_get_next_key(fd, NULL, &key);
	for (unsigned i = 0; err == 0 && i < WALK_MAX(STEER_FLOWS_MAX); i++) {
		int lerr = bpf_map_lookup_elem(fd, &key, &m);

		/* The next key first: the entry is rewritten or deleted
		 * below. A rewritten one may come round again, now naming
		 * `to`, which dead() does not call gone. */
		err = bpf_map_get_next_key(fd, &key, &next);
		if (lerr == 0 && m != to && dead(m, arg)) {
			if (take(&key, arg) &&
			    bpf_map_update_elem(fd, &key, &to, BPF_EXIST) == 0)
				n++;
			else
				bpf_map_delete_elem(fd, &key);
		}
		key = next;
	}
	if (err < 0 && err != -ENOENT)
		return err;
	if (n)
		log_debug(host, "steer: %d flows of dead members taken by member %u", n, to);
	return n;
}
