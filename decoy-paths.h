/* Generated from the configured paths. */
#define DECOY_SYSCONFDIR "/usr/local/etc"
#define DECOY_DATADIR "/usr/local/share/decoy"
