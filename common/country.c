/*  country.c: ISO 3166-1 names, variants and former names.

    Every name a document may use is compared in one normalized form: case
    and accents folded (text_fold), "&" read as "and", every run of other
    characters than letters and digits made one space, digits dropped
    (country names have none, footnote marks do: "Sweden1"), the word "st"
    read as "saint", and a leading or trailing "the" dropped ("Gambia, The").
    The table holds those normalized keys, so a lookup normalizes its input
    once and compares strings; nothing is allocated but the one fold of the
    input. Besides the 249 current ISO 3166-1 entries it knows Kosovo (XKX,
    the user-assigned code in common use) and the former codes of states
    that no longer exist under one name (SCG, YUG, ANT, SUN, CSK, DDR). */
#include "country.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suggest.h"
#include "text.h"

typedef struct {
    country_t country;
    /* Normalized keys, "|"-separated; the first is the name's own. */
    const char *keys;
} country_entry_t;

/* Generated from a names list; each entry's name normalizes to its first
   key (tests/unit/test_country.c checks that every name, code and key finds
   its own entry). */
static const country_entry_t s_countries[] = {
    {{"AFG", "Afghanistan"}, "afghanistan"},
    {{"ALA", "\xc3\x85land Islands"}, "aland islands|aland"},
    {{"ALB", "Albania"}, "albania"},
    {{"DZA", "Algeria"}, "algeria"},
    {{"ASM", "American Samoa"}, "american samoa"},
    {{"AND", "Andorra"}, "andorra"},
    {{"AGO", "Angola"}, "angola"},
    {{"AIA", "Anguilla"}, "anguilla"},
    {{"ATA", "Antarctica"}, "antarctica"},
    {{"ATG", "Antigua and Barbuda"}, "antigua and barbuda|antigua"},
    {{"ARG", "Argentina"}, "argentina"},
    {{"ARM", "Armenia"}, "armenia"},
    {{"ABW", "Aruba"}, "aruba"},
    {{"AUS", "Australia"}, "australia"},
    {{"AUT", "Austria"}, "austria"},
    {{"AZE", "Azerbaijan"}, "azerbaijan"},
    {{"BHS", "Bahamas"}, "bahamas"},
    {{"BHR", "Bahrain"}, "bahrain"},
    {{"BGD", "Bangladesh"}, "bangladesh"},
    {{"BRB", "Barbados"}, "barbados"},
    {{"BLR", "Belarus"}, "belarus|byelorussia|belorussia|byelorussian ssr"},
    {{"BEL", "Belgium"}, "belgium"},
    {{"BLZ", "Belize"}, "belize|british honduras"},
    {{"BEN", "Benin"}, "benin|dahomey"},
    {{"BMU", "Bermuda"}, "bermuda"},
    {{"BTN", "Bhutan"}, "bhutan"},
    {{"BOL", "Bolivia"},
     "bolivia|plurinational state of bolivia|bolivia plurinational state of"},
    {{"BES", "Bonaire, Sint Eustatius and Saba"},
     "bonaire sint eustatius and saba|caribbean netherlands|bonaire|bonaire "
     "saint eustatius and saba"},
    {{"BIH", "Bosnia and Herzegovina"},
     "bosnia and herzegovina|bosnia herzegovina|bosnia|bosnia hercegovina"},
    {{"BWA", "Botswana"}, "botswana"},
    {{"BVT", "Bouvet Island"}, "bouvet island"},
    {{"BRA", "Brazil"}, "brazil|brasil"},
    {{"IOT", "British Indian Ocean Territory"},
     "british indian ocean territory|chagos islands"},
    {{"BRN", "Brunei"}, "brunei|brunei darussalam"},
    {{"BGR", "Bulgaria"}, "bulgaria"},
    {{"BFA", "Burkina Faso"}, "burkina faso|upper volta|burkina"},
    {{"BDI", "Burundi"}, "burundi"},
    {{"CPV", "Cabo Verde"}, "cabo verde|cape verde"},
    {{"KHM", "Cambodia"}, "cambodia|kampuchea"},
    {{"CMR", "Cameroon"}, "cameroon"},
    {{"CAN", "Canada"}, "canada"},
    {{"CYM", "Cayman Islands"}, "cayman islands"},
    {{"CAF", "Central African Republic"}, "central african republic|car"},
    {{"TCD", "Chad"}, "chad"},
    {{"CHL", "Chile"}, "chile"},
    {{"CHN", "China"},
     "china|people s republic of china|prc|china people s republic of"},
    {{"CXR", "Christmas Island"}, "christmas island"},
    {{"CCK", "Cocos (Keeling) Islands"},
     "cocos keeling islands|cocos islands|keeling islands"},
    {{"COL", "Colombia"}, "colombia"},
    {{"COM", "Comoros"}, "comoros"},
    {{"COG", "Congo"},
     "congo|republic of the congo|republic of congo|congo republic of|congo "
     "brazzaville|congo republic|congo rep|congo rep of"},
    {{"COD", "Democratic Republic of the Congo"},
     "democratic republic of the congo|democratic republic of congo|congo "
     "democratic republic of|congo democratic republic|congo kinshasa|dr "
     "congo|drc|dr of the congo|congo dem rep|congo drc|zaire"},
    {{"COK", "Cook Islands"}, "cook islands"},
    {{"CRI", "Costa Rica"}, "costa rica"},
    {{"CIV", "C\xc3\xb4te d'Ivoire"},
     "cote d ivoire|ivory coast|cote divoire|republic of cote d ivoire"},
    {{"HRV", "Croatia"}, "croatia"},
    {{"CUB", "Cuba"}, "cuba"},
    {{"CUW", "Cura\xc3\xa7"
             "ao"},
     "curacao"},
    {{"CYP", "Cyprus"}, "cyprus"},
    {{"CZE", "Czechia"}, "czechia|czech republic"},
    {{"DNK", "Denmark"}, "denmark"},
    {{"DJI", "Djibouti"}, "djibouti"},
    {{"DMA", "Dominica"}, "dominica"},
    {{"DOM", "Dominican Republic"}, "dominican republic"},
    {{"ECU", "Ecuador"}, "ecuador"},
    {{"EGY", "Egypt"}, "egypt"},
    {{"SLV", "El Salvador"}, "el salvador|salvador"},
    {{"GNQ", "Equatorial Guinea"}, "equatorial guinea"},
    {{"ERI", "Eritrea"}, "eritrea"},
    {{"EST", "Estonia"}, "estonia"},
    {{"SWZ", "Eswatini"}, "eswatini|swaziland|kingdom of eswatini"},
    {{"ETH", "Ethiopia"}, "ethiopia"},
    {{"FLK", "Falkland Islands"},
     "falkland islands|falkland islands malvinas|malvinas"},
    {{"FRO", "Faroe Islands"}, "faroe islands|faeroe islands|faroes"},
    {{"FJI", "Fiji"}, "fiji"},
    {{"FIN", "Finland"}, "finland"},
    {{"FRA", "France"}, "france"},
    {{"GUF", "French Guiana"}, "french guiana"},
    {{"PYF", "French Polynesia"}, "french polynesia"},
    {{"ATF", "French Southern Territories"},
     "french southern territories|french southern and antarctic lands"},
    {{"GAB", "Gabon"}, "gabon"},
    {{"GMB", "Gambia"}, "gambia"},
    {{"GEO", "Georgia"}, "georgia"},
    {{"DEU", "Germany"}, "germany|federal republic of germany"},
    {{"GHA", "Ghana"}, "ghana"},
    {{"GIB", "Gibraltar"}, "gibraltar"},
    {{"GRC", "Greece"}, "greece"},
    {{"GRL", "Greenland"}, "greenland"},
    {{"GRD", "Grenada"}, "grenada"},
    {{"GLP", "Guadeloupe"}, "guadeloupe"},
    {{"GUM", "Guam"}, "guam"},
    {{"GTM", "Guatemala"}, "guatemala"},
    {{"GGY", "Guernsey"}, "guernsey"},
    {{"GIN", "Guinea"}, "guinea"},
    {{"GNB", "Guinea-Bissau"}, "guinea bissau"},
    {{"GUY", "Guyana"}, "guyana"},
    {{"HTI", "Haiti"}, "haiti"},
    {{"HMD", "Heard Island and McDonald Islands"},
     "heard island and mcdonald islands"},
    {{"VAT", "Holy See"},
     "holy see|vatican|vatican city|vatican city state|holy see vatican city "
     "state"},
    {{"HND", "Honduras"}, "honduras"},
    {{"HKG", "Hong Kong"},
     "hong kong|hong kong sar|hong kong sar china|hong kong china|hong kong "
     "special administrative region of china"},
    {{"HUN", "Hungary"}, "hungary"},
    {{"ISL", "Iceland"}, "iceland"},
    {{"IND", "India"}, "india"},
    {{"IDN", "Indonesia"}, "indonesia"},
    {{"IRN", "Iran"},
     "iran|islamic republic of iran|iran islamic republic of|persia"},
    {{"IRQ", "Iraq"}, "iraq"},
    {{"IRL", "Ireland"}, "ireland|republic of ireland"},
    {{"IMN", "Isle of Man"}, "isle of man"},
    {{"ISR", "Israel"}, "israel"},
    {{"ITA", "Italy"}, "italy"},
    {{"JAM", "Jamaica"}, "jamaica"},
    {{"JPN", "Japan"}, "japan"},
    {{"JEY", "Jersey"}, "jersey"},
    {{"JOR", "Jordan"}, "jordan"},
    {{"KAZ", "Kazakhstan"}, "kazakhstan|kazakstan"},
    {{"KEN", "Kenya"}, "kenya"},
    {{"KIR", "Kiribati"}, "kiribati"},
    {{"PRK", "North Korea"},
     "north korea|korea north|democratic people s republic of korea|korea "
     "democratic people s republic of|korea democratic people s "
     "republic|dprk|korea dprk"},
    {{"KOR", "South Korea"},
     "south korea|korea south|republic of korea|korea republic of|korea rok"},
    {{"KWT", "Kuwait"}, "kuwait"},
    {{"KGZ", "Kyrgyzstan"}, "kyrgyzstan|kyrgyz republic|kirghizia"},
    {{"LAO", "Laos"}, "laos|lao people s democratic republic|lao pdr|lao"},
    {{"LVA", "Latvia"}, "latvia"},
    {{"LBN", "Lebanon"}, "lebanon"},
    {{"LSO", "Lesotho"}, "lesotho"},
    {{"LBR", "Liberia"}, "liberia"},
    {{"LBY", "Libya"}, "libya|libyan arab jamahiriya|state of libya"},
    {{"LIE", "Liechtenstein"}, "liechtenstein"},
    {{"LTU", "Lithuania"}, "lithuania"},
    {{"LUX", "Luxembourg"}, "luxembourg"},
    {{"MAC", "Macao"},
     "macao|macau|macao sar china|macao special administrative region of "
     "china"},
    {{"MDG", "Madagascar"}, "madagascar"},
    {{"MWI", "Malawi"}, "malawi"},
    {{"MYS", "Malaysia"}, "malaysia"},
    {{"MDV", "Maldives"}, "maldives"},
    {{"MLI", "Mali"}, "mali"},
    {{"MLT", "Malta"}, "malta"},
    {{"MHL", "Marshall Islands"}, "marshall islands"},
    {{"MTQ", "Martinique"}, "martinique"},
    {{"MRT", "Mauritania"}, "mauritania"},
    {{"MUS", "Mauritius"}, "mauritius"},
    {{"MYT", "Mayotte"}, "mayotte"},
    {{"MEX", "Mexico"}, "mexico"},
    {{"FSM", "Micronesia"},
     "micronesia|federated states of micronesia|micronesia federated states "
     "of"},
    {{"MDA", "Moldova"}, "moldova|republic of moldova|moldova republic of"},
    {{"MCO", "Monaco"}, "monaco"},
    {{"MNG", "Mongolia"}, "mongolia"},
    {{"MNE", "Montenegro"}, "montenegro"},
    {{"MSR", "Montserrat"}, "montserrat"},
    {{"MAR", "Morocco"}, "morocco"},
    {{"MOZ", "Mozambique"}, "mozambique"},
    {{"MMR", "Myanmar"},
     "myanmar|burma|union of burma|republic of the union of myanmar"},
    {{"NAM", "Namibia"}, "namibia"},
    {{"NRU", "Nauru"}, "nauru"},
    {{"NPL", "Nepal"}, "nepal"},
    {{"NLD", "Netherlands"}, "netherlands|holland|kingdom of the netherlands"},
    {{"NCL", "New Caledonia"}, "new caledonia"},
    {{"NZL", "New Zealand"}, "new zealand"},
    {{"NIC", "Nicaragua"}, "nicaragua"},
    {{"NER", "Niger"}, "niger"},
    {{"NGA", "Nigeria"}, "nigeria"},
    {{"NIU", "Niue"}, "niue"},
    {{"NFK", "Norfolk Island"}, "norfolk island"},
    {{"MKD", "North Macedonia"},
     "north macedonia|macedonia|former yugoslav republic of "
     "macedonia|macedonia the former yugoslav republic of|macedonia former "
     "yugoslav republic of|fyrom|republic of north macedonia|republic of "
     "macedonia"},
    {{"MNP", "Northern Mariana Islands"}, "northern mariana islands"},
    {{"NOR", "Norway"}, "norway"},
    {{"OMN", "Oman"}, "oman"},
    {{"PAK", "Pakistan"}, "pakistan"},
    {{"PLW", "Palau"}, "palau"},
    {{"PSE", "Palestine"},
     "palestine|state of palestine|palestinian territories|occupied "
     "palestinian territory|palestinian territory occupied|palestinian "
     "territory|west bank and gaza|palestinian authority"},
    {{"PAN", "Panama"}, "panama"},
    {{"PNG", "Papua New Guinea"}, "papua new guinea"},
    {{"PRY", "Paraguay"}, "paraguay"},
    {{"PER", "Peru"}, "peru"},
    {{"PHL", "Philippines"}, "philippines"},
    {{"PCN", "Pitcairn"}, "pitcairn|pitcairn islands"},
    {{"POL", "Poland"}, "poland"},
    {{"PRT", "Portugal"}, "portugal"},
    {{"PRI", "Puerto Rico"}, "puerto rico"},
    {{"QAT", "Qatar"}, "qatar"},
    {{"REU", "R\xc3\xa9union"}, "reunion"},
    {{"ROU", "Romania"}, "romania|rumania|roumania"},
    {{"RUS", "Russia"}, "russia|russian federation"},
    {{"RWA", "Rwanda"}, "rwanda"},
    {{"BLM", "Saint Barth\xc3\xa9lemy"}, "saint barthelemy"},
    {{"SHN", "Saint Helena, Ascension and Tristan da Cunha"},
     "saint helena ascension and tristan da cunha|saint helena"},
    {{"KNA", "Saint Kitts and Nevis"},
     "saint kitts and nevis|saint christopher and nevis"},
    {{"LCA", "Saint Lucia"}, "saint lucia"},
    {{"MAF", "Saint Martin"}, "saint martin|saint martin french part"},
    {{"SPM", "Saint Pierre and Miquelon"}, "saint pierre and miquelon"},
    {{"VCT", "Saint Vincent and the Grenadines"},
     "saint vincent and the grenadines|saint vincent"},
    {{"WSM", "Samoa"}, "samoa|western samoa"},
    {{"SMR", "San Marino"}, "san marino"},
    {{"STP", "S\xc3\xa3o Tom\xc3\xa9 and Pr\xc3\xadncipe"},
     "sao tome and principe"},
    {{"SAU", "Saudi Arabia"}, "saudi arabia"},
    {{"SEN", "Senegal"}, "senegal"},
    {{"SRB", "Serbia"}, "serbia|republic of serbia"},
    {{"SYC", "Seychelles"}, "seychelles"},
    {{"SLE", "Sierra Leone"}, "sierra leone"},
    {{"SGP", "Singapore"}, "singapore"},
    {{"SXM", "Sint Maarten"}, "sint maarten|sint maarten dutch part"},
    {{"SVK", "Slovakia"}, "slovakia|slovak republic"},
    {{"SVN", "Slovenia"}, "slovenia"},
    {{"SLB", "Solomon Islands"}, "solomon islands"},
    {{"SOM", "Somalia"}, "somalia"},
    {{"ZAF", "South Africa"}, "south africa"},
    {{"SGS", "South Georgia and the South Sandwich Islands"},
     "south georgia and the south sandwich islands"},
    {{"SSD", "South Sudan"}, "south sudan"},
    {{"ESP", "Spain"}, "spain"},
    {{"LKA", "Sri Lanka"}, "sri lanka|ceylon"},
    {{"SDN", "Sudan"}, "sudan"},
    {{"SUR", "Suriname"}, "suriname|surinam"},
    {{"SJM", "Svalbard and Jan Mayen"}, "svalbard and jan mayen"},
    {{"SWE", "Sweden"}, "sweden"},
    {{"CHE", "Switzerland"}, "switzerland"},
    {{"SYR", "Syria"}, "syria|syrian arab republic"},
    {{"TWN", "Taiwan"},
     "taiwan|republic of china|taiwan province of china|chinese taipei|taiwan "
     "republic of china"},
    {{"TJK", "Tajikistan"}, "tajikistan|tadzhikistan"},
    {{"TZA", "Tanzania"},
     "tanzania|united republic of tanzania|tanzania united republic of"},
    {{"THA", "Thailand"}, "thailand|siam"},
    {{"TLS", "Timor-Leste"},
     "timor leste|east timor|democratic republic of timor leste"},
    {{"TGO", "Togo"}, "togo"},
    {{"TKL", "Tokelau"}, "tokelau"},
    {{"TON", "Tonga"}, "tonga"},
    {{"TTO", "Trinidad and Tobago"}, "trinidad and tobago"},
    {{"TUN", "Tunisia"}, "tunisia"},
    {{"TUR", "T\xc3\xbcrkiye"}, "turkiye|turkey"},
    {{"TKM", "Turkmenistan"}, "turkmenistan"},
    {{"TCA", "Turks and Caicos Islands"}, "turks and caicos islands"},
    {{"TUV", "Tuvalu"}, "tuvalu"},
    {{"UGA", "Uganda"}, "uganda"},
    {{"UKR", "Ukraine"}, "ukraine"},
    {{"ARE", "United Arab Emirates"}, "united arab emirates|uae|u a e"},
    {{"GBR", "United Kingdom"},
     "united kingdom|uk|u k|great britain|britain|united kingdom of great "
     "britain and northern ireland"},
    {{"USA", "United States"},
     "united states|united states of america|us|u s|u s a"},
    {{"UMI", "United States Minor Outlying Islands"},
     "united states minor outlying islands"},
    {{"URY", "Uruguay"}, "uruguay"},
    {{"UZB", "Uzbekistan"}, "uzbekistan"},
    {{"VUT", "Vanuatu"}, "vanuatu"},
    {{"VEN", "Venezuela"},
     "venezuela|bolivarian republic of venezuela|venezuela bolivarian republic "
     "of"},
    {{"VNM", "Vietnam"}, "vietnam|viet nam"},
    {{"VGB", "British Virgin Islands"},
     "british virgin islands|virgin islands british"},
    {{"VIR", "United States Virgin Islands"},
     "united states virgin islands|virgin islands u s|u s virgin islands|us "
     "virgin islands"},
    {{"WLF", "Wallis and Futuna"}, "wallis and futuna"},
    {{"ESH", "Western Sahara"}, "western sahara"},
    {{"YEM", "Yemen"}, "yemen"},
    {{"ZMB", "Zambia"}, "zambia"},
    {{"ZWE", "Zimbabwe"}, "zimbabwe"},
    {{"XKX", "Kosovo"}, "kosovo"},
    {{"SCG", "Serbia and Montenegro"}, "serbia and montenegro"},
    {{"YUG", "Yugoslavia"},
     "yugoslavia|federal republic of yugoslavia|socialist federal republic of "
     "yugoslavia"},
    {{"ANT", "Netherlands Antilles"}, "netherlands antilles"},
    {{"SUN", "Soviet Union"},
     "soviet union|ussr|union of soviet socialist republics"},
    {{"CSK", "Czechoslovakia"}, "czechoslovakia"},
    {{"DDR", "German Democratic Republic"},
     "german democratic republic|east germany"},
};

#define COUNTRY_COUNT (sizeof(s_countries) / sizeof(s_countries[0]))

/* Longest input considered: a country name with a note, not a paragraph. */
#define COUNTRY_TEXT_MAX 256

size_t
country_count(void) {
    return COUNTRY_COUNT;
}

const country_t *
country_at(size_t index) {
    return index < COUNTRY_COUNT ? &s_countries[index].country : NULL;
}

/* Room for a normalized key: folding can triple a byte, "&" -> " and". */
#define COUNTRY_KEY_CAP (COUNTRY_TEXT_MAX * 4 + 1)

/*  Writes the normalized form of size bytes of text into out
    (COUNTRY_KEY_CAP bytes, truncated to fit). When drop_parens, text inside
    parentheses is left out ("Serbia and Montenegro (and Kosovo)"). Returns
    the length. */
static size_t
s_normalize(const char *text, size_t size, bool drop_parens, char *out) {
    const size_t cap = COUNTRY_KEY_CAP;
    char *folded = text_fold(text, size);
    if (!folded) {
        out[0] = '\0';
        return 0;
    }
    size_t o = 0;
    int depth = 0;
    bool space = false; /* a space is pending before the next word */
    for (const char *p = folded; *p && o + 6 < cap; p++) {
        unsigned char c = (unsigned char)*p;
        if (drop_parens && (c == '(' || c == '[')) {
            depth++;
            continue;
        }
        if (drop_parens && (c == ')' || c == ']')) {
            depth = depth > 0 ? depth - 1 : 0;
            continue;
        }
        if (depth > 0 || isdigit(c)) {
            continue; /* digits: footnote marks, "Sweden1" */
        }
        if (c == '&') {
            if (o > 0) {
                out[o++] = ' ';
            }
            memcpy(out + o, "and", 3);
            o += 3;
            space = true;
            continue;
        }
        if (!(c < 0x80 && isalpha(c))) {
            space = true;
            continue;
        }
        if (space && o > 0) {
            out[o++] = ' ';
        }
        space = false;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    free(folded);

    /* Whole words: no leading or trailing "the", "st" -> "saint". */
    if (o >= 4 && strncmp(out, "the ", 4) == 0) {
        memmove(out, out + 4, o - 3);
        o -= 4;
    }
    if (o >= 4 && strcmp(out + o - 4, " the") == 0) {
        o -= 4;
        out[o] = '\0';
    }
    char *st = out;
    while ((st = strstr(st, "st")) != NULL) {
        bool starts = st == out || st[-1] == ' ';
        bool ends = st[2] == '\0' || st[2] == ' ';
        if (starts && ends && o + 3 < cap) {
            memmove(st + 5, st + 2, strlen(st + 2) + 1);
            memcpy(st, "saint", 5);
            o += 3;
            st += 5;
        } else {
            st += 2;
        }
    }
    return o;
}

/*  True when key equals one of the "|"-separated keys. */
static bool
s_keys_match(const char *keys, const char *key, size_t key_len) {
    const char *p = keys;
    while (*p) {
        const char *end = strchr(p, '|');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == key_len && memcmp(p, key, len) == 0) {
            return true;
        }
        if (!end) {
            break;
        }
        p = end + 1;
    }
    return false;
}

static const country_t *
s_find_key(const char *key, size_t len) {
    if (len == 0) {
        return NULL;
    }
    for (size_t i = 0; i < COUNTRY_COUNT; i++) {
        /* The first byte of any key: a cheap filter before the compare. */
        const char *k = s_countries[i].keys;
        if (strchr(k, key[0]) == NULL) {
            continue;
        }
        if (s_keys_match(k, key, len)) {
            return &s_countries[i].country;
        }
    }
    return NULL;
}

/*  Trims ASCII and no-break spaces; returns the start, sets *len. */
static const char *
s_trim(const char *text, size_t *len) {
    size_t n = strlen(text);
    while (n > 0 && (isspace((unsigned char)*text))) {
        text++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)text[n - 1])) {
        n--;
    }
    *len = n;
    return text;
}

const country_t *
country_lookup(const char *text) {
    if (!text) {
        return NULL;
    }
    size_t len;
    const char *t = s_trim(text, &len);
    if (len == 0 || len > COUNTRY_TEXT_MAX) {
        return NULL;
    }
    if (len == 3 && isalpha((unsigned char)t[0]) &&
        isalpha((unsigned char)t[1]) && isalpha((unsigned char)t[2])) {
        for (size_t i = 0; i < COUNTRY_COUNT; i++) {
            const char *code = s_countries[i].country.alpha3;
            if (toupper((unsigned char)t[0]) == code[0] &&
                toupper((unsigned char)t[1]) == code[1] &&
                toupper((unsigned char)t[2]) == code[2]) {
                return &s_countries[i].country;
            }
        }
    }
    char key[COUNTRY_KEY_CAP];
    size_t n = s_normalize(t, len, false, key);
    const country_t *c = s_find_key(key, n);
    if (!c && (memchr(t, '(', len) || memchr(t, '[', len))) {
        n = s_normalize(t, len, true, key);
        c = s_find_key(key, n);
    }
    return c;
}

char *
country_key(const char *text, char *buf, size_t size) {
    if (!buf || size == 0) {
        return buf;
    }
    buf[0] = '\0';
    const country_t *c = country_lookup(text);
    if (c) {
        snprintf(buf, size, "%s", c->alpha3);
        return buf;
    }
    if (!text) {
        return buf;
    }
    size_t len;
    const char *t = s_trim(text, &len);
    if (len > COUNTRY_TEXT_MAX) {
        len = COUNTRY_TEXT_MAX;
    }
    char key[COUNTRY_KEY_CAP];
    size_t n = s_normalize(t, len, false, key);
    if (n > 0) {
        snprintf(buf, size, "~%s", key);
    }
    return buf;
}

const country_t *
country_suggest(const char *text) {
    if (!text || country_lookup(text) != NULL) {
        return NULL;
    }
    size_t len;
    const char *t = s_trim(text, &len);
    if (len == 0 || len > COUNTRY_TEXT_MAX) {
        return NULL;
    }
    char typed[COUNTRY_KEY_CAP];
    if (s_normalize(t, len, false, typed) == 0) {
        return NULL;
    }
    /* Every "|"-separated key is a candidate; the nearest is copied to
       best_key, which suggest_t borrows until the end. */
    char best_key[SUGGEST_MAX_LEN + 1];
    const country_t *best = NULL;
    suggest_t s;
    suggest_init(&s, typed);
    for (size_t i = 0; i < COUNTRY_COUNT; i++) {
        const char *p = s_countries[i].keys;
        while (*p) {
            const char *end = strchr(p, '|');
            size_t n = end ? (size_t)(end - p) : strlen(p);
            if (n <= SUGGEST_MAX_LEN) {
                char key[SUGGEST_MAX_LEN + 1];
                memcpy(key, p, n);
                key[n] = '\0';
                size_t before = s.best_distance;
                suggest_consider(&s, key);
                if (s.best_distance < before) {
                    memcpy(best_key, key, n + 1);
                    s.best = best_key;
                    best = &s_countries[i].country;
                }
            }
            if (!end) {
                break;
            }
            p = end + 1;
        }
    }
    return suggest_best(&s) != NULL ? best : NULL;
}
