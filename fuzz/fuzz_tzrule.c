/*
 * fuzz_tzrule: libFuzzer target for tz_rule_parse, the reader of the POSIX TZ rule that
 * ends a TZif file (the alert rules' working hours), and tz_rule_offset.
 * Input: the rule text (no newline needed).
 *
 * Checked: the parser reads only the bytes it is given (the input is copied to a buffer
 * of exactly its length, so ASan sees any read past it); an accepted rule's offsets are
 * within a day and, at any time from 1900 to 2400, either its standard or its daylight
 * offset. A broken invariant aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/tzrule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size ? size : 1);
    if (!s) return 0;
    memcpy(s, data, size);
    tz_rule r;
    if (tz_rule_parse(s, size, &r) == 0) {
        if (r.std_off < -86400 || r.std_off > 86400 || r.dst_off < -90000 || r.dst_off > 90000) {
            fprintf(stderr, "fuzz_tzrule: offset out of range\n");
            abort();
        }
        for (int64_t t = -2208988800LL; t < 13569465600LL; t += 86400LL * 37 + 3607) {
            int32_t o = tz_rule_offset(&r, t);
            if (o != r.std_off && (!r.has_dst || o != r.dst_off)) {
                fprintf(stderr, "fuzz_tzrule: offset %d is neither rule's\n", (int)o);
                abort();
            }
        }
    }
    free(s);
    return 0;
}
