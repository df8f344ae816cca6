/*
 * acl_catalog: a small command catalog for the ACL module's tests (test_acl) and its fuzz
 * target (fuzz_acl): plain commands, a container with subcommands, one dangerous command
 * that only its name can grant.
 */
#ifndef FUZZ_ACL_CATALOG_H
#define FUZZ_ACL_CATALOG_H

#include "access/acl.h"

static const acl_cmd catalog[] = {
    {"get", -1, ACL_CAT(READ) | ACL_CAT(STRING) | ACL_CAT(FAST), 0},
    {"set", -1, ACL_CAT(WRITE) | ACL_CAT(STRING) | ACL_CAT(SLOW), 0},
    {"config", -1, ACL_CAT(SLOW), 0},
    {"config|get", 2, ACL_CAT(ADMIN) | ACL_CAT(DANGEROUS), 0},
    {"config|set", 2, ACL_CAT(ADMIN) | ACL_CAT(DANGEROUS), 0},
    {"keys", -1, ACL_CAT(READ) | ACL_CAT(KEYSPACE) | ACL_CAT(DANGEROUS), 1},
};
#define NCAT (sizeof catalog / sizeof catalog[0])

#endif
