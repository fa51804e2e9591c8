/*  test_country.c: the ISO 3166-1 table and name matching
    (common/country.c): every entry finds itself by name and code, the
    variants and former names documents use find the right entry, and
    country_key() groups unknown names consistently. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "country.h"

/* Codes outside today's ISO 3166-1 list that the table also knows. */
static const char *const s_extra_codes[] = {"XKX", "SCG", "YUG", "ANT",
                                            "SUN", "CSK", "DDR"};

static void
s_expect(const char *text, const char *alpha3) {
    const country_t *c = country_lookup(text);
    const char *got = c ? c->alpha3 : "(none)";
    const char *want = alpha3 ? alpha3 : "(none)";
    if (strcmp(got, want) != 0) {
        print_error("country_lookup(\"%s\") = %s, wanted %s\n",
                    text ? text : "NULL", got, want);
        fail();
    }
}

static void
test_table_complete(void **state) {
    (void)state;
    size_t n = country_count();
    assert_int_equal(n, 249 + sizeof(s_extra_codes) / sizeof(s_extra_codes[0]));
    assert_null(country_at(n));
    for (size_t i = 0; i < n; i++) {
        const country_t *c = country_at(i);
        assert_non_null(c);
        assert_int_equal(strlen(c->alpha3), 3);
        for (size_t k = 0; k < 3; k++) {
            assert_true(c->alpha3[k] >= 'A' && c->alpha3[k] <= 'Z');
        }
        assert_true(strlen(c->name) > 2);
        /* codes are unique */
        for (size_t j = i + 1; j < n; j++) {
            if (strcmp(c->alpha3, country_at(j)->alpha3) == 0) {
                print_error("%s appears twice\n", c->alpha3);
                fail();
            }
        }
    }
}

static void
test_every_entry_finds_itself(void **state) {
    (void)state;
    for (size_t i = 0; i < country_count(); i++) {
        const country_t *c = country_at(i);
        char lower[4];
        for (size_t k = 0; k < 4; k++) {
            lower[k] = (char)(c->alpha3[k] | (k < 3 ? 0x20 : 0));
        }
        if (country_lookup(c->name) != c || country_lookup(c->alpha3) != c ||
            country_lookup(lower) != c) {
            print_error("%s (%s) does not find itself\n", c->name, c->alpha3);
            fail();
        }
        char key[16];
        assert_string_equal(country_key(c->name, key, sizeof(key)), c->alpha3);
    }
}

static void
test_iso_codes_present(void **state) {
    (void)state;
    /* a sample across the alphabet, including the small territories */
    static const char *const codes[] = {
        "AFG", "ALA", "ATA", "BES", "BVT", "CCK", "CUW", "ESH", "FLK",
        "GGY", "HMD", "IOT", "JEY", "MAF", "PCN", "SGS", "SJM", "SXM",
        "UMI", "WLF", "ZWE", "PSE", "TWN", "VAT", "XKX", "SCG",
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        s_expect(codes[i], codes[i]);
    }
}

static void
test_variants(void **state) {
    (void)state;
    static const struct {
        const char *text;
        const char *alpha3;
    } cases[] = {
        {"Burma", "MMR"},
        {"Myanmar", "MMR"},
        {"BURMA", "MMR"},
        {"Ivory Coast", "CIV"},
        {"Cote D'Ivoire", "CIV"},
        {"Côte d'Ivoire", "CIV"},
        {"COTE D'IVOIRE", "CIV"},
        {"Cote d\xe2\x80\x99Ivoire", "CIV"}, /* typographic apostrophe */
        {"Russia", "RUS"},
        {"RUSSIA", "RUS"},
        {"Russian Federation", "RUS"},
        {"Congo", "COG"},
        {"Republic of the Congo", "COG"},
        {"Congo, Republic of the", "COG"},
        {"Congo (Brazzaville)", "COG"},
        {"Democratic Republic of the Congo", "COD"},
        {"Congo, Democratic Republic of the", "COD"},
        {"Congo (Kinshasa)", "COD"},
        {"DRC", "COD"},
        {"Zaire", "COD"},
        {"Korea, North", "PRK"},
        {"North Korea", "PRK"},
        {"Korea, Democratic People's Republic of", "PRK"},
        {"Korea, South", "KOR"},
        {"South Korea", "KOR"},
        {"Republic of Korea", "KOR"},
        {"Macedonia", "MKD"},
        {"North Macedonia", "MKD"},
        {"The former Yugoslav Republic of Macedonia", "MKD"},
        {"Macedonia, the former Yugoslav Republic of", "MKD"},
        {"Swaziland", "SWZ"},
        {"Eswatini", "SWZ"},
        {"Czech Republic", "CZE"},
        {"Czechia", "CZE"},
        {"Turkey", "TUR"},
        {"Türkiye", "TUR"},
        {"Turkiye", "TUR"},
        {"Cape Verde", "CPV"},
        {"Cabo Verde", "CPV"},
        {"East Timor", "TLS"},
        {"Timor-Leste", "TLS"},
        {"Holy See", "VAT"},
        {"Vatican City", "VAT"},
        {"Kosovo", "XKX"},
        {"Serbia and Montenegro", "SCG"},
        {"Serbia and Montenegro (and Kosovo)", "SCG"},
        {"Serbia", "SRB"},
        {"Montenegro", "MNE"},
        {"Yugoslavia", "YUG"},
        {"Taiwan", "TWN"},
        {"Palestine", "PSE"},
        {"Occupied Palestinian Territory", "PSE"},
        {"Sweden1", "SWE"},
        {"Sweden 2", "SWE"},
        {"Sweden*", "SWE"},
        {"Sweden\xc2\xb9", "SWE"},
        {"  Sweden  ", "SWE"},
        {"sweden", "SWE"},
        {"The Gambia", "GMB"},
        {"Gambia, The", "GMB"},
        {"Bahamas, The", "BHS"},
        {"St. Lucia", "LCA"},
        {"St Kitts & Nevis", "KNA"},
        {"Bosnia & Herzegovina", "BIH"},
        {"BOSNIA AND HERZEGOVINA", "BIH"},
        {"Saint Vincent and the Grenadines", "VCT"},
        {"Viet Nam", "VNM"},
        {"Vietnam", "VNM"},
        {"Lao PDR", "LAO"},
        {"Laos", "LAO"},
        {"Iran, Islamic Republic of", "IRN"},
        {"Syrian Arab Republic", "SYR"},
        {"United States of America", "USA"},
        {"USA", "USA"},
        {"U.S.", "USA"},
        {"United Kingdom", "GBR"},
        {"UK", "GBR"},
        {"UAE", "ARE"},
        {"U.A.E.", "ARE"},
        {"Bolivia (Plurinational State of)", "BOL"},
        {"Micronesia (Federated States of)", "FSM"},
        {"Hong Kong SAR, China", "HKG"},
        {"Curaçao", "CUW"},
        {"Réunion", "REU"},
        {"Åland Islands", "ALA"},
        {"São Tomé and Príncipe", "STP"},
        {"Sao Tome & Principe", "STP"},
        {"Guinea-Bissau", "GNB"},
        {"Guinea", "GIN"},
        {"Equatorial Guinea", "GNQ"},
        {"Papua New Guinea", "PNG"},
        {"Niger", "NER"},
        {"Nigeria", "NGA"},
        {"Sudan", "SDN"},
        {"South Sudan", "SSD"},
        {"Dominica", "DMA"},
        {"Dominican Republic", "DOM"},
        {"Kyrgyz Republic", "KGZ"},
        {"Moldova, Republic of", "MDA"},
        {"Tanzania, United Republic of", "TZA"},
        {"Venezuela, Bolivarian Republic of", "VEN"},
        {"Brunei Darussalam", "BRN"},
        {"Libyan Arab Jamahiriya", "LBY"},
        {"Netherlands Antilles", "ANT"},
        {"Soviet Union", "SUN"},
        {"Czechoslovakia", "CSK"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s_expect(cases[i].text, cases[i].alpha3);
    }
}

static void
test_unknown(void **state) {
    (void)state;
    s_expect(NULL, NULL);
    s_expect("", NULL);
    s_expect("   ", NULL);
    s_expect("Atlantis", NULL);
    s_expect("Tier 2", NULL);
    s_expect("Korea", NULL); /* which one? */
    s_expect("XYZ", NULL);
    s_expect("Swedenland", NULL);
    s_expect("\xff\xfe", NULL);
    s_expect("Sweden and Norway", NULL);
    char big[400];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    s_expect(big, NULL);
    /* "&" expands: many of them must not overflow anything */
    char amps[300];
    memset(amps, '&', sizeof(amps) - 1);
    amps[sizeof(amps) - 1] = '\0';
    s_expect(amps, NULL);
}

static void
test_country_key(void **state) {
    (void)state;
    char buf[64];
    assert_string_equal(country_key("Burma", buf, sizeof(buf)), "MMR");
    assert_string_equal(country_key("Cote D'Ivoire", buf, sizeof(buf)), "CIV");
    assert_string_equal(country_key("Atlantis", buf, sizeof(buf)), "~atlantis");
    assert_string_equal(country_key("ATLANTIS1", buf, sizeof(buf)),
                        "~atlantis");
    assert_string_equal(country_key("  New  Atlantis! ", buf, sizeof(buf)),
                        "~new atlantis");
    assert_string_equal(country_key("Ŋew Åtlantis", buf, sizeof(buf)),
                        "~new atlantis");
    assert_string_equal(country_key("", buf, sizeof(buf)), "");
    assert_string_equal(country_key(NULL, buf, sizeof(buf)), "");
    assert_string_equal(country_key("!!!", buf, sizeof(buf)), "");
    /* truncation keeps a NUL-terminated prefix */
    assert_string_equal(country_key("Burma", buf, 3), "MM");
    assert_string_equal(country_key("Atlantis", buf, 4), "~at");
    assert_string_equal(country_key("Atlantis", buf, 1), "");
    char untouched = 'x';
    assert_ptr_equal(country_key("Burma", &untouched, 0), &untouched);
    assert_int_equal(untouched, 'x');
    /* long unknown names are cut, not overflowed */
    char big[1000];
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char key[2048];
    country_key(big, key, sizeof(key));
    assert_true(key[0] == '~' && strlen(key) > 100 && strlen(key) < 1024);
}

/* A typo of a country's name suggests that country; a right name, or
   one far from every name, suggests nothing. */
static void
test_suggest(void **state) {
    (void)state;
    const char *typos[][2] = {{"Azerbijan", "AZE"},
                              {"azerbajan", "AZE"},
                              {"Swedn", "SWE"},
                              {"Ivory Cost", "CIV"},
                              {"Untied States", "USA"}};
    for (size_t i = 0; i < sizeof typos / sizeof typos[0]; i++) {
        const country_t *c = country_suggest(typos[i][0]);
        if (c == NULL || strcmp(c->alpha3, typos[i][1]) != 0) {
            print_error("country_suggest(\"%s\") = %s, wanted %s\n",
                        typos[i][0], c ? c->alpha3 : "(none)", typos[i][1]);
            fail();
        }
    }
    assert_null(country_suggest("Azerbaijan"));
    assert_null(country_suggest("Atlantis"));
    assert_null(country_suggest("xq"));
    assert_null(country_suggest(""));
    assert_null(country_suggest(NULL));
}

int
main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_complete),
        cmocka_unit_test(test_every_entry_finds_itself),
        cmocka_unit_test(test_iso_codes_present),
        cmocka_unit_test(test_variants),
        cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_country_key),
        cmocka_unit_test(test_suggest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
