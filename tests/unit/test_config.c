/*
 * test_config.c - the MTCP_* environment (stack/base/config.[ch]) at unit
 * level: defaults, every variable's valid and invalid values, and the
 * rule that an invalid value's message names its variable (tests/
 * integration/config.sh checks the same end to end through mtcp-echo).
 *
 * Each test starts from an environment with no MTCP_* variable and every
 * log level at its default (warn).
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "config.h"
#include "log.h"

static const char *const all_vars[] = {
	"MTCP_IFACE", "MTCP_DRIVER", "MTCP_ADDR", "MTCP_GATEWAY", "MTCP_MAC", "MTCP_MTU",
	"MTCP_PCAP", "MTCP_STATS", "MTCP_LOG", "MTCP_IMPAIR", "MTCP_OFFLOAD", "MTCP_TCP_MSL",
};

static struct mtcp_config cfg;
static char err[512];

static void setup(void)
{
	for (size_t i = 0; i < sizeof(all_vars) / sizeof(all_vars[0]); i++)
		unsetenv(all_vars[i]);
	log_set_all(LOG_WARN);
	memset(&cfg, 0xa5, sizeof(cfg));       /* config_from_env must clear it */
	err[0] = 0;
}

/* The two required variables, valid. */
static void base_env(void)
{
	setenv("MTCP_IFACE", "mt0", 1);
	setenv("MTCP_ADDR", "10.61.0.2/24", 1);
}

static void set(const char *var, const char *v)
{
	ck_assert_int_eq(setenv(var, v, 1), 0);
}

/* config_from_env must succeed. */
static void expect_ok(const char *what)
{
	int rc = config_from_env(&cfg, err, sizeof(err));

	ck_assert_msg(rc == 0, "%s: config_from_env returned %d (%s), expected 0", what, rc, err);
}

/* config_from_env must fail with -EINVAL and a message that starts with
 * "var:" (and quotes the value, when quote is not NULL). */
static void expect_bad(const char *var, const char *quote)
{
	int rc = config_from_env(&cfg, err, sizeof(err));
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "%s:", var);
	ck_assert_msg(rc == -EINVAL, "%s=\"%s\": config_from_env returned %d, expected -EINVAL",
		      var, getenv(var) ? getenv(var) : "(unset)", rc);
	ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "%s=\"%s\": message \"%s\" "
		      "does not start with \"%s\"", var, getenv(var) ? getenv(var) : "(unset)",
		      err, prefix);
	if (quote)
		ck_assert_msg(strstr(err, quote) != NULL, "%s: message \"%s\" does not show "
			      "\"%s\"", var, err, quote);
}

/* ---- defaults and required variables ---------------------------------- */

START_TEST(test_minimal_environment_gives_the_documented_defaults)
{
	base_env();
	expect_ok("MTCP_IFACE and MTCP_ADDR only");
	ck_assert_str_eq(cfg.iface, "mt0");
	ck_assert_msg(cfg.addr == 0x0a3d0002u && cfg.prefix == 24, "addr %08x/%u, expected "
		      "0a3d0002/24", cfg.addr, cfg.prefix);
	ck_assert_msg(cfg.driver == MTCP_DRIVER_TAP, "default driver %d, expected tap",
		      cfg.driver);
	ck_assert_msg(cfg.gateway == 0, "default gateway %08x, expected none", cfg.gateway);
	ck_assert_msg(!cfg.has_mac, "a MAC is set without MTCP_MAC");
	ck_assert_msg(cfg.mtu == 0, "default MTU %u, expected 0 (the device's)", cfg.mtu);
	ck_assert_msg(cfg.pcap[0] == 0 && cfg.stats[0] == 0, "pcap \"%.20s\" / stats \"%.20s\" "
		      "set by default", cfg.pcap, cfg.stats);
	ck_assert_msg(!cfg.has_impair, "impairment on by default");
	ck_assert_msg(cfg.msl_us == 0, "MSL %llu by default, expected 0 (the stack's default)",
		      (unsigned long long)cfg.msl_us);
	ck_assert_msg(!cfg.no_offload, "offloads off by default");
	ck_assert_msg(cfg.seed == 0, "seed %llu from the environment, expected 0",
		      (unsigned long long)cfg.seed);
	for (int m = 0; m < LOGM__COUNT; m++)
		ck_assert_msg(mtcp_log_levels[m] == LOG_WARN, "module %d logs at %d by default, "
			      "expected warn", m, mtcp_log_levels[m]);
}
END_TEST

START_TEST(test_missing_iface_is_named)
{
	set("MTCP_ADDR", "10.61.0.2/24");
	expect_bad("MTCP_IFACE", "not set");
}
END_TEST

START_TEST(test_missing_addr_is_named)
{
	set("MTCP_IFACE", "mt0");
	expect_bad("MTCP_ADDR", "not set");
}
END_TEST

START_TEST(test_empty_value_counts_as_unset)
{
	base_env();
	set("MTCP_MTU", "");
	set("MTCP_DRIVER", "");
	set("MTCP_MAC", "");
	expect_ok("empty MTCP_MTU, MTCP_DRIVER, MTCP_MAC");
	ck_assert_uint_eq(cfg.mtu, 0);
	ck_assert(cfg.driver == MTCP_DRIVER_TAP);
	ck_assert(!cfg.has_mac);
	set("MTCP_IFACE", "");
	expect_bad("MTCP_IFACE", "not set");
}
END_TEST

/* ---- one table of invalid values: each must be refused, naming its
 * variable and quoting the value where the message does ---------------- */

struct bad_case {
	const char *var, *value;
	bool quoted;                    /* the message repeats the value */
};

static char long_path[PATH_MAX + 8];
static char long_iface[IFNAMSIZ + 4];

static const struct bad_case bad_cases[] = {
	{ "MTCP_IFACE", "abcdefghijklmnop", true },     /* 16 characters: one too many */
	{ "MTCP_IFACE", "a/b", true },
	{ "MTCP_IFACE", "mt 0", true },
	{ "MTCP_IFACE", "eth0:1", true },
	{ "MTCP_DRIVER", "bogus", true },
	{ "MTCP_DRIVER", "TAP", true },
	{ "MTCP_ADDR", "10.61.0.300/24", true },
	{ "MTCP_ADDR", "10.61.0.2/33", true },
	{ "MTCP_ADDR", "10.61.0.2/31", true },
	{ "MTCP_ADDR", "10.61.0.2/0", true },
	{ "MTCP_ADDR", "10.61.0.2", true },
	{ "MTCP_ADDR", "10.61.0.2/", true },
	{ "MTCP_ADDR", "10.61.0.2/24x", true },
	{ "MTCP_ADDR", "10.61.2/24", true },
	{ "MTCP_ADDR", "10.61.0.0/24", true },           /* the network itself */
	{ "MTCP_ADDR", "10.61.0.255/24", true },         /* its broadcast */
	{ "MTCP_ADDR", "127.0.0.2/8", true },
	{ "MTCP_ADDR", "0.1.2.3/8", true },
	{ "MTCP_ADDR", "224.0.0.5/24", true },
	{ "MTCP_ADDR", "240.0.0.5/24", true },
	{ "MTCP_GATEWAY", "10.61.0.999", true },
	{ "MTCP_GATEWAY", "10.62.0.1", true },           /* outside the subnet */
	{ "MTCP_GATEWAY", "10.61.0.2", true },           /* our own address */
	{ "MTCP_GATEWAY", "10.61.0.0", true },
	{ "MTCP_GATEWAY", "10.61.0.255", true },
	{ "MTCP_MAC", "zz", true },
	{ "MTCP_MAC", "02:61:01:00:00", true },          /* five octets */
	{ "MTCP_MAC", "02:61:01:00:00:01:02", true },    /* seven */
	{ "MTCP_MAC", "03:00:00:00:00:01", true },       /* multicast */
	{ "MTCP_MAC", "ff:ff:ff:ff:ff:ff", true },       /* broadcast */
	{ "MTCP_MAC", "00:00:00:00:00:00", true },
	{ "MTCP_MTU", "67", true },
	{ "MTCP_MTU", "9001", true },
	{ "MTCP_MTU", "1500x", true },
	{ "MTCP_MTU", "-1500", true },
	{ "MTCP_MTU", "99999999999999999999", true },
	{ "MTCP_LOG", "nonsense", true },
	{ "MTCP_LOG", "arp:loud", true },
	{ "MTCP_LOG", "bogus:debug", true },
	{ "MTCP_LOG", "debug,tcp", true },
	{ "MTCP_IMPAIR", "loss=2", true },
	{ "MTCP_IMPAIR", "nonsense=0.1", true },
	{ "MTCP_IMPAIR", "loss", true },
	{ "MTCP_IMPAIR", "loss=0.1,loss=0.2", true },
	{ "MTCP_IMPAIR", "loss=0.1,", true },
	{ "MTCP_OFFLOAD", "yes", true },
	{ "MTCP_OFFLOAD", "OFF", true },
	{ "MTCP_TCP_MSL", "0", true },
	{ "MTCP_TCP_MSL", "30s", true },
	{ "MTCP_TCP_MSL", "-1", true },
	{ "MTCP_TCP_MSL", "3601", true },
	{ "MTCP_TCP_MSL", "nan", true },
	{ "MTCP_PCAP", NULL, false },                     /* long_path */
	{ "MTCP_STATS", NULL, false },                    /* long_path */
};

#define NBAD ((int)(sizeof(bad_cases) / sizeof(bad_cases[0])))

START_TEST(test_invalid_value_is_refused_naming_the_variable)
{
	const struct bad_case *bc = &bad_cases[_i];
	const char *v = bc->value;

	memset(long_path, 'x', PATH_MAX);
	long_path[0] = '/';
	long_path[PATH_MAX] = 0;
	if (!v)
		v = long_path;
	base_env();
	set(bc->var, v);
	expect_bad(bc->var, bc->quoted ? v : NULL);
}
END_TEST

/* ---- valid values ----------------------------------------------------- */

START_TEST(test_iface_of_fifteen_characters_is_taken)
{
	memset(long_iface, 'i', IFNAMSIZ - 1);
	long_iface[IFNAMSIZ - 1] = 0;
	base_env();
	set("MTCP_IFACE", long_iface);
	expect_ok("a 15-character MTCP_IFACE");
	ck_assert_str_eq(cfg.iface, long_iface);
}
END_TEST

START_TEST(test_driver_tap_and_packet)
{
	base_env();
	set("MTCP_DRIVER", "packet");
	expect_ok("MTCP_DRIVER=packet");
	ck_assert_msg(cfg.driver == MTCP_DRIVER_PACKET, "MTCP_DRIVER=packet gave driver %d",
		      cfg.driver);
	set("MTCP_DRIVER", "tap");
	expect_ok("MTCP_DRIVER=tap");
	ck_assert_msg(cfg.driver == MTCP_DRIVER_TAP, "MTCP_DRIVER=tap gave driver %d",
		      cfg.driver);
}
END_TEST

START_TEST(test_addr_prefix_range_edges)
{
	base_env();
	set("MTCP_ADDR", "10.0.0.1/1");
	expect_ok("prefix 1");
	ck_assert_uint_eq(cfg.prefix, 1);
	set("MTCP_ADDR", "10.61.0.1/30");
	expect_ok("prefix 30");
	ck_assert_uint_eq(cfg.prefix, 30);
	ck_assert_uint_eq(cfg.addr, 0x0a3d0001u);
}
END_TEST

START_TEST(test_gateway_inside_the_subnet_is_taken)
{
	base_env();
	set("MTCP_GATEWAY", "10.61.0.254");
	expect_ok("MTCP_GATEWAY=10.61.0.254");
	ck_assert_msg(cfg.gateway == 0x0a3d00feu, "gateway %08x, expected 0a3d00fe", cfg.gateway);
}
END_TEST

START_TEST(test_gateway_is_checked_against_the_addr_prefix)
{
	/* 10.61.1.1 is outside 10.61.0.2/24 but inside 10.61.0.2/16. */
	base_env();
	set("MTCP_GATEWAY", "10.61.1.1");
	expect_bad("MTCP_GATEWAY", "10.61.1.1");
	set("MTCP_ADDR", "10.61.0.2/16");
	expect_ok("the same gateway in a /16");
	ck_assert_uint_eq(cfg.gateway, 0x0a3d0101u);
}
END_TEST

START_TEST(test_mac_is_parsed_in_either_case)
{
	static const uint8_t want[6] = { 0x02, 0xab, 0xcd, 0x0e, 0xf0, 0x01 };

	base_env();
	set("MTCP_MAC", "02:AB:cd:0e:F0:01");
	expect_ok("MTCP_MAC=02:AB:cd:0e:F0:01");
	ck_assert_msg(cfg.has_mac, "MTCP_MAC given, has_mac false");
	ck_assert_msg(memcmp(cfg.mac, want, 6) == 0, "MAC %02x:%02x:%02x:%02x:%02x:%02x, "
		      "expected 02:ab:cd:0e:f0:01", cfg.mac[0], cfg.mac[1], cfg.mac[2],
		      cfg.mac[3], cfg.mac[4], cfg.mac[5]);
}
END_TEST

START_TEST(test_mtu_range_edges_are_taken)
{
	base_env();
	set("MTCP_MTU", "68");
	expect_ok("MTCP_MTU=68");
	ck_assert_uint_eq(cfg.mtu, 68);
	set("MTCP_MTU", "9000");
	expect_ok("MTCP_MTU=9000");
	ck_assert_uint_eq(cfg.mtu, 9000);
	set("MTCP_MTU", "1500");
	expect_ok("MTCP_MTU=1500");
	ck_assert_uint_eq(cfg.mtu, 1500);
}
END_TEST

START_TEST(test_pcap_and_stats_paths_up_to_path_max_minus_one)
{
	memset(long_path, 'p', PATH_MAX - 1);
	long_path[0] = '/';
	long_path[PATH_MAX - 1] = 0;
	base_env();
	set("MTCP_PCAP", long_path);
	set("MTCP_STATS", "-");
	expect_ok("a PATH_MAX - 1 MTCP_PCAP, MTCP_STATS=-");
	ck_assert_msg(strcmp(cfg.pcap, long_path) == 0, "the longest MTCP_PCAP was cut");
	ck_assert_str_eq(cfg.stats, "-");
	set("MTCP_STATS", long_path);
	expect_ok("a PATH_MAX - 1 MTCP_STATS");
	ck_assert_msg(strcmp(cfg.stats, long_path) == 0, "the longest MTCP_STATS was cut");
}
END_TEST

START_TEST(test_offload_on_and_off)
{
	base_env();
	set("MTCP_OFFLOAD", "off");
	expect_ok("MTCP_OFFLOAD=off");
	ck_assert_msg(cfg.no_offload, "MTCP_OFFLOAD=off left offloads on");
	set("MTCP_OFFLOAD", "on");
	expect_ok("MTCP_OFFLOAD=on");
	ck_assert_msg(!cfg.no_offload, "MTCP_OFFLOAD=on turned offloads off");
}
END_TEST

START_TEST(test_tcp_msl_takes_fractions_of_a_second)
{
	base_env();
	set("MTCP_TCP_MSL", "0.5");
	expect_ok("MTCP_TCP_MSL=0.5");
	ck_assert_msg(cfg.msl_us == 500000, "MSL 0.5 s gave %llu us", (unsigned long long)cfg.msl_us);
	set("MTCP_TCP_MSL", "0.001");
	expect_ok("MTCP_TCP_MSL=0.001");
	ck_assert_uint_eq(cfg.msl_us, 1000);
	set("MTCP_TCP_MSL", "3600");
	expect_ok("MTCP_TCP_MSL=3600");
	ck_assert_uint_eq(cfg.msl_us, 3600ull * 1000000);
}
END_TEST

START_TEST(test_impair_every_key_is_parsed)
{
	base_env();
	set("MTCP_IMPAIR", "loss=0.02,dup=0.01,reorder=0.03,corrupt=0.001,seed=7");
	expect_ok("a full MTCP_IMPAIR");
	ck_assert_msg(cfg.has_impair, "MTCP_IMPAIR given, has_impair false");
	ck_assert_msg(cfg.impair.loss == 0.02 && cfg.impair.dup == 0.01 &&
		      cfg.impair.reorder == 0.03 && cfg.impair.corrupt == 0.001 &&
		      cfg.impair.seed == 7, "impair loss %g dup %g reorder %g corrupt %g seed %llu",
		      cfg.impair.loss, cfg.impair.dup, cfg.impair.reorder, cfg.impair.corrupt,
		      (unsigned long long)cfg.impair.seed);
}
END_TEST

START_TEST(test_impair_unset_keys_are_zero_and_seed_defaults_to_one)
{
	base_env();
	set("MTCP_IMPAIR", "dup=0.5");
	expect_ok("MTCP_IMPAIR=dup=0.5");
	ck_assert_msg(cfg.impair.dup == 0.5 && cfg.impair.loss == 0 && cfg.impair.reorder == 0 &&
		      cfg.impair.corrupt == 0, "impair loss %g dup %g reorder %g corrupt %g",
		      cfg.impair.loss, cfg.impair.dup, cfg.impair.reorder, cfg.impair.corrupt);
	ck_assert_msg(cfg.impair.seed == 1, "default impair seed %llu, expected 1",
		      (unsigned long long)cfg.impair.seed);
}
END_TEST

START_TEST(test_impair_message_names_the_bad_key)
{
	base_env();
	set("MTCP_IMPAIR", "loss=0.1,bogus=3");
	expect_bad("MTCP_IMPAIR", "bogus");
}
END_TEST

/* ---- MTCP_LOG --------------------------------------------------------- */

START_TEST(test_log_bare_level_sets_every_module)
{
	base_env();
	set("MTCP_LOG", "debug");
	expect_ok("MTCP_LOG=debug");
	for (int m = 0; m < LOGM__COUNT; m++)
		ck_assert_msg(mtcp_log_levels[m] == LOG_DEBUG, "MTCP_LOG=debug: module %d at "
			      "level %d", m, mtcp_log_levels[m]);
}
END_TEST

START_TEST(test_log_per_module_levels_override_the_default)
{
	base_env();
	set("MTCP_LOG", "error,arp:debug,tcp:info");
	expect_ok("MTCP_LOG=error,arp:debug,tcp:info");
	ck_assert_msg(mtcp_log_levels[LOGM_arp] == LOG_DEBUG, "arp at %d, expected debug",
		      mtcp_log_levels[LOGM_arp]);
	ck_assert_msg(mtcp_log_levels[LOGM_tcp] == LOG_INFO, "tcp at %d, expected info",
		      mtcp_log_levels[LOGM_tcp]);
	ck_assert_msg(mtcp_log_levels[LOGM_ip] == LOG_ERROR, "ip at %d, expected error",
		      mtcp_log_levels[LOGM_ip]);
	ck_assert(log_enabled(arp, LOG_DEBUG));
	ck_assert(!log_enabled(tcp, LOG_DEBUG));
	ck_assert(!log_enabled(udp, LOG_WARN));
}
END_TEST

START_TEST(test_log_later_items_win)
{
	base_env();
	/* A module given before the bare level is overridden by it. */
	set("MTCP_LOG", "tcp:debug,info");
	expect_ok("MTCP_LOG=tcp:debug,info");
	ck_assert_msg(mtcp_log_levels[LOGM_tcp] == LOG_INFO, "tcp at %d after tcp:debug,info, "
		      "expected info", mtcp_log_levels[LOGM_tcp]);
}
END_TEST

START_TEST(test_log_invalid_spec_changes_no_level)
{
	base_env();
	set("MTCP_LOG", "tcp:debug,arp:loud");
	expect_bad("MTCP_LOG", "arp:loud");
	for (int m = 0; m < LOGM__COUNT; m++)
		ck_assert_msg(mtcp_log_levels[m] == LOG_WARN, "a refused MTCP_LOG changed module "
			      "%d to %d", m, mtcp_log_levels[m]);
}
END_TEST

START_TEST(test_log_is_checked_before_the_other_variables)
{
	/* MTCP_LOG is applied first, so the error about a missing MTCP_IFACE
	 * can be logged at the level asked for. */
	set("MTCP_LOG", "info");
	expect_bad("MTCP_IFACE", NULL);
	ck_assert_uint_eq(mtcp_log_levels[LOGM_core], LOG_INFO);
}
END_TEST

/* ---- the parsers exposed for tests ------------------------------------ */

START_TEST(test_parse_ipv4_wants_a_strict_dotted_quad)
{
	uint32_t a = 0;

	ck_assert_int_eq(config_parse_ipv4("192.168.1.20", &a), 0);
	ck_assert_msg(a == 0xc0a80114u, "192.168.1.20 parsed as %08x", a);
	static const char *const bad[] = { "192.168.1", "192.168.1.256", "1.2.3.4.5", "a.b.c.d",
					   " 1.2.3.4", "1.2.3.4 ", "", "0x1.2.3.4" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(config_parse_ipv4(bad[i], &a) == -EINVAL,
			      "config_parse_ipv4 took \"%s\"", bad[i]);
}
END_TEST

START_TEST(test_parse_addr_reports_into_a_short_buffer)
{
	uint32_t a;
	uint8_t p;
	char small[10];

	ck_assert_int_eq(config_parse_addr("10.1.2.3/8", &a, &p, small, sizeof(small)), 0);
	ck_assert_msg(a == 0x0a010203u && p == 8, "10.1.2.3/8 parsed as %08x/%u", a, p);
	ck_assert_int_eq(config_parse_addr("10.1.2.3/99", &a, &p, small, sizeof(small)),
			 -EINVAL);
	ck_assert_msg(strlen(small) == sizeof(small) - 1 && strncmp(small, "MTCP_ADDR", 9) == 0,
		      "message cut to \"%s\", expected the first %zu characters of it", small,
		      sizeof(small) - 1);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("env");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, test_minimal_environment_gives_the_documented_defaults);
	tcase_add_test(tc, test_missing_iface_is_named);
	tcase_add_test(tc, test_missing_addr_is_named);
	tcase_add_test(tc, test_empty_value_counts_as_unset);
	tcase_add_loop_test(tc, test_invalid_value_is_refused_naming_the_variable, 0, NBAD);
	tcase_add_test(tc, test_iface_of_fifteen_characters_is_taken);
	tcase_add_test(tc, test_driver_tap_and_packet);
	tcase_add_test(tc, test_addr_prefix_range_edges);
	tcase_add_test(tc, test_gateway_inside_the_subnet_is_taken);
	tcase_add_test(tc, test_gateway_is_checked_against_the_addr_prefix);
	tcase_add_test(tc, test_mac_is_parsed_in_either_case);
	tcase_add_test(tc, test_mtu_range_edges_are_taken);
	tcase_add_test(tc, test_pcap_and_stats_paths_up_to_path_max_minus_one);
	tcase_add_test(tc, test_offload_on_and_off);
	tcase_add_test(tc, test_tcp_msl_takes_fractions_of_a_second);
	tcase_add_test(tc, test_impair_every_key_is_parsed);
	tcase_add_test(tc, test_impair_unset_keys_are_zero_and_seed_defaults_to_one);
	tcase_add_test(tc, test_impair_message_names_the_bad_key);
	tcase_add_test(tc, test_log_bare_level_sets_every_module);
	tcase_add_test(tc, test_log_per_module_levels_override_the_default);
	tcase_add_test(tc, test_log_later_items_win);
	tcase_add_test(tc, test_log_invalid_spec_changes_no_level);
	tcase_add_test(tc, test_log_is_checked_before_the_other_variables);
	tcase_add_test(tc, test_parse_ipv4_wants_a_strict_dotted_quad);
	tcase_add_test(tc, test_parse_addr_reports_into_a_short_buffer);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(config_suite)
