/*
 * test_phi_validate: the checksums and parsers behind the PHI detector, each
 * with values that must pass and near misses that must not.
 */
#include <string.h>

#include "phi/phi_internal.h"
#include "unit.h"

#define S(lit) (const uint8_t *)(lit), strlen(lit)

static size_t digits(const char *s, uint8_t *out)
{
    size_t n = 0;
    for (; *s; s++)
        if (*s >= '0' && *s <= '9') out[n++] = (uint8_t)(*s - '0');
    return n;
}

TEST(luhn)
{
    uint8_t d[32];
    size_t n = digits("4111 1111 1111 1111", d);
    CHECK(phi_luhn_ok(d, n));
    n = digits("4111 1111 1111 1112", d);
    CHECK(!phi_luhn_ok(d, n));
    n = digits("378282246310005", d); /* a published Amex test number */
    CHECK(phi_luhn_ok(d, n));
    CHECK(!phi_luhn_ok(d, 1));
}

TEST(npi)
{
    uint8_t d[16];
    size_t n = digits("1234567893", d); /* the CMS example NPI */
    CHECK(phi_npi_ok(d, n));
    n = digits("1234567890", d);
    CHECK(!phi_npi_ok(d, n));
    n = digits("3234567893", d); /* NPIs start with 1 or 2 */
    CHECK(!phi_npi_ok(d, n));
}

TEST(aba)
{
    uint8_t d[16];
    size_t n = digits("011000015", d); /* a Federal Reserve routing number */
    CHECK(phi_aba_ok(d, n));
    n = digits("123456789", d);
    CHECK(!phi_aba_ok(d, n));
    n = digits("011000016", d);
    CHECK(!phi_aba_ok(d, n));
}

TEST(dea)
{
    CHECK(phi_dea_ok(S("AB1234563")));
    CHECK(phi_dea_ok(S("F91234563"))); /* 9 for a business name */
    CHECK(!phi_dea_ok(S("AB1234567")));
    CHECK(!phi_dea_ok(S("A11234563")));
    CHECK(!phi_dea_ok(S("AB123456")));
}

TEST(vin)
{
    CHECK(phi_vin_ok(S("1HGCM82633A004352")));
    CHECK(!phi_vin_ok(S("1HGCM82633A004353"))); /* wrong check digit */
    CHECK(!phi_vin_ok(S("1HGCM82633A00435")));  /* 16 characters */
    CHECK(!phi_vin_ok(S("11111111111111111"))); /* passes the sum, not VIN-shaped */
    CHECK(!phi_vin_ok(S("1HGCM82633A0O4352"))); /* O is never used */
}

TEST(iban)
{
    CHECK(phi_iban_ok(S("GB82WEST12345698765432")));
    CHECK(!phi_iban_ok(S("GB82WEST12345698765433")));
    CHECK(phi_iban_ok(S("DE89370400440532013000")));
    CHECK(!phi_iban_ok(S("DE89")));
}

TEST(ssn)
{
    CHECK(phi_ssn_ok(S("123-45-6789")));
    CHECK(phi_ssn_ok(S("123456789")));
    CHECK(!phi_ssn_ok(S("000-12-3456"))); /* area 000 */
    CHECK(!phi_ssn_ok(S("666-12-3456"))); /* area 666 */
    CHECK(!phi_ssn_ok(S("912-12-3456"))); /* area 9xx */
    CHECK(!phi_ssn_ok(S("123-00-4567"))); /* group 00 */
    CHECK(!phi_ssn_ok(S("123-45-0000"))); /* serial 0000 */
    CHECK(!phi_ssn_ok(S("078-05-1120"))); /* the advertised wallet number */
    CHECK(!phi_ssn_ok(S("123-45-678")));
}

TEST(ip)
{
    CHECK(phi_ipv4_ok(S("192.168.1.20")));
    CHECK(!phi_ipv4_ok(S("256.1.1.1")));
    CHECK(!phi_ipv4_ok(S("01.02.03.04")));
    CHECK(phi_ipv6_ok(S("2001:db8::8a2e:370:7334")));
    CHECK(phi_ipv6_ok(S("fe80::1")));
    CHECK(!phi_ipv6_ok(S("12:30:45")));
    CHECK(!phi_ipv6_ok(S("2001:db8:::1")));
}

TEST(month_names)
{
    size_t used = 0;
    CHECK_INT(phi_month_name(S("July"), &used), 7);
    CHECK_INT(used, 4);
    CHECK_INT(phi_month_name(S("sept"), &used), 9);
    CHECK_INT(phi_month_name(S("Dec"), &used), 12);
    CHECK_INT(phi_month_name(S("Ju"), &used), 0);
    CHECK_INT(phi_month_name(S("Julyish"), &used), 0);
    /* every full name and every prefix of it (three letters and more) */
    static const char *const full[12] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};
    for (int m = 0; m < 12; m++) {
        size_t fl = strlen(full[m]);
        for (size_t n = 3; n <= fl + 1; n++) {
            char w[16];
            memcpy(w, full[m], fl);
            w[fl] = 'x';
            int want = n == fl || n == 3 || (m == 8 && n == 4) ? m + 1 : 0;
            used = 0;
            CHECK_INT(phi_month_name((const uint8_t *)w, n, &used), want);
            if (want) CHECK_INT(used, n);
        }
    }
}

TEST(date_parse)
{
    phi_date d;
    CHECK_INT(phi_date_parse(S("07/22/2021"), &d), 0);
    CHECK(d.y == 2021 && d.m == 7 && d.d == 22 && d.order == PHI_DO_MDY && d.pad);
    CHECK_INT(phi_date_parse(S("2021-07-22"), &d), 0);
    CHECK(d.y == 2021 && d.m == 7 && d.d == 22 && d.order == PHI_DO_YMD && d.sep == '-');
    CHECK_INT(phi_date_parse(S("7/22"), &d), 0);
    CHECK(d.y == 0 && d.m == 7 && d.d == 22 && d.order == PHI_DO_MD);
    CHECK_INT(phi_date_parse(S("July 22nd, 2021"), &d), 0);
    CHECK(d.y == 2021 && d.m == 7 && d.d == 22 && d.ordinal && d.mstyle == 2);
    CHECK_INT(phi_date_parse(S("22-Jul-21"), &d), 0);
    CHECK(d.y == 2021 && d.m == 7 && d.d == 22 && d.order == PHI_DO_DMY && d.mstyle == 1);
    CHECK_INT(phi_date_parse(S("March 2020"), &d), 0);
    CHECK(d.y == 2020 && d.m == 3 && d.d == 0);
    CHECK_INT(phi_date_parse(S("3rd"), &d), 0);
    CHECK(d.d == 3 && d.m == 0);
    CHECK_INT(phi_date_parse(S("2000-04-16 11:34:35"), &d), 0);
    CHECK(d.y == 2000 && d.m == 4 && d.d == 16);
    CHECK_INT(phi_date_parse(S("02/30/2021"), &d), PHI_EPARSE); /* no 30th of February */
    CHECK_INT(phi_date_parse(S("13/45/2021"), &d), PHI_EPARSE);
    CHECK_INT(phi_date_parse(S("hello"), &d), PHI_EPARSE);
    CHECK_INT(phi_date_parse(S(""), &d), PHI_EPARSE);
}

TEST(civil_days)
{
    CHECK_INT(phi_days_from_civil(1970, 1, 1), 0);
    CHECK_INT(phi_days_from_civil(2000, 3, 1) - phi_days_from_civil(2000, 2, 28), 2); /* leap */
    int y, m, d;
    phi_civil_from_days(phi_days_from_civil(2021, 12, 31) + 1, &y, &m, &d);
    CHECK(y == 2022 && m == 1 && d == 1);
}

TEST(dict)
{
    phi_dict d;
    CHECK_INT(phi_dict_init(&d, 16), 0);
    CHECK_INT(phi_dict_add(&d, "smith", PHI_D_LAST), 0);
    CHECK_INT(phi_dict_add(&d, "smith", PHI_D_FIRST), 0);
    CHECK_INT(phi_dict_get(&d, phi_hash_word(S("SMITH"))), PHI_D_LAST | PHI_D_FIRST);
    CHECK_INT(phi_dict_get(&d, phi_hash_word(S("smyth"))), 0);
    phi_blob b = {(const uint8_t *)"alpha\nbeta\r\n# comment\n\ngamma", 28};
    CHECK_INT(phi_dict_add_lines(&d, b, PHI_D_COMMON), 0);
    CHECK_INT(phi_dict_get(&d, phi_hash_word(S("beta"))), PHI_D_COMMON);
    CHECK_INT(phi_dict_get(&d, phi_hash_word(S("gamma"))), PHI_D_COMMON);
    CHECK_INT(phi_dict_get(&d, phi_hash_word(S("# comment"))), 0);
    phi_dict_free(&d);
}

/* The byte tables: phi_lower is ASCII lower case; the classes match their definitions. */
TEST(byte_tables)
{
    int bad = 0;
    for (int c = 0; c < 256; c++) {
        int want = c >= 'A' && c <= 'Z' ? c + 32 : c;
        bad += phi_lower((uint8_t)c) != want;
        bad += phi_is_digit((uint8_t)c) != (c >= '0' && c <= '9');
        bad += phi_is_alpha((uint8_t)c) != ((c | 32) >= 'a' && (c | 32) <= 'z');
    }
    CHECK_INT(bad, 0);
}

UNIT_MAIN(T(luhn), T(npi), T(aba), T(dea), T(vin), T(iban), T(ssn), T(ip), T(month_names),
          T(date_parse), T(civil_days), T(dict), T(byte_tables))
