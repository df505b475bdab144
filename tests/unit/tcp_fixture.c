/* tcp_fixture.c - TCP connections in a known state (tcp_fixture.h). */
#include <check.h>
#include <string.h>

#include "socket.h"
#include "tcp_fixture.h"

struct tcp_opts tf_syn_opts(struct tf_opts o)
{
	struct tcp_opts r = { .has_mss = true, .mss = o.mss ? o.mss : 1460 };

	r.has_ts = o.ts;
	r.sack_permitted = o.sack;
	if (o.ws) {
		r.has_wscale = true;
		r.wscale = o.wscale;
	}
	return r;
}

int tf_state(const struct mtcp_sock *s)
{
	return s->tp ? (int)s->tp->t_state : TCPS_CLOSED;
}

const char *tf_state_name(int state)
{
	return state >= TCPS_CLOSED && state <= TCPS_TIME_WAIT ? tcp_state_names[state] : "?";
}

int tf_linux_state(struct mtcp_sock *s)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	ck_assert_int_eq(mtcp_getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	if (s->tp && s->tp->t_state == TCPS_TIME_WAIT) {
		ck_assert_msg(ti.tcpi_state == TCP_CLOSE, "TCP_INFO in TIME-WAIT says %s, "
			      "expected CLOSE", tf_linux_state_name(ti.tcpi_state));
		return TCP_TIME_WAIT;
	}
	return ti.tcpi_state;
}

const char *tf_linux_state_name(int st)
{
	static const char *const n[] = {
		"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
		"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
	};

	return st >= 0 && st <= TCP_CLOSING ? n[st] : "?";
}

/* ---- opening ---------------------------------------------------------- */

struct mtcp_sock *tf_accept(struct harness *h, struct mtcp_sock *l, struct h_conn *c,
			    uint16_t sport, uint16_t dport, uint32_t iss,
			    const struct tcp_opts *o, uint64_t rtt)
{
	h_conn_init(c, sport, dport, iss, o);
	h_conn_send(h, c, TH_SYN, NULL, 0);
	h_conn_expect_synack(h, c);
	if (rtt)
		h_advance(h, rtt);
	h_conn_send(h, c, TH_ACK, NULL, 0);
	h_expect_none(h);
	struct mtcp_sock *s = h_tcp_accept(h, l);
	h_expect_none(h);
	return s;
}

void tf_conn_from_syn(struct h_conn *c, const struct frame *syn, uint32_t iss,
		      const struct tcp_opts *o)
{
	h_conn_init(c, syn->tcp.dport, syn->tcp.sport, iss, o);
	c->irs = syn->tcp.seq;
	c->rcv_nxt = c->irs + 1;
	c->stack_opts = syn->tcp.opt;
}

struct mtcp_sock *tf_connect(struct harness *h, struct h_conn *c, uint16_t lport,
			     uint16_t rport, uint32_t iss, const struct tcp_opts *o,
			     uint64_t rtt)
{
	static struct frame syn;
	struct mtcp_sock *s = h_tcp_connect(h, lport, rport);

	ck_assert_msg(h_next_tcp(h, &syn), "no SYN after connect");
	if (rtt)
		h_advance(h, rtt);
	h_conn_from_syn(h, c, &syn, iss, o);
	h_conn_expect(h, c, TH_ACK, 0);
	return s;
}

const struct frame *tf_simultaneous_syn(struct harness *h, struct h_conn *c)
{
	c->rcv_nxt = c->irs;            /* the SYN-ACK repeats the SYN */
	h_conn_send(h, c, TH_SYN, NULL, 0);
	/* RFC 9293 3.10.7.3 / figure 7: SYN-ACK from the same ISS. */
	return h_conn_expect(h, c, TH_SYN | TH_ACK, 0);
}

/* ---- closing ---------------------------------------------------------- */

/* The stack sends its FIN: from shutdown, or from close (orphan). */
static void stack_fin(struct harness *h, struct h_conn *c, struct mtcp_sock *s, bool orphan)
{
	if (orphan)
		mtcp_close(s);
	else
		ck_assert_int_eq(mtcp_shutdown(s, SHUT_WR), 0);
	h_conn_expect(h, c, TH_FIN | TH_ACK, 0);
}

void tf_drive(struct harness *h, struct h_conn *c, struct mtcp_sock *s, int state, bool orphan)
{
	tf_assert_state(s, TCPS_ESTABLISHED);
	if (orphan)
		mtcp_sock_hold(s);      /* to assert the state after the close */

	switch (state) {
	case TCPS_ESTABLISHED:
		break;
	case TCPS_FIN_WAIT_1:
		stack_fin(h, c, s, orphan);
		break;
	case TCPS_FIN_WAIT_2:
	case TCPS_TIME_WAIT:
		stack_fin(h, c, s, orphan);
		h_conn_send(h, c, TH_ACK, NULL, 0);
		h_expect_none(h);
		if (state == TCPS_FIN_WAIT_2)
			break;
		h_conn_send(h, c, TH_FIN | TH_ACK, NULL, 0);
		h_conn_expect(h, c, TH_ACK, 0);
		h_expect_none(h);
		break;
	case TCPS_CLOSING:
		stack_fin(h, c, s, orphan);
		/* The peer's FIN crosses ours: it does not acknowledge ours. */
		c->rcv_nxt--;
		h_conn_send(h, c, TH_FIN | TH_ACK, NULL, 0);
		c->rcv_nxt++;
		h_conn_expect(h, c, TH_ACK, 0);
		h_expect_none(h);
		break;
	case TCPS_CLOSE_WAIT:
	case TCPS_LAST_ACK:
		h_conn_send(h, c, TH_FIN | TH_ACK, NULL, 0);
		/* RFC 9293 3.10.7.4 eighth: ACK the FIN. */
		h_conn_expect(h, c, TH_ACK, 0);
		h_expect_none(h);
		if (state == TCPS_LAST_ACK)
			stack_fin(h, c, s, orphan);
		break;
	default:
		ck_abort_msg("tf_drive: cannot drive an established connection to %s",
			     tf_state_name(state));
	}
	tf_assert_state(s, state);
	if (orphan)
		mtcp_sock_put(s);
}

/* ---- whole connections ------------------------------------------------ */

void tf_set_state(struct harness *h, struct tf_conn *t, const struct tf_params *p, int state)
{
	struct tcp_opts o = tf_syn_opts(p->opts);
	uint16_t sport = p->sport ? p->sport : TF_PEER_PORT;
	uint16_t dport = p->dport ? p->dport : TF_OUR_PORT;
	uint32_t iss = p->iss ? p->iss : TF_PEER_ISS;

	memset(t, 0, sizeof(*t));
	if (p->active) {
		/* The stack connects from dport (0: ephemeral) to the peer's
		 * sport. */
		if (state == TCPS_SYN_SENT || state == TCPS_SYN_RECEIVED) {
			static struct frame syn;
			t->s = h_tcp_connect(h, p->dport, sport);
			ck_assert_msg(h_next_tcp(h, &syn), "no SYN after connect");
			tf_conn_from_syn(&t->c, &syn, iss, &o);
			if (state == TCPS_SYN_RECEIVED)
				tf_simultaneous_syn(h, &t->c);
			h_expect_none(h);
			tf_assert_state(t->s, state);
			return;
		}
		t->s = tf_connect(h, &t->c, p->dport, sport, iss, &o, p->rtt);
	} else {
		ck_assert_msg(state != TCPS_SYN_SENT, "tf_set_state: SYN-SENT needs an active open");
		t->l = h_tcp_listen(h, dport, p->backlog ? p->backlog : 8);
		if (state == TCPS_SYN_RECEIVED) {
			unsigned before = h_tcp_pcbs(h);
			h_conn_init(&t->c, sport, dport, iss, &o);
			h_conn_send(h, &t->c, TH_SYN, NULL, 0);
			h_conn_expect_synack(h, &t->c);
			h_expect_none(h);
			ck_assert_msg(h_tcp_pcbs(h) == before + 1, "the listener's SYN-ACK left %u "
				      "control blocks, expected %u (a SYN-RECEIVED child)",
				      h_tcp_pcbs(h), before + 1);
			return;
		}
		t->s = tf_accept(h, t->l, &t->c, sport, dport, iss, &o, p->rtt);
	}
	tf_drive(h, &t->c, t->s, state, p->orphan);
	if (p->orphan && state != TCPS_ESTABLISHED && state != TCPS_CLOSE_WAIT)
		t->s = NULL;            /* closed by tf_drive: the stack's now */
}

void tf_open(struct harness *h, struct tf_conn *t, const struct tf_params *p)
{
	tf_set_state(h, t, p, TCPS_ESTABLISHED);
}

void tf_abort(struct harness *h, struct tf_conn *t)
{
	if (t->s)
		h_tcp_abort(h, t->s);
	if (t->l)
		h_tcp_abort(h, t->l);
	t->s = t->l = NULL;
	h_drain(h);
}
