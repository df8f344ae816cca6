/*
 * phi_dict: compact read-only word tables, built once per detector.
 *
 * A table is open addressing with linear probing over 64-bit slots: the high
 * 48 bits are the word's hash (so a lookup compares one integer, and a false
 * hit needs a 48-bit collision), the low 16 bits its flags. Words are never
 * stored: the tables answer "which lists hold this word", nothing else. The
 * load factor stays under one half, so a lookup touches one cache line most
 * of the time. Lookups are lock-free reads of memory nobody writes after
 * phi_detector_new, so any number of threads share a table.
 */
#include <stdlib.h>
#include <string.h>

#include "phi_internal.h"

#define FP_MASK (~(uint64_t)0xFFFF)

int phi_dict_init(phi_dict *d, size_t n)
{
    size_t cap = 64;
    while (cap < n * 2 + 1)
        cap <<= 1;
    d->slots = calloc(cap, sizeof *d->slots);
    if (!d->slots) return PHI_ENOMEM;
    d->mask = (uint32_t)(cap - 1);
    d->count = 0;
    return PHI_OK;
}

void phi_dict_free(phi_dict *d)
{
    free(d->slots);
    d->slots = NULL;
    d->mask = 0;
    d->count = 0;
}

static void put(phi_dict *d, uint64_t h, uint16_t flags)
{
    uint64_t fp = h & FP_MASK;
    /* The index comes from bits the fingerprint also holds, which is fine:
     * equal fingerprints mean equal words for our purposes. */
    uint32_t i = (uint32_t)(h >> 20) & d->mask;
    for (;;) {
        uint64_t v = d->slots[i];
        if (v == 0) {
            d->slots[i] = fp | flags;
            d->count++;
            return;
        }
        if ((v & FP_MASK) == fp) {
            d->slots[i] = v | flags;
            return;
        }
        i = (i + 1) & d->mask;
    }
}

int phi_dict_add(phi_dict *d, const char *word, uint16_t flags)
{
    if (d->count * 2 >= d->mask) return PHI_ENOMEM; /* sized too small: a bug */
    put(d, phi_hash_word((const uint8_t *)word, strlen(word)), flags);
    return PHI_OK;
}

int phi_dict_add_hash(phi_dict *d, uint64_t h, uint16_t flags)
{
    if (d->count * 2 >= d->mask) return PHI_ENOMEM; /* sized too small: a bug */
    put(d, h, flags);
    return PHI_OK;
}

int phi_dict_add_lines(phi_dict *d, phi_blob b, uint16_t flags)
{
    size_t i = 0;
    while (i < b.len) {
        size_t j = i;
        while (j < b.len && b.p[j] != '\n')
            j++;
        size_t e = j;
        while (e > i && (b.p[e - 1] == '\r' || b.p[e - 1] == ' '))
            e--;
        if (e > i && b.p[i] != '#') {
            if (d->count * 2 >= d->mask) return PHI_ENOMEM;
            put(d, phi_hash_word(b.p + i, e - i), flags);
        }
        i = j + 1;
    }
    return PHI_OK;
}

/* Context words. Written here rather than shipped as data because each one
 * is a decision about the detector's logic, reviewed with the code. */
static const char *const titles[] = {
    "mr",        "mrs",    "ms",    "miss",   "mister",    "dr",    "doctor", "prof",
    "professor", "sr",     "sra",   "nurse",  "mx",        "madam", "rev",    "reverend",
    "father",    "pastor", "rabbi", "sister", "attending", NULL};
static const char *const relations[] = {
    "wife",     "husband",       "spouse",      "partner",      "daughter",  "son",
    "mother",   "father",        "mom",         "dad",          "sister",    "brother",
    "grandson", "granddaughter", "grandmother", "grandfather",  "niece",     "nephew",
    "aunt",     "uncle",         "cousin",      "friend",       "neighbor",  "neighbour",
    "fiance",   "fiancee",       "boyfriend",   "girlfriend",   "caregiver", "guardian",
    "hcp",      "proxy",         "stepson",     "stepdaughter", "sibling",   "child",
    "kid",      "roommate",      "companion",   "widow",        "widower",   "grandchild",
    "sitter",   "aide",          "contact",     "nok",          "poa",       "dpoa",
    NULL};
static const char *const labels[] = {
    "name",       "patient",    "pt",         "attending",   "pcp",         "resident",
    "intern",     "fellow",     "surgeon",    "physician",   "provider",    "cc",
    "from",       "to",         "signed",     "dictated",    "transcribed", "author",
    "referring",  "referred",   "consultant", "nurse",       "rn",          "np",
    "md",         "doctor",     "contact",    "emergency",   "nok",         "anesthesiologist",
    "anesthesia", "assistant",  "witness",    "interpreter", "sw",          "caseworker",
    "manager",    "therapist",  "pharmacist", "cosigner",    "cosigned",    "mother",
    "father",     "guardian",   "spouse",     "recipient",   "sender",      "dear",
    "hi",         "hello",      "thanks",     "regards",     "sincerely",   "user",
    "member",     "subscriber", "insured",    "beneficiary", "client",      "re",
    "caller",     "supervisor", "person",     NULL};
static const char *const creds[] = {
    "md",  "m.d",  "do",  "rn",  "np",  "pa",   "pa-c",   "phd", "dds", "dmd",  "lpn",  "crna",
    "cnm", "aprn", "fnp", "dnp", "msw", "lcsw", "pharmd", "rph", "mph", "facp", "facs", "bsn",
    "msn", "pt",   "dpt", "ot",  "otr", "slp",  "rd",     "cna", "emt", "mbbs", NULL};
static const char *const months[] = {
    "january", "february", "march",    "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan",   "feb", "mar",  "apr",  "jun",    "jul",
    "aug",     "sep",      "sept",     "oct",   "nov", "dec",  NULL};
static const char *const notname[] = {"the",        "a",          "an",
                                      "and",        "or",         "of",
                                      "in",         "on",         "at",
                                      "to",         "for",        "with",
                                      "by",         "from",       "is",
                                      "was",        "he",         "she",
                                      "they",       "his",        "her",
                                      "we",         "i",          "you",
                                      "it",         "this",       "that",
                                      "patient",    "pt",         "pts",
                                      "hospital",   "clinic",     "medical",
                                      "center",     "centre",     "health",
                                      "history",    "plan",       "assessment",
                                      "impression", "diagnosis",  "exam",
                                      "physical",   "note",       "notes",
                                      "discharge",  "admission",  "date",
                                      "name",       "phone",      "fax",
                                      "email",      "address",    "mrn",
                                      "dob",        "age",        "sex",
                                      "male",       "female",     "mr",
                                      "mrs",        "ms",         "dr",
                                      "doctor",     "nurse",      "monday",
                                      "tuesday",    "wednesday",  "thursday",
                                      "friday",     "saturday",   "sunday",
                                      "street",     "avenue",     "road",
                                      "suite",      "apt",        "unit",
                                      "floor",      "room",       "department",
                                      "dept",       "service",    "unit",
                                      "icu",        "er",         "ed",
                                      "or",         "pacu",       "general",
                                      "regional",   "memorial",   "university",
                                      "county",     "community",  "saint",
                                      "st",         "mount",      "mt",
                                      "north",      "south",      "east",
                                      "west",       "new",        "old",
                                      "dear",       "re",         "subject",
                                      "sent",       "signed",     "electronically",
                                      "page",       "md",         "rn",
                                      "np",         "pa",         "do",
                                      "labs",       "meds",       "medications",
                                      "allergies",  "vitals",     "hpi",
                                      "ros",        "pmh",        "psh",
                                      "fh",         "sh",         "cc",
                                      "cv",         "resp",       "gi",
                                      "gu",         "neuro",      "psych",
                                      "skin",       "heent",      "mom",
                                      "dad",        "wife",       "husband",
                                      "son",        "daughter",   "mother",
                                      "father",     "sister",     "brother",
                                      "family",     "friend",     "team",
                                      "staff",      "insurance",  "medicare",
                                      "medicaid",   "account",    "member",
                                      "policy",     "group",      "id",
                                      "person",
                                      "no",         "number",     "serial",
                                      "model",      "device",     "license",
                                      "zip",        "city",       "state",
                                      "country",    "contact",    "emergency",
                                      "primary",    "care",       "provider",
                                      "attending",  "resident",   "fellow",
                                      "intern",     "surgeon",    "physician",
                                      "pcp",        "signature",  "user",
                                      "bot",        "hi",         "hello",
                                      "thanks",     "thank",      "please",
                                      "yes",        "no",         "ok",
                                      "okay",       "christmas",  "thanksgiving",
                                      "easter",     "halloween",  "today",
                                      "tomorrow",   "yesterday",  "npi",
                                      "dea",        "acct",       "ssn",
                                      "tel",        "vin",        "dl",
                                      "ph",         "fax",        "pcp",
                                      "hcp",        "dnr",        "dni",
                                      "bed",        "shift",      "caller",
                                      "dispo",      "exam",       "findings",
                                      "comparison", "impression", "procedure",
                                      "surgeon",    "assistant",  "implant",
                                      "reason",     "requesting", "consultant",
                                      "client",     "supervisor", "spouse",
                                      "funeral",    "family",     "hospice",
                                      "claim",      "dear",       "sincerely",
                                      "sir",        "madam",      "lord",
                                      "lady",       "iban",       "tv",
                                      NULL};
static const char *const by[] = {"by",  "with",   "per",   "w",        "to", "from", "and",
                                 "for", "called", "paged", "notified", "cc", NULL};
static const char *const intro[] = {"named", "called", "is",    "am", "im",
                                    "i'm",   "me",     "under", "to", NULL};
static const char *const eponym[] = {
    "disease",   "syndrome",       "sign",         "signs",          "test",       "maneuver",
    "manoeuvre", "fracture",       "palsy",        "phenomenon",     "criteria",   "cyst",
    "law",       "triad",          "ulcer",        "sarcoma",        "lymphoma",   "tumor",
    "tumour",    "esophagus",      "node",         "classification", "score",      "scale",
    "stain",     "solution",       "catheter",     "procedure",      "operation",  "repair",
    "reflex",    "reflexes",       "point",        "position",       "index",      "formula",
    "equation",  "method",         "technique",    "valve",          "tube",       "drain",
    "line",      "sheath",         "bag",          "mask",           "hose",       "stockings",
    "boot",      "brace",          "splint",       "fundoplication", "pouch",      "pattern",
    "rule",      "rules",          "respirations", "breathing",      "count",      "ratio",
    "hernia",    "diverticulum",   "contracture",  "nodes",          "nodules",    "spots",
    "lesions",   "shunt",          "ring",         "study",          "monitor",    "ultrasound",
    "dementia",  "type",           "kit",          "gauge",          "coma",       "stage",
    "grade",     "encephalopathy", "psychosis",    "follow",         "guidelines", "guideline",
    "drain",     "maneuvre",       "view",         "views",          "effect",     NULL};
static const char *const states[] = {
    "al",       "ak",         "az",          "ar",          "ca",           "co",
    "ct",       "de",         "fl",          "ga",          "hi",           "id",
    "il",       "in",         "ia",          "ks",          "ky",           "la",
    "me",       "md",         "ma",          "mi",          "mn",           "ms",
    "mo",       "mt",         "ne",          "nv",          "nh",           "nj",
    "nm",       "ny",         "nc",          "nd",          "oh",           "ok",
    "or",       "pa",         "ri",          "sc",          "sd",           "tn",
    "tx",       "ut",         "vt",          "va",          "wa",           "wv",
    "wi",       "wy",         "dc",          "alabama",     "alaska",       "arizona",
    "arkansas", "california", "colorado",    "connecticut", "delaware",     "florida",
    "georgia",  "hawaii",     "idaho",       "illinois",    "indiana",      "iowa",
    "kansas",   "kentucky",   "louisiana",   "maine",       "maryland",     "massachusetts",
    "michigan", "minnesota",  "mississippi", "missouri",    "montana",      "nebraska",
    "nevada",   "ohio",       "oklahoma",    "oregon",      "pennsylvania", "tennessee",
    "texas",    "utah",       "vermont",     "virginia",    "washington",   "wisconsin",
    "wyoming",  NULL};
static const char *const filler[] = {
    "is",       "no",         "number",   "num",      "nbr",        "id",         "of",
    "the",      "identifier", "code",     "was",      "on",         "file",       "cell",
    "home",     "work",       "mobile",   "primary",  "secondary",  "main",       "office",
    "direct",   "daytime",    "evening",  "card",     "plan",       "group",      "record",
    "medical",  "account",    "member",   "policy",   "subscriber", "insurance",  "personal",
    "private",  "emergency",  "contact",  "phone",    "state",      "drivers",    "driver's",
    "license",  "licence",    "serial",   "device",   "his",        "her",        "their",
    "my",       "your",       "our",      "at",       "to",         "numbers",    "nos",
    "ph",       "tel",        "fax",      "and",      "or",         "new",        "old",
    "patient",  "pt",         "s",        "a",        "an",         "as",         "be",
    "reached",  "plate",      "vehicle",  "vin",      "mrn",        "ssn",        "social",
    "security", "dob",        "birth",    "date",     "listed",     "registered", "updated",
    "changed",  "confirmed",  "verified", "provided", "given",      "me",         "us",
    "him",      "them",       "back",     NULL};
/* Places that are not PHI (states are in `states`): countries and regions. */
static const char *const countries[] = {
    "america",    "usa",        "us",          "canada",   "mexico",      "brazil",
    "argentina",  "chile",      "peru",        "colombia", "venezuela",   "uruguay",
    "england",    "britain",    "uk",          "ireland",  "scotland",    "wales",
    "france",     "germany",    "italy",       "spain",    "portugal",    "netherlands",
    "holland",    "belgium",    "switzerland", "austria",  "denmark",     "norway",
    "sweden",     "finland",    "iceland",     "estonia",  "latvia",      "lithuania",
    "poland",     "czechia",    "slovakia",    "hungary",  "romania",     "bulgaria",
    "greece",     "cyprus",     "turkey",      "russia",   "ukraine",     "belarus",
    "croatia",    "serbia",     "slovenia",    "bosnia",   "albania",     "israel",
    "lebanon",    "jordan",     "egypt",       "morocco",  "tunisia",     "algeria",
    "nigeria",    "ghana",      "kenya",       "ethiopia", "somalia",     "africa",
    "china",      "japan",      "korea",       "india",    "pakistan",    "bangladesh",
    "vietnam",    "thailand",   "cambodia",    "laos",     "philippines", "indonesia",
    "malaysia",   "singapore",  "australia",   "zealand",  "haiti",       "cuba",
    "jamaica",    "dominican",  "guatemala",   "honduras", "salvador",    "nicaragua",
    "panama",     "iran",       "iraq",        "syria",    "afghanistan", "europe",
    "asia",       "luxembourg", "moldova",     "georgia",  "armenia",     "azerbaijan",
    "kazakhstan", "puerto",     "rico",        "guam",     NULL};
static const char *const org[] = {"inc",
                                  "corp",
                                  "corporation",
                                  "llc",
                                  "ltd",
                                  "co",
                                  "company",
                                  "group",
                                  "university",
                                  "college",
                                  "school",
                                  "foundation",
                                  "institute",
                                  "association",
                                  "society",
                                  "bank",
                                  "orchestra",
                                  "band",
                                  "club",
                                  "partners",
                                  "associates",
                                  "pharmacy",
                                  "pharmaceuticals",
                                  "labs",
                                  "laboratories",
                                  "insurance",
                                  "trust",
                                  "capital",
                                  "systems",
                                  "solutions",
                                  NULL};

/* Verbs of contacting a person: "call Okafor", "paged Whitfield". */
static const char *const contact[] = {
    "call",   "called",   "calling",   "page",     "paged",    "paging",  "text", "texted",
    "notify", "notified", "contacted", "emailed",  "messaged", "told",    "tell", "informed",
    "thank",  "thanked",  "remind",    "reminded", "update",   "updated", NULL};
/* Where a patient lies: "bed 12 Osterhaut", "rm 4 Penrose". */
static const char *const place[] = {"bed", "rm", "room", "bay", NULL};

static int add_all(phi_dict *d, const char *const *w, uint16_t flags)
{
    for (; *w; w++) {
        int rc = phi_dict_add(d, *w, flags);
        if (rc) return rc;
    }
    return PHI_OK;
}

int phi_dict_build_context(phi_dict *d)
{
    int rc = phi_dict_init(d, 2048);
    if (rc) return rc;
    if ((rc = add_all(d, titles, PHI_W_TITLE)) || (rc = add_all(d, relations, PHI_W_RELATION)) ||
        (rc = add_all(d, labels, PHI_W_LABEL)) || (rc = add_all(d, creds, PHI_W_CRED)) ||
        (rc = add_all(d, months, PHI_W_MONTH)) || (rc = add_all(d, notname, PHI_W_NOTNAME)) ||
        (rc = add_all(d, by, PHI_W_BY)) || (rc = add_all(d, intro, PHI_W_INTRO)) ||
        (rc = add_all(d, eponym, PHI_W_EPONYM)) || (rc = add_all(d, states, PHI_W_STATE)) ||
        (rc = add_all(d, filler, PHI_W_FILLER)) || (rc = add_all(d, phi_units, PHI_W_UNIT)) ||
        (rc = add_all(d, countries, PHI_W_STATE)) || (rc = add_all(d, org, PHI_W_ORG)) ||
        (rc = add_all(d, contact, PHI_W_CONTACT)) || (rc = add_all(d, place, PHI_W_PLACE)))
        return rc;
    return PHI_OK;
}
