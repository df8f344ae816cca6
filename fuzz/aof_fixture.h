/*
 * aof_fixture: a fixed test keyring for the durable log's fuzz target and its
 * seed corpus (fuzz/corpus/aof/). The corpus holds real logs sealed with this
 * keyring's log key, so the fuzzer starts from inputs that open, and the data
 * keys must not change between runs: the keyring file is stored here as it
 * was created (once) under the master key below.
 *
 * TEST MATERIAL ONLY: the master key is public. test_aof checks that the
 * valid seeds still load with it, and rewrites the seeds when
 * PHIDB_AOF_WRITE_SEEDS names a directory.
 */
#ifndef AOF_FIXTURE_H
#define AOF_FIXTURE_H

/* The master key file's content (64 hex characters). */
static const char aof_fixture_master_key[] =
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";

/* The keyring file's content (format 1, kek kind "file", version 1 of every purpose). */
static const char aof_fixture_keyring[] =
    "{\"format\":1,\"kek\":{\"kind\":\"file\"},\"purposes\":{\"audit\":[{\"created\":1795336309,"
    "\"reserved\":"
    "0,\"retired\":false,\"version\":1,\"wrapped\":"
    "\"86e19d880ef847572b57143c58b7c6f3b7118fa972683d8"
    "0bc4bb7dcfc46bbab42cc3d59dfd329de1cbd7429c270686f8b2908470253b138152f2333\"}],\"backup\":[{"
    "\"created\":1795336309,\"reserved\":0,\"retired\":false,\"version\":1,\"wrapped\":"
    "\"d932d4846445791"
    "51f4b1a84c504f874c3d66f3dfc65cd5b13992a70d6327834d61a6298ba6d504f935d6e19b308d697b6a16d9"
    "3892c60bc583a7757\"}],\"index\":[{\"created\":1795336309,\"reserved\":0,\"retired\":false,"
    "\"versio"
    "n\":1,\"wrapped\":\"4e99608ea277cfe6adef206a61eaaf3de19a723125611a413bd733b189918ccb4211ab98"
    "9e0175b761a4717924979771801c6f76e92067f76cebd074\"}],\"log\":[{\"created\":1795336309,\"reserv"
    "ed\":0,\"retired\":false,\"version\":1,\"wrapped\":"
    "\"ce9202d7f9516659f989fb73761484f21c6925b232f"
    "86697e36b9486a8bb56766dd9d47950b690d703d08e233af13020bd4b058ce1aa45d3ae9e074b\"}],\"values"
    "\":[{\"created\":1795336309,\"reserved\":0,\"retired\":false,\"version\":1,\"wrapped\":"
    "\"12de6b68474"
    "ecc6741519711fe0740980dfd90357e88dcf517695ae0246e6a30edcbe56fd83f3b76bdf4d070977aa145531"
    "8ae45780972a0bc8441a5\"}]}}";

#endif
