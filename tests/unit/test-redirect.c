/*
 * test-redirect.c -- the transparent-mode redirect rules: port and CIDR
 * lists, and the exact rules each configuration installs (nothing is run:
 * the integration test t-transparent.sh runs iptables in a namespace).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "redirect.h"

#include "unit.h"

static void
test_ports(void)
{
	struct redirect_config	 cfg;
	char			*cause = NULL;

	redirect_config_init(&cfg);
	ASSERT_EQ(redirect_parse_ports("80,443,8000-8100,9000:9001", &cfg.ports,
	    &cfg.nports, &cause), 0);
	ASSERT_EQ(cfg.nports, 4);
	if (cfg.nports == 4) {
		ASSERT_STR_EQ(cfg.ports[0], "80");
		ASSERT_STR_EQ(cfg.ports[1], "443");
		ASSERT_STR_EQ(cfg.ports[2], "8000:8100");
		ASSERT_STR_EQ(cfg.ports[3], "9000:9001");
	}
	static const char *const bad[] = { "", "0", "65536", "80,", ",80",
	    "8100-8000", "http", "80-", "-80", "1:2:3", "123456" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		ASSERT_EQ(redirect_parse_ports(bad[i], &cfg.exclude_ports,
		    &cfg.nexclude_ports, &cause), -1);
		ASSERT(cause != NULL);
		free(cause);
	}
	ASSERT_EQ(cfg.nexclude_ports, 0);
	/* The messages name the bad item and what was expected. */
	cause = NULL;
	ASSERT_EQ(redirect_parse_ports("80,9-8,443", &cfg.exclude_ports,
	    &cfg.nexclude_ports, &cause), -1);
	ASSERT_STR_EQ(cause, "bad port or range \"9-8\" (expected 1..65535, "
	    "or LOW-HIGH)");
	free(cause);
	cause = NULL;
	ASSERT_EQ(redirect_parse_ports("", &cfg.exclude_ports,
	    &cfg.nexclude_ports, &cause), -1);
	ASSERT_STR_EQ(cause, "empty port list");
	free(cause);
	ASSERT_EQ(cfg.nexclude_ports, 0);
	redirect_config_free(&cfg);
}

static void
test_cidrs(void)
{
	struct redirect_config	 cfg;
	char			*cause = NULL;

	redirect_config_init(&cfg);
	ASSERT_EQ(redirect_parse_cidrs("10.0.0.0/8,192.168.1.7,fd00::/8,::1",
	    &cfg.exclude_cidr, &cfg.nexclude_cidr, &cause), 0);
	ASSERT_EQ(cfg.nexclude_cidr, 4);
	if (cfg.nexclude_cidr == 4) {
		ASSERT_STR_EQ(cfg.exclude_cidr[0], "10.0.0.0/8");
		ASSERT_STR_EQ(cfg.exclude_cidr[1], "192.168.1.7/32");
		ASSERT_STR_EQ(cfg.exclude_cidr[2], "fd00::/8");
		ASSERT_STR_EQ(cfg.exclude_cidr[3], "::1/128");
	}
	static const char *const bad[] = { "", "10.0.0.0/33", "fd00::/129",
	    "10.0.0/8", "10.0.0.0/", "10.0.0.0/x", "host.example/8",
	    "10.0.0.0/8,", "10.0.0.0/-1" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		ASSERT_EQ(redirect_parse_cidrs(bad[i], &cfg.exclude_cidr,
		    &cfg.nexclude_cidr, &cause), -1);
		ASSERT(cause != NULL);
		free(cause);
	}
	cause = NULL;
	ASSERT_EQ(redirect_parse_cidrs("10.0.0.0/8,::1/200", &cfg.exclude_cidr,
	    &cfg.nexclude_cidr, &cause), -1);
	ASSERT_STR_EQ(cause, "bad CIDR \"::1/200\" (expected ADDR/BITS, IPv4 "
	    "or IPv6)");
	free(cause);
	cause = NULL;
	ASSERT_EQ(redirect_parse_cidrs("", &cfg.exclude_cidr,
	    &cfg.nexclude_cidr, &cause), -1);
	ASSERT_STR_EQ(cause, "empty CIDR list");
	free(cause);
	ASSERT_EQ(cfg.nexclude_cidr, 4);
	redirect_config_free(&cfg);
}

static void
rules_eq(const struct redirect_config *cfg, int v6, int in,
    const char *want)
{
	struct buf	b;

	buf_init(&b);
	redirect_rules_text(cfg, v6, in, &b);
	buf_append_byte(&b, '\0');
	ASSERT_STR_EQ(b.data, want);
	buf_free(&b);
}

static void
test_rules(void)
{
	struct redirect_config	 cfg;
	char			*cause = NULL;

	/* --ports: the default mark, loopback left alone. */
	redirect_config_init(&cfg);
	cfg.to_port = 15001;
	redirect_parse_ports("80,8080", &cfg.ports, &cfg.nports, &cause);
	rules_eq(&cfg, 0, 0,
	    "-m mark --mark 0xdec0 -j RETURN\n"
	    "-d 127.0.0.0/8 -j RETURN\n"
	    "-p tcp --dport 80 -j REDIRECT --to-ports 15001\n"
	    "-p tcp --dport 8080 -j REDIRECT --to-ports 15001\n");
	rules_eq(&cfg, 1, 0,
	    "-m mark --mark 0xdec0 -j RETURN\n"
	    "-d ::1/128 -j RETURN\n"
	    "-p tcp --dport 80 -j REDIRECT --to-ports 15001\n"
	    "-p tcp --dport 8080 -j REDIRECT --to-ports 15001\n");
	/* --uid alone: no mark rule; --include-loopback. */
	cfg.uid = 1337;
	cfg.include_loopback = 1;
	rules_eq(&cfg, 0, 0,
	    "-m owner --uid-owner 1337 -j RETURN\n"
	    "-p tcp --dport 80 -j REDIRECT --to-ports 15001\n"
	    "-p tcp --dport 8080 -j REDIRECT --to-ports 15001\n");
	/* PREROUTING: no owner match (it does not exist there). */
	rules_eq(&cfg, 0, 1,
	    "-p tcp --dport 80 -j REDIRECT --to-ports 15001\n"
	    "-p tcp --dport 8080 -j REDIRECT --to-ports 15001\n");
	redirect_config_free(&cfg);

	/* --all with exclusions, both a uid and a mark; CIDRs per family. */
	redirect_config_init(&cfg);
	cfg.to_port = 8888;
	cfg.all = 1;
	cfg.uid = 0;
	cfg.mark = 0x10;
	cfg.has_mark = 1;
	redirect_parse_ports("22,9000-9100", &cfg.exclude_ports,
	    &cfg.nexclude_ports, &cause);
	redirect_parse_cidrs("10.0.0.0/8,fd00::/8", &cfg.exclude_cidr,
	    &cfg.nexclude_cidr, &cause);
	rules_eq(&cfg, 0, 0,
	    "-m mark --mark 0x10 -j RETURN\n"
	    "-m owner --uid-owner 0 -j RETURN\n"
	    "-d 127.0.0.0/8 -j RETURN\n"
	    "-d 10.0.0.0/8 -j RETURN\n"
	    "-p tcp --dport 22 -j RETURN\n"
	    "-p tcp --dport 9000:9100 -j RETURN\n"
	    "-p tcp -j REDIRECT --to-ports 8888\n");
	rules_eq(&cfg, 1, 1,
	    "-d ::1/128 -j RETURN\n"
	    "-d fd00::/8 -j RETURN\n"
	    "-p tcp --dport 22 -j RETURN\n"
	    "-p tcp --dport 9000:9100 -j RETURN\n"
	    "-p tcp -j REDIRECT --to-ports 8888\n");
	redirect_config_free(&cfg);
}

int
main(void)
{
	test_ports();
	test_cidrs();
	test_rules();
	UNIT_DONE();
}
