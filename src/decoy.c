/*
 * decoy.c -- entry point of the decoy command-line tool.
 */
#include "config.h"

#include <unistd.h>

#include "cli.h"
#include "log.h"

int
main(int argc, char **argv)
{
	log_init("decoy", LOG_LEVEL_INFO);
	return cli_main(argc, argv);
}
