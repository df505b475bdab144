/*
 * test_timer.c - the timer heap (stack/base/timer.[ch]): arming, moving,
 * cancelling, firing order, timer_next, callbacks that re-arm or cancel,
 * and a seeded run of random operations checked against a reference
 * model (a plain array of deadlines) and the heap property itself.
 *
 * The heap is used on its own: timer_run's stack argument is handed to
 * the callbacks untouched, so these tests pass NULL.
 */
#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "check_main.h"
#include "clock.h"
#include "timer.h"

/* A timer embedded in an object, as the stack embeds them. */
struct obj {
	struct timer t;
	int id;
	unsigned fired;                 /* times its callback ran */
	uint64_t rearm_delta;           /* its callback re-arms it this much later (0: no) */
	struct obj *victim;             /* its callback cancels this one (NULL: none) */
	bool free_self;                 /* its callback frees the object */
};

#define OBJ_OF(tp) ((struct obj *)((char *)(tp) - offsetof(struct obj, t)))

static struct timer_heap heap;

/* The order callbacks ran in (ids), and what the clock said. */
#define LOG_MAX 4096
static int fire_log[LOG_MAX];
static uint64_t fire_expires[LOG_MAX];
static unsigned nfired;

static void on_fire(struct stack *st, struct timer *t)
{
	struct obj *o = OBJ_OF(t);

	(void)st;
	ck_assert_msg(!timer_armed(t), "timer %d still armed inside its own callback", o->id);
	if (nfired < LOG_MAX) {
		fire_log[nfired] = o->id;
		fire_expires[nfired] = t->expires;
	}
	nfired++;
	o->fired++;
	if (o->victim)
		timer_cancel(&heap, &o->victim->t);
	if (o->rearm_delta)
		ck_assert_int_eq(timer_arm(&heap, t, t->expires + o->rearm_delta), 0);
	if (o->free_self)
		free(o);
}

static void setup(void)
{
	heap = (struct timer_heap){ 0 };
	nfired = 0;
}

static void teardown(void)
{
	timer_heap_free(&heap);
}

static void obj_init(struct obj *o, int id)
{
	*o = (struct obj){ .id = id };
	timer_init(&o->t, on_fire);
}

static void arm(struct obj *o, uint64_t at)
{
	ck_assert_msg(timer_arm(&heap, &o->t, at) == 0, "arming timer %d at %llu failed", o->id,
		      (unsigned long long)at);
}

/* Check's ck_assert_msg records a mark on every pass (a write to its
 * pipe); the heap and model checks below test millions of facts, so they
 * test first and call into Check only to fail. */
#define model_check(cond, ...) do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)

/* The heap's shape: every timer knows its slot, no child is earlier than
 * its parent. */
static void assert_heap_ok(const char *when)
{
	for (size_t i = 0; i < heap.n; i++) {
		model_check(heap.v[i]->index == i, "%s: slot %zu holds a timer that says it "
			      "is at %zu", when, i, heap.v[i]->index);
		if (i > 0) {
			size_t p = (i - 1) / 2;
			model_check(heap.v[p]->expires <= heap.v[i]->expires,
				      "%s: heap order broken: slot %zu expires %llu, its parent "
				      "(slot %zu) %llu", when, i,
				      (unsigned long long)heap.v[i]->expires, p,
				      (unsigned long long)heap.v[p]->expires);
		}
	}
}

START_TEST(test_new_timer_is_idle_and_empty_heap_says_never)
{
	struct obj a;

	obj_init(&a, 1);
	ck_assert_msg(!timer_armed(&a.t), "a fresh timer says it is armed");
	ck_assert_msg(timer_next(&heap) == TIME_NEVER, "empty heap: next %llu, expected "
		      "TIME_NEVER", (unsigned long long)timer_next(&heap));
	ck_assert_uint_eq(timer_run(NULL, &heap, TIME_NEVER - 1), 0);
	/* Cancelling an idle timer does nothing. */
	timer_cancel(&heap, &a.t);
	ck_assert(!timer_armed(&a.t));
	ck_assert_uint_eq(heap.n, 0);
}
END_TEST

START_TEST(test_armed_timer_fires_at_its_deadline_not_before)
{
	struct obj a;

	obj_init(&a, 1);
	arm(&a, 100);
	ck_assert_msg(timer_armed(&a.t), "armed timer says it is idle");
	ck_assert_uint_eq(timer_next(&heap), 100);
	ck_assert_msg(timer_run(NULL, &heap, 99) == 0 && a.fired == 0,
		      "timer due at 100 ran at 99");
	ck_assert_uint_eq(timer_run(NULL, &heap, 100), 1);
	ck_assert_msg(a.fired == 1, "timer due at 100 ran %u times at 100", a.fired);
	ck_assert_msg(!timer_armed(&a.t), "a one-shot timer is still armed after firing");
	ck_assert_uint_eq(timer_next(&heap), TIME_NEVER);
	ck_assert_uint_eq(timer_run(NULL, &heap, 1000), 0);
	ck_assert_uint_eq(a.fired, 1);
}
END_TEST

START_TEST(test_late_run_fires_every_overdue_timer_once)
{
	struct obj a, b;

	obj_init(&a, 1);
	obj_init(&b, 2);
	arm(&a, 10);
	arm(&b, 20);
	ck_assert_uint_eq(timer_run(NULL, &heap, 5000), 2);
	ck_assert_msg(a.fired == 1 && b.fired == 1, "fired a %u, b %u times; expected once each",
		      a.fired, b.fired);
}
END_TEST

START_TEST(test_rearming_earlier_moves_the_timer_without_duplicating_it)
{
	struct obj a, b;

	obj_init(&a, 1);
	obj_init(&b, 2);
	arm(&a, 100);
	arm(&b, 200);
	arm(&b, 50);
	ck_assert_msg(heap.n == 2, "re-arming an armed timer left %zu entries, expected 2",
		      heap.n);
	ck_assert_uint_eq(timer_next(&heap), 50);
	assert_heap_ok("after re-arming earlier");
	ck_assert_uint_eq(timer_run(NULL, &heap, 60), 1);
	ck_assert_msg(b.fired == 1 && a.fired == 0, "at 60: a fired %u, b %u; expected b only",
		      a.fired, b.fired);
	ck_assert_uint_eq(timer_run(NULL, &heap, 200), 1);
	ck_assert_uint_eq(b.fired, 1);
	ck_assert_uint_eq(a.fired, 1);
}
END_TEST

START_TEST(test_rearming_later_postpones_the_timer)
{
	struct obj a, b;

	obj_init(&a, 1);
	obj_init(&b, 2);
	arm(&a, 100);
	arm(&b, 200);
	arm(&a, 300);
	ck_assert_uint_eq(heap.n, 2);
	ck_assert_msg(timer_next(&heap) == 200, "next %llu after postponing the earliest to 300, "
		      "expected 200", (unsigned long long)timer_next(&heap));
	assert_heap_ok("after re-arming later");
	ck_assert_uint_eq(timer_run(NULL, &heap, 299), 1);
	ck_assert_msg(a.fired == 0, "postponed timer fired at its old deadline");
	ck_assert_uint_eq(timer_run(NULL, &heap, 300), 1);
	ck_assert_msg(nfired == 2 && fire_log[0] == 2 && fire_log[1] == 1,
		      "firing order %d,%d; expected 2,1", fire_log[0], fire_log[1]);
}
END_TEST

START_TEST(test_rearming_at_same_deadline_keeps_one_entry)
{
	struct obj a;

	obj_init(&a, 1);
	arm(&a, 100);
	arm(&a, 100);
	ck_assert_uint_eq(heap.n, 1);
	ck_assert_uint_eq(timer_run(NULL, &heap, 100), 1);
	ck_assert_uint_eq(a.fired, 1);
}
END_TEST

START_TEST(test_cancel_removes_only_that_timer)
{
	struct obj o[5];

	for (int i = 0; i < 5; i++) {
		obj_init(&o[i], i);
		arm(&o[i], 100 + 10 * (uint64_t)i);
	}
	timer_cancel(&heap, &o[2].t);
	ck_assert_msg(!timer_armed(&o[2].t), "cancelled timer still armed");
	ck_assert_uint_eq(heap.n, 4);
	assert_heap_ok("after cancelling a middle timer");
	timer_cancel(&heap, &o[2].t);          /* twice: nothing */
	ck_assert_uint_eq(heap.n, 4);
	timer_cancel(&heap, &o[0].t);          /* the earliest */
	ck_assert_msg(timer_next(&heap) == 110, "next %llu after cancelling the earliest, "
		      "expected 110", (unsigned long long)timer_next(&heap));
	assert_heap_ok("after cancelling the root");
	ck_assert_uint_eq(timer_run(NULL, &heap, 1000), 3);
	ck_assert_msg(o[0].fired == 0 && o[2].fired == 0, "a cancelled timer fired");
	ck_assert_msg(o[1].fired == 1 && o[3].fired == 1 && o[4].fired == 1,
		      "a timer that was not cancelled did not fire");
}
END_TEST

START_TEST(test_cancelling_the_last_slot_and_the_only_timer)
{
	struct obj a, b;

	obj_init(&a, 1);
	obj_init(&b, 2);
	arm(&a, 10);
	arm(&b, 20);                    /* goes to the last slot */
	ck_assert_uint_eq(b.t.index, 1);
	timer_cancel(&heap, &b.t);
	ck_assert_uint_eq(heap.n, 1);
	ck_assert_uint_eq(timer_next(&heap), 10);
	timer_cancel(&heap, &a.t);
	ck_assert_uint_eq(heap.n, 0);
	ck_assert_uint_eq(timer_next(&heap), TIME_NEVER);
	ck_assert_uint_eq(timer_run(NULL, &heap, 100), 0);
}
END_TEST

START_TEST(test_timers_fire_in_deadline_order)
{
	static const uint64_t at[] = { 70, 10, 90, 30, 50, 20, 80, 60, 40, 100 };
	struct obj o[10];

	for (int i = 0; i < 10; i++) {
		obj_init(&o[i], (int)at[i]);
		arm(&o[i], at[i]);
	}
	/* One run at a time past every deadline: still in deadline order. */
	ck_assert_uint_eq(timer_run(NULL, &heap, 1000), 10);
	for (unsigned i = 0; i < 10; i++)
		ck_assert_msg(fire_log[i] == (int)(10 * (i + 1)),
			      "firing #%u was the timer due at %d, expected the one due at %u",
			      i, fire_log[i], 10 * (i + 1));
}
END_TEST

START_TEST(test_equal_deadlines_all_fire_once_in_one_run)
{
	struct obj o[8];

	for (int i = 0; i < 8; i++) {
		obj_init(&o[i], i);
		arm(&o[i], 500);
	}
	assert_heap_ok("eight equal deadlines");
	ck_assert_uint_eq(timer_next(&heap), 500);
	ck_assert_uint_eq(timer_run(NULL, &heap, 499), 0);
	ck_assert_uint_eq(timer_run(NULL, &heap, 500), 8);
	for (int i = 0; i < 8; i++)
		ck_assert_msg(o[i].fired == 1, "timer %d of eight due together fired %u times",
			      i, o[i].fired);
}
END_TEST

START_TEST(test_timer_next_follows_arm_cancel_and_run)
{
	struct obj a, b, c;

	obj_init(&a, 1);
	obj_init(&b, 2);
	obj_init(&c, 3);
	arm(&a, 300);
	ck_assert_uint_eq(timer_next(&heap), 300);
	arm(&b, 200);
	ck_assert_uint_eq(timer_next(&heap), 200);
	arm(&c, 400);
	ck_assert_uint_eq(timer_next(&heap), 200);
	timer_cancel(&heap, &b.t);
	ck_assert_uint_eq(timer_next(&heap), 300);
	timer_run(NULL, &heap, 300);
	ck_assert_uint_eq(timer_next(&heap), 400);
	arm(&c, 0);                     /* a deadline in the past */
	ck_assert_uint_eq(timer_next(&heap), 0);
	ck_assert_uint_eq(timer_run(NULL, &heap, 1), 1);
	ck_assert_uint_eq(timer_next(&heap), TIME_NEVER);
}
END_TEST

START_TEST(test_timer_rearmed_from_its_own_callback_fires_again_later)
{
	struct obj a;

	obj_init(&a, 1);
	a.rearm_delta = 100;
	arm(&a, 100);
	ck_assert_uint_eq(timer_run(NULL, &heap, 100), 1);
	ck_assert_msg(timer_armed(&a.t), "the timer re-armed by its callback is idle");
	ck_assert_msg(timer_next(&heap) == 200, "re-armed to 200, next says %llu",
		      (unsigned long long)timer_next(&heap));
	/* Past two periods at once: it fires at 200, re-arms to 300, and 300
	 * is due too, so it runs again within the same call. */
	ck_assert_uint_eq(timer_run(NULL, &heap, 300), 2);
	ck_assert_uint_eq(a.fired, 3);
	ck_assert_uint_eq(timer_next(&heap), 400);
	a.rearm_delta = 0;
	ck_assert_uint_eq(timer_run(NULL, &heap, 400), 1);
	ck_assert(!timer_armed(&a.t));
}
END_TEST

START_TEST(test_callback_cancelling_another_due_timer_stops_it)
{
	struct obj a, b;

	obj_init(&a, 1);
	obj_init(&b, 2);
	a.victim = &b;
	arm(&a, 10);
	arm(&b, 20);
	ck_assert_uint_eq(timer_run(NULL, &heap, 100), 1);
	ck_assert_msg(b.fired == 0, "a timer cancelled by an earlier callback of the same run "
		      "still fired");
	ck_assert_uint_eq(heap.n, 0);
}
END_TEST

START_TEST(test_callback_may_free_the_object_embedding_its_timer)
{
	struct obj *a = malloc(sizeof(*a)), b;

	ck_assert_ptr_nonnull(a);
	obj_init(a, 1);
	obj_init(&b, 2);
	a->free_self = true;
	arm(a, 10);
	arm(&b, 10);
	/* ASan reports a use after free if the heap touches a afterwards. */
	ck_assert_uint_eq(timer_run(NULL, &heap, 10), 2);
	ck_assert_uint_eq(b.fired, 1);
}
END_TEST

START_TEST(test_heap_free_leaves_every_timer_idle_and_heap_reusable)
{
	struct obj o[100];

	for (int i = 0; i < 100; i++) {         /* past the first allocation (64) */
		obj_init(&o[i], i);
		arm(&o[i], (uint64_t)(1000 - i));
	}
	assert_heap_ok("100 timers");
	timer_heap_free(&heap);
	for (int i = 0; i < 100; i++)
		ck_assert_msg(!timer_armed(&o[i].t), "timer %d still armed after timer_heap_free",
			      i);
	ck_assert_msg(heap.v == NULL && heap.n == 0 && heap.cap == 0,
		      "timer_heap_free left v %p, n %zu, cap %zu", (void *)heap.v, heap.n,
		      heap.cap);
	ck_assert_uint_eq(timer_next(&heap), TIME_NEVER);
	arm(&o[5], 7);
	ck_assert_uint_eq(timer_run(NULL, &heap, 7), 1);
	ck_assert_uint_eq(o[5].fired, 1);
	ck_assert_uint_eq(o[6].fired, 0);
}
END_TEST

/* A fixed-seed xorshift: the same operations every run. */
static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

#define MODEL_N   256
#define MODEL_OPS 20000


START_TEST(test_random_operations_match_a_reference_model)
{
	static struct obj o[MODEL_N];
	/* The model: each timer's deadline, or TIME_NEVER when idle. */
	static uint64_t model[MODEL_N];
	uint64_t now = 0;

	rnd_state = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < MODEL_N; i++) {
		obj_init(&o[i], i);
		model[i] = TIME_NEVER;
	}
	for (unsigned op = 0; op < MODEL_OPS; op++) {
		unsigned k = (unsigned)(rnd() % MODEL_N);
		unsigned what = (unsigned)(rnd() % 10);

		if (what < 5) {                 /* arm or move, sometimes to a tie */
			uint64_t at = now + (what == 0 ? 50 : rnd() % 1000);
			arm(&o[k], at);
			model[k] = at;
		} else if (what < 8) {
			timer_cancel(&heap, &o[k].t);
			model[k] = TIME_NEVER;
		} else {                        /* time passes */
			now += rnd() % 200;
			unsigned before = nfired;
			uint64_t fired_before[MODEL_N];
			for (int i = 0; i < MODEL_N; i++)
				fired_before[i] = o[i].fired;
			unsigned due = 0;
			for (int i = 0; i < MODEL_N; i++)
				due += model[i] <= now;
			unsigned ran = timer_run(NULL, &heap, now);
			model_check(ran == due, "op %u: run at %llu fired %u timers, the model "
				      "has %u due", op, (unsigned long long)now, ran, due);
			for (int i = 0; i < MODEL_N; i++) {
				unsigned want = model[i] <= now;
				model_check(o[i].fired - fired_before[i] == want,
					      "op %u: timer %d (due %llu) fired %llu times at %llu, "
					      "expected %u", op, i, (unsigned long long)model[i],
					      (unsigned long long)(o[i].fired - fired_before[i]),
					      (unsigned long long)now, want);
				if (want)
					model[i] = TIME_NEVER;
			}
			for (unsigned j = before + 1; j < nfired && j < LOG_MAX; j++)
				model_check(fire_expires[j - 1] <= fire_expires[j],
					      "op %u: fired a timer due %llu before one due %llu",
					      op, (unsigned long long)fire_expires[j],
					      (unsigned long long)fire_expires[j - 1]);
			nfired = 0;             /* keep the log from filling */
		}

		uint64_t min = TIME_NEVER;
		size_t armed = 0;
		for (int i = 0; i < MODEL_N; i++) {
			model_check(timer_armed(&o[i].t) == (model[i] != TIME_NEVER),
				      "op %u: timer %d is %s, the model says %s", op, i,
				      timer_armed(&o[i].t) ? "armed" : "idle",
				      model[i] != TIME_NEVER ? "armed" : "idle");
			if (model[i] != TIME_NEVER) {
				armed++;
				model_check(o[i].t.expires == model[i], "op %u: timer %d expires "
					      "%llu, the model says %llu", op, i,
					      (unsigned long long)o[i].t.expires,
					      (unsigned long long)model[i]);
				if (model[i] < min)
					min = model[i];
			}
		}
		model_check(heap.n == armed, "op %u: heap holds %zu, the model %zu", op, heap.n,
			      armed);
		model_check(timer_next(&heap) == min, "op %u: timer_next %llu, the model's "
			      "earliest %llu", op, (unsigned long long)timer_next(&heap),
			      (unsigned long long)min);
		if (op % 64 == 0)
			assert_heap_ok("random operations");
	}
	assert_heap_ok("after random operations");
}
END_TEST

static Suite *timer_suite(void)
{
	Suite *s = suite_create("timer");
	TCase *tc = tcase_create("heap");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_new_timer_is_idle_and_empty_heap_says_never);
	tcase_add_test(tc, test_armed_timer_fires_at_its_deadline_not_before);
	tcase_add_test(tc, test_late_run_fires_every_overdue_timer_once);
	tcase_add_test(tc, test_rearming_earlier_moves_the_timer_without_duplicating_it);
	tcase_add_test(tc, test_rearming_later_postpones_the_timer);
	tcase_add_test(tc, test_rearming_at_same_deadline_keeps_one_entry);
	tcase_add_test(tc, test_cancel_removes_only_that_timer);
	tcase_add_test(tc, test_cancelling_the_last_slot_and_the_only_timer);
	tcase_add_test(tc, test_timers_fire_in_deadline_order);
	tcase_add_test(tc, test_equal_deadlines_all_fire_once_in_one_run);
	tcase_add_test(tc, test_timer_next_follows_arm_cancel_and_run);
	tcase_add_test(tc, test_timer_rearmed_from_its_own_callback_fires_again_later);
	tcase_add_test(tc, test_callback_cancelling_another_due_timer_stops_it);
	tcase_add_test(tc, test_callback_may_free_the_object_embedding_its_timer);
	tcase_add_test(tc, test_heap_free_leaves_every_timer_idle_and_heap_reusable);
	tcase_add_test(tc, test_random_operations_match_a_reference_model);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(timer_suite)
