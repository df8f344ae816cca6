/*
 * phi_labels: the context labels ("MRN", "fax", "DOB", "pain", "lives at")
 * found in C instead of Hyperscan.
 *
 * The labels are case-insensitive words and short phrases. In the Hyperscan
 * pass their twenty expressions cost about a third of the whole database
 * (two-letter words such as "ph", "id", "at", "in" match everywhere), while
 * a word-start walk with one hash per word finds them for a few cycles a
 * byte. The expressions stay in phi_patterns.c (kind PHI_PK_CONTEXT, not
 * compiled) as the definition; test_phi_cscan checks on random text that
 * this file reports exactly the keywords Hyperscan reported from them.
 *
 * Each phrase is written in a small notation, one alternative per string:
 *   ' ' one or more white-space bytes (\s+)    '~' an optional white space (\s?)
 *   '^' an optional white space or hyphen       anything else: itself, letters
 *                                               in any case
 * A phrase must start and end at a word boundary (\b, ASCII word bytes);
 * classes whose expression ends in \.? (or :? for addresses) also report
 * the end after a following dot (colon). Every '#' is an ID label.
 * Optional parts of the expressions are written out as separate phrases,
 * and so is the joined form of an optional separator ("zipcode"), because
 * phrases are looked up by their first run of letters.
 */
#include <stdlib.h>
#include <string.h>

#include "phi_internal.h"

typedef struct phrase {
    uint8_t cls;     /* phi_ctx */
    const char *txt; /* the notation above, lower case */
} phrase;

#define P(c, s)                                                                                    \
    {                                                                                              \
        c, s                                                                                       \
    }
static const phrase phrases[] = {
    /* MRN */
    P(PHI_C_MRN, "mrn"),
    P(PHI_C_MRN, "mr~#"),
    P(PHI_C_MRN, "medical record"),
    P(PHI_C_MRN, "medical record number"),
    P(PHI_C_MRN, "medical record no"),
    P(PHI_C_MRN, "medical record #"),
    P(PHI_C_MRN, "med rec"),
    P(PHI_C_MRN, "med record"),
    P(PHI_C_MRN, "record no"),
    P(PHI_C_MRN, "record number"),
    P(PHI_C_MRN, "record #"),
    P(PHI_C_MRN, "chart no"),
    P(PHI_C_MRN, "chart number"),
    P(PHI_C_MRN, "chart #"),
    P(PHI_C_MRN, "unit no"),
    P(PHI_C_MRN, "unit number"),
    P(PHI_C_MRN, "hospital no"),
    P(PHI_C_MRN, "hospital number"),
    P(PHI_C_MRN, "hospital id"),
    P(PHI_C_MRN, "patient id"),
    P(PHI_C_MRN, "pt id"),
    P(PHI_C_MRN, "mr number"),
    P(PHI_C_MRN, "mr no"),
    P(PHI_C_MRN, "encounter no"),
    P(PHI_C_MRN, "encounter number"),
    P(PHI_C_MRN, "encounter id"),
    P(PHI_C_MRN, "encounter #"),
    P(PHI_C_MRN, "visit no"),
    P(PHI_C_MRN, "visit number"),
    P(PHI_C_MRN, "visit id"),
    P(PHI_C_MRN, "visit #"),
    P(PHI_C_MRN, "csn"),
    P(PHI_C_MRN, "fin"),
    P(PHI_C_MRN, "har"),
    /* ACCOUNT */
    P(PHI_C_ACCOUNT, "acct"),
    P(PHI_C_ACCOUNT, "account"),
    P(PHI_C_ACCOUNT, "acc"),
    P(PHI_C_ACCOUNT, "a/c"),
    P(PHI_C_ACCOUNT, "billing no"),
    P(PHI_C_ACCOUNT, "billing number"),
    P(PHI_C_ACCOUNT, "billing #"),
    P(PHI_C_ACCOUNT, "billing id"),
    P(PHI_C_ACCOUNT, "invoice"),
    P(PHI_C_ACCOUNT, "claim no"),
    P(PHI_C_ACCOUNT, "claim number"),
    P(PHI_C_ACCOUNT, "claim #"),
    P(PHI_C_ACCOUNT, "claim id"),
    P(PHI_C_ACCOUNT, "bank account"),
    P(PHI_C_ACCOUNT, "checking"),
    P(PHI_C_ACCOUNT, "savings"),
    P(PHI_C_ACCOUNT, "iban"),
    /* PLAN */
    P(PHI_C_PLAN, "member"),
    P(PHI_C_PLAN, "subscriber"),
    P(PHI_C_PLAN, "policy"),
    P(PHI_C_PLAN, "group"),
    P(PHI_C_PLAN, "plan"),
    P(PHI_C_PLAN, "insurance"),
    P(PHI_C_PLAN, "insured"),
    P(PHI_C_PLAN, "medicare"),
    P(PHI_C_PLAN, "medicaid"),
    P(PHI_C_PLAN, "beneficiary"),
    P(PHI_C_PLAN, "hicn"),
    P(PHI_C_PLAN, "mbi"),
    P(PHI_C_PLAN, "health plan"),
    P(PHI_C_PLAN, "coverage"),
    P(PHI_C_PLAN, "payer"),
    P(PHI_C_PLAN, "payor"),
    P(PHI_C_PLAN, "bcbs"),
    P(PHI_C_PLAN, "aetna"),
    P(PHI_C_PLAN, "cigna"),
    P(PHI_C_PLAN, "humana"),
    P(PHI_C_PLAN, "united~health"),
    P(PHI_C_PLAN, "united~healthcare"),
    P(PHI_C_PLAN, "kaiser"),
    P(PHI_C_PLAN, "tricare"),
    /* LICENSE */
    P(PHI_C_LICENSE, "license"),
    P(PHI_C_LICENSE, "licence"),
    P(PHI_C_LICENSE, "lic"),
    P(PHI_C_LICENSE, "dl"),
    P(PHI_C_LICENSE, "driver lic"),
    P(PHI_C_LICENSE, "driver license"),
    P(PHI_C_LICENSE, "driver licence"),
    P(PHI_C_LICENSE, "driver' lic"),
    P(PHI_C_LICENSE, "driver' license"),
    P(PHI_C_LICENSE, "driver' licence"),
    P(PHI_C_LICENSE, "drivers lic"),
    P(PHI_C_LICENSE, "drivers license"),
    P(PHI_C_LICENSE, "drivers licence"),
    P(PHI_C_LICENSE, "driver's lic"),
    P(PHI_C_LICENSE, "driver's license"),
    P(PHI_C_LICENSE, "driver's licence"),
    P(PHI_C_LICENSE, "certificate"),
    P(PHI_C_LICENSE, "cert"),
    P(PHI_C_LICENSE, "passport"),
    P(PHI_C_LICENSE, "state id"),
    P(PHI_C_LICENSE, "permit"),
    P(PHI_C_LICENSE, "registration"),
    /* DEVICE */
    P(PHI_C_DEVICE, "serial"),
    P(PHI_C_DEVICE, "s/n"),
    P(PHI_C_DEVICE, "sn"),
    P(PHI_C_DEVICE, "device"),
    P(PHI_C_DEVICE, "udi"),
    P(PHI_C_DEVICE, "lot"),
    P(PHI_C_DEVICE, "model"),
    P(PHI_C_DEVICE, "imei"),
    P(PHI_C_DEVICE, "mac address"),
    P(PHI_C_DEVICE, "pacemaker"),
    P(PHI_C_DEVICE, "icd"),
    P(PHI_C_DEVICE, "defibrillator"),
    P(PHI_C_DEVICE, "pump"),
    P(PHI_C_DEVICE, "implant"),
    P(PHI_C_DEVICE, "stimulator"),
    P(PHI_C_DEVICE, "hearing aid"),
    P(PHI_C_DEVICE, "cgm"),
    P(PHI_C_DEVICE, "monitor"),
    P(PHI_C_DEVICE, "meid"),
    P(PHI_C_DEVICE, "esn"),
    /* VEHICLE */
    P(PHI_C_VEHICLE, "vin"),
    P(PHI_C_VEHICLE, "plate"),
    P(PHI_C_VEHICLE, "license plate"),
    P(PHI_C_VEHICLE, "licence plate"),
    P(PHI_C_VEHICLE, "tag"),
    P(PHI_C_VEHICLE, "vehicle"),
    P(PHI_C_VEHICLE, "car"),
    P(PHI_C_VEHICLE, "truck"),
    /* SSN */
    P(PHI_C_SSN, "ssn"),
    P(PHI_C_SSN, "social security"),
    P(PHI_C_SSN, "social security number"),
    P(PHI_C_SSN, "social security no"),
    P(PHI_C_SSN, "social security #"),
    P(PHI_C_SSN, "ss#"),
    P(PHI_C_SSN, "ss no"),
    P(PHI_C_SSN, "soc sec"),
    /* PHONE */
    P(PHI_C_PHONE, "phone"),
    P(PHI_C_PHONE, "ph"),
    P(PHI_C_PHONE, "tel"),
    P(PHI_C_PHONE, "telephone"),
    P(PHI_C_PHONE, "cell"),
    P(PHI_C_PHONE, "cellphone"),
    P(PHI_C_PHONE, "mobile"),
    P(PHI_C_PHONE, "call"),
    P(PHI_C_PHONE, "called"),
    P(PHI_C_PHONE, "calling"),
    P(PHI_C_PHONE, "pager"),
    P(PHI_C_PHONE, "pgr"),
    P(PHI_C_PHONE, "beeper"),
    P(PHI_C_PHONE, "page"),
    P(PHI_C_PHONE, "paged"),
    P(PHI_C_PHONE, "contact"),
    P(PHI_C_PHONE, "reach"),
    P(PHI_C_PHONE, "reached"),
    P(PHI_C_PHONE, "text"),
    P(PHI_C_PHONE, "texted"),
    P(PHI_C_PHONE, "messages"),
    P(PHI_C_PHONE, "voicemail"),
    P(PHI_C_PHONE, "home"),
    P(PHI_C_PHONE, "work"),
    P(PHI_C_PHONE, "office"),
    P(PHI_C_PHONE, "landline"),
    P(PHI_C_PHONE, "number"),
    P(PHI_C_PHONE, "dial"),
    P(PHI_C_PHONE, "registered"),
    P(PHI_C_PHONE, "answering"),
    P(PHI_C_PHONE, "extension"),
    /* FAX */
    P(PHI_C_FAX, "fax"),
    P(PHI_C_FAX, "facsimile"),
    P(PHI_C_FAX, "faxed"),
    P(PHI_C_FAX, "fx"),
    /* CARD */
    P(PHI_C_CARD, "card"),
    P(PHI_C_CARD, "credit"),
    P(PHI_C_CARD, "debit"),
    P(PHI_C_CARD, "visa"),
    P(PHI_C_CARD, "mastercard"),
    P(PHI_C_CARD, "amex"),
    P(PHI_C_CARD, "american express"),
    P(PHI_C_CARD, "discover"),
    P(PHI_C_CARD, "cc"),
    P(PHI_C_CARD, "diners"),
    P(PHI_C_CARD, "jcb"),
    /* NPI, DEA, ROUTING */
    P(PHI_C_NPI, "npi"),
    P(PHI_C_DEA, "dea"),
    P(PHI_C_ROUTING, "routing"),
    P(PHI_C_ROUTING, "aba"),
    P(PHI_C_ROUTING, "rtn"),
    P(PHI_C_ROUTING, "transit"),
    /* ID (and every '#', see below) */
    P(PHI_C_ID, "id"),
    P(PHI_C_ID, "identifier"),
    P(PHI_C_ID, "ident"),
    P(PHI_C_ID, "reference"),
    P(PHI_C_ID, "ref"),
    P(PHI_C_ID, "case"),
    P(PHI_C_ID, "file"),
    P(PHI_C_ID, "confirmation"),
    P(PHI_C_ID, "tracking"),
    P(PHI_C_ID, "order"),
    P(PHI_C_ID, "specimen"),
    P(PHI_C_ID, "accession"),
    P(PHI_C_ID, "requisition"),
    P(PHI_C_ID, "barcode"),
    P(PHI_C_ID, "ticket"),
    P(PHI_C_ID, "employee"),
    P(PHI_C_ID, "badge"),
    P(PHI_C_ID, "student"),
    P(PHI_C_ID, "member"),
    /* DATE */
    P(PHI_C_DATE, "dob"),
    P(PHI_C_DATE, "d.o.b"),
    P(PHI_C_DATE, "birth"),
    P(PHI_C_DATE, "born"),
    P(PHI_C_DATE, "birthday"),
    P(PHI_C_DATE, "bday"),
    P(PHI_C_DATE, "admitted"),
    P(PHI_C_DATE, "admission"),
    P(PHI_C_DATE, "admit"),
    P(PHI_C_DATE, "discharged"),
    P(PHI_C_DATE, "discharge"),
    P(PHI_C_DATE, "seen"),
    P(PHI_C_DATE, "visit"),
    P(PHI_C_DATE, "visited"),
    P(PHI_C_DATE, "date"),
    P(PHI_C_DATE, "dated"),
    P(PHI_C_DATE, "surgery"),
    P(PHI_C_DATE, "procedure"),
    P(PHI_C_DATE, "since"),
    P(PHI_C_DATE, "until"),
    P(PHI_C_DATE, "through"),
    P(PHI_C_DATE, "appointment"),
    P(PHI_C_DATE, "appt"),
    P(PHI_C_DATE, "follow^up"),
    P(PHI_C_DATE, "followup"),
    P(PHI_C_DATE, "f/u"),
    P(PHI_C_DATE, "scheduled"),
    P(PHI_C_DATE, "expired"),
    P(PHI_C_DATE, "died"),
    P(PHI_C_DATE, "death"),
    P(PHI_C_DATE, "deceased"),
    P(PHI_C_DATE, "delivered"),
    P(PHI_C_DATE, "started"),
    P(PHI_C_DATE, "stopped"),
    P(PHI_C_DATE, "returned"),
    P(PHI_C_DATE, "presented"),
    P(PHI_C_DATE, "onset"),
    P(PHI_C_DATE, "injury"),
    P(PHI_C_DATE, "accident"),
    /* NODATE */
    P(PHI_C_NODATE, "pain"),
    P(PHI_C_NODATE, "score"),
    P(PHI_C_NODATE, "scale"),
    P(PHI_C_NODATE, "strength"),
    P(PHI_C_NODATE, "blood pressure"),
    P(PHI_C_NODATE, "murmur"),
    P(PHI_C_NODATE, "grade"),
    P(PHI_C_NODATE, "ratio"),
    P(PHI_C_NODATE, "tablet"),
    P(PHI_C_NODATE, "tablets"),
    P(PHI_C_NODATE, "dose"),
    P(PHI_C_NODATE, "doses"),
    P(PHI_C_NODATE, "vision"),
    P(PHI_C_NODATE, "acuity"),
    P(PHI_C_NODATE, "apgar"),
    P(PHI_C_NODATE, "motor"),
    P(PHI_C_NODATE, "power"),
    P(PHI_C_NODATE, "reflexes"),
    P(PHI_C_NODATE, "pressure"),
    P(PHI_C_NODATE, "gravida"),
    P(PHI_C_NODATE, "nihss"),
    P(PHI_C_NODATE, "mmse"),
    P(PHI_C_NODATE, "moca"),
    P(PHI_C_NODATE, "ejection"),
    P(PHI_C_NODATE, "breaths"),
    P(PHI_C_NODATE, "beats"),
    P(PHI_C_NODATE, "spo2"),
    P(PHI_C_NODATE, "fio2"),
    P(PHI_C_NODATE, "peep"),
    P(PHI_C_NODATE, "inches"),
    P(PHI_C_NODATE, "cups"),
    P(PHI_C_NODATE, "drinks"),
    P(PHI_C_NODATE, "packs"),
    P(PHI_C_NODATE, "sensation"),
    P(PHI_C_NODATE, "pulses"),
    P(PHI_C_NODATE, "reflex"),
    P(PHI_C_NODATE, "glasgow"),
    P(PHI_C_NODATE, "edema"),
    P(PHI_C_NODATE, "systolic"),
    P(PHI_C_NODATE, "diastolic"),
    P(PHI_C_NODATE, "orthostatic"),
    P(PHI_C_NODATE, "vitals"),
    /* ZIP, PAGER */
    P(PHI_C_ZIP, "zip"),
    P(PHI_C_ZIP, "zip~code"),
    P(PHI_C_ZIP, "zipcode"),
    P(PHI_C_ZIP, "postal"),
    P(PHI_C_ZIP, "postcode"),
    P(PHI_C_PAGER, "pager"),
    P(PHI_C_PAGER, "pgr"),
    P(PHI_C_PAGER, "beeper"),
    P(PHI_C_PAGER, "bleep"),
    P(PHI_C_PAGER, "pg"),
    /* ADDR */
    P(PHI_C_ADDR, "address"),
    P(PHI_C_ADDR, "addresses"),
    P(PHI_C_ADDR, "address is"),
    P(PHI_C_ADDR, "addresses is"),
    P(PHI_C_ADDR, "lives at"),
    P(PHI_C_ADDR, "live at"),
    P(PHI_C_ADDR, "living at"),
    P(PHI_C_ADDR, "located at"),
    P(PHI_C_ADDR, "resides at"),
    P(PHI_C_ADDR, "is at"),
    P(PHI_C_ADDR, "are at"),
    P(PHI_C_ADDR, "meet you at"),
    P(PHI_C_ADDR, "off at"),
    P(PHI_C_ADDR, "sent to"),
    P(PHI_C_ADDR, "send it to"),
    P(PHI_C_ADDR, "send them to"),
    P(PHI_C_ADDR, "send this to"),
    P(PHI_C_ADDR, "send that to"),
    P(PHI_C_ADDR, "send a new one to"),
    P(PHI_C_ADDR, "return to"),
    P(PHI_C_ADDR, "moved to"),
    P(PHI_C_ADDR, "deliver to"),
    P(PHI_C_ADDR, "delivered to"),
    P(PHI_C_ADDR, "mail to"),
    P(PHI_C_ADDR, "mailed to"),
    P(PHI_C_ADDR, "ship to"),
    P(PHI_C_ADDR, "shipped to"),
    P(PHI_C_ADDR, "with"),
    P(PHI_C_ADDR, "here they are"),
    P(PHI_C_ADDR, "refers to"),
    P(PHI_C_ADDR, "corner of"),
    P(PHI_C_ADDR, "meet me at"),
    P(PHI_C_ADDR, "meet us at"),
    P(PHI_C_ADDR, "arrived at"),
    P(PHI_C_ADDR, "based in"),
    P(PHI_C_ADDR, "drops you off at"),
};
#undef P
#define NPHRASES (sizeof phrases / sizeof phrases[0])

/* Words that make a weak address cue before a number ("at 12 Elm St"). */
static const char *const weak[] = {"at", "on", "in", "to", "from", "is", "of", "are", NULL};

/* Classes whose expression ends in \.? (a following dot ends a second match). */
#define DOT_CLASSES                                                                                \
    (CB(PHI_C_MRN) | CB(PHI_C_ACCOUNT) | CB(PHI_C_PLAN) | CB(PHI_C_LICENSE) | CB(PHI_C_DEVICE) |   \
     CB(PHI_C_VEHICLE) | CB(PHI_C_SSN) | CB(PHI_C_PHONE) | CB(PHI_C_FAX) | CB(PHI_C_ID) |          \
     CB(PHI_C_PAGER))

/* Length of the first run of letters of a phrase. */
static size_t first_run(const char *p)
{
    size_t n = 0;
    while (p[n] >= 'a' && p[n] <= 'z')
        n++;
    return n;
}

int phi_labels_build(phi_labels *l)
{
    memset(l, 0, sizeof *l);
    l->n = NPHRASES;
    l->ph = calloc(NPHRASES, sizeof *l->ph);
    if (!l->ph) return PHI_ENOMEM;
    if (phi_dict_init(&l->first, NPHRASES + 16) != PHI_OK) return PHI_ENOMEM;
    for (size_t i = 0; i < NPHRASES; i++) {
        size_t n = first_run(phrases[i].txt);
        if (n < 1 || n > 16) return PHI_EINVAL; /* a phrase starts with 1-16 letters */
        phi_label_phrase x = {phi_hash_word((const uint8_t *)phrases[i].txt, n), phrases[i].txt,
                              (uint8_t)n, phrases[i].cls};
        size_t k = PHI_LABELS_KEY((const uint8_t *)phrases[i].txt, n);
        l->maybe[k / 8] |= (uint8_t)(1u << (k % 8));
        /* sorted by the hash of the first word, stably (insertion sort: built once) */
        size_t j = i;
        while (j > 0 && l->ph[j - 1].hash > x.hash) {
            l->ph[j] = l->ph[j - 1];
            j--;
        }
        l->ph[j] = x;
    }
    /* The first-word table: flags hold the index of the first phrase with that word (+1). */
    for (size_t i = 0; i < NPHRASES; i++) {
        uint64_t h = l->ph[i].hash;
        if (i > 0 && l->ph[i - 1].hash == h) continue;
        if (phi_dict_add_hash(&l->first, h, (uint16_t)(i + 1)) != PHI_OK) return PHI_ENOMEM;
    }
    for (size_t i = 0; weak[i]; i++) {
        if (phi_dict_add(&l->first, weak[i], PHI_LABELS_WEAK) != PHI_OK) return PHI_ENOMEM;
        size_t k = PHI_LABELS_KEY((const uint8_t *)weak[i], strlen(weak[i]));
        l->maybe[k / 8] |= (uint8_t)(1u << (k % 8));
    }
    return PHI_OK;
}

int phi_labels_mark(const phi_labels *l, phi_dict *ctx)
{
    for (size_t i = 0; i < l->n; i++)
        if (phi_dict_add_hash(ctx, l->ph[i].hash, PHI_W_LABELS) != PHI_OK) return PHI_ENOMEM;
    for (size_t i = 0; weak[i]; i++)
        if (phi_dict_add(ctx, weak[i], PHI_W_LABELS) != PHI_OK) return PHI_ENOMEM;
    return PHI_OK;
}

void phi_labels_free(phi_labels *l)
{
    free(l->ph);
    phi_dict_free(&l->first);
    memset(l, 0, sizeof *l);
}

/* Match phrase txt, whose first word has n1 letters, at p (a word start); returns the
 * end (0 when it does not match) and in *last where the letters that end the match
 * begin (the end when it ends otherwise). */
static size_t match_phrase(const uint8_t *t, size_t len, size_t p, const char *txt, size_t n1,
                           size_t *last)
{
    if (p + n1 > len) return 0;
    for (size_t k = 0; k < n1; k++) /* the first word: letters only */
        if (phi_lower(t[p + k]) != (uint8_t)txt[k]) return 0;
    size_t i = p + n1, a = p; /* a: after the last byte matched that is not a letter */
    for (const char *c = txt + n1; *c; c++) {
        switch (*c) {
        case ' ':
            if (i >= len || !phi_is_hs_space(t[i])) return 0;
            while (i < len && phi_is_hs_space(t[i]))
                i++;
            a = i;
            break;
        case '~':
            if (i < len && phi_is_hs_space(t[i])) a = ++i;
            break;
        case '^':
            if (i < len && (phi_is_hs_space(t[i]) || t[i] == '-')) a = ++i;
            break;
        default:
            if (i >= len || phi_lower(t[i]) != (uint8_t)*c) return 0;
            i++;
            if (!(*c >= 'a' && *c <= 'z')) a = i;
        }
    }
    /* \b after the phrase */
    if (phi_is_hs_word(t[i - 1]) == (i < len && phi_is_hs_word(t[i]))) return 0;
    *last = a;
    return i;
}

/* Add keyword (end, cls) keeping s->kws sorted by end, then class, without duplicates;
 * it starts at a, where the letters before end begin (when none, a = end: one byte
 * before, the "#" or the digit). */
static int add_kw_at(phi_scratch *s, size_t a, size_t end, uint8_t cls)
{
    if (a == end && a > 0) a--; /* "#", a digit */
    phi_kw *nk = phi_vec_push(&s->kws, sizeof *nk);
    if (!nk) return PHI_ENOMEM;
    phi_kw *k = s->kws.p;
    size_t j = s->kws.n - 1;
    while (j > 0 && (k[j - 1].end > end || (k[j - 1].end == end && k[j - 1].cls > cls))) {
        k[j] = k[j - 1];
        j--;
    }
    if (j > 0 && k[j - 1].end == end && k[j - 1].cls == cls) { /* already there: undo */
        memmove(&k[j], &k[j + 1], (s->kws.n - 1 - j) * sizeof *k);
        s->kws.n--;
        return PHI_OK;
    }
    k[j].start = (uint32_t)a, k[j].end = (uint32_t)end, k[j].cls = cls;
    return PHI_OK;
}

int phi_labels_hash(phi_scratch *s, size_t i)
{
    return add_kw_at(s, i + 1, i + 1, PHI_C_ID); /* the '#' */
}

int phi_labels_word(const phi_detector *d, phi_scratch *s, size_t i, size_t e)
{
    /* No phrase or weak cue starts with a word of this length and these
     * letters: the lookups could only miss (a phrase is matched against the
     * text after its hash is found, so skipping cannot lose one). */
    if (!phi_labels_maybe(&d->labels, s->text + i, e - i)) return PHI_OK;
    return phi_labels_word_hash(d, s, i, e, phi_hash_word(s->text + i, e - i));
}

int phi_labels_word_hash(const phi_detector *d, phi_scratch *s, size_t i, size_t e, uint64_t h)
{
    const phi_labels *l = &d->labels;
    const uint8_t *t = s->text;
    size_t len = s->len;
    uint16_t f = phi_dict_get(&l->first, h), at = f & (PHI_LABELS_WEAK - 1);
    for (size_t q = at ? at - 1u : l->n; q < l->n && l->ph[q].hash == h; q++) {
        const phi_label_phrase *ph = &l->ph[q];
        size_t a, end = match_phrase(t, len, i, ph->txt, ph->n1, &a);
        if (!end) continue;
        int rc = add_kw_at(s, a, end, ph->cls);
        if (!rc && end < len &&
            ((t[end] == '.' && (DOT_CLASSES & CB(ph->cls))) ||
             (t[end] == ':' && ph->cls == PHI_C_ADDR)))
            rc = add_kw_at(s, end + 1, end + 1, ph->cls); /* the dot or colon */
        if (rc) return rc;
    }
    /* "at 12", "on 4": a weak address cue ends after the first digit */
    if (e - i <= 4 && (f & PHI_LABELS_WEAK)) {
        size_t q = e;
        while (q < len && phi_is_hs_space(t[q]))
            q++;
        if (q > e && q < len && phi_is_digit(t[q]))
            return add_kw_at(s, q + 1, q + 1, PHI_C_ADDR_WEAK); /* the digit */
    }
    return PHI_OK;
}

int phi_labels_scan(const phi_detector *d, phi_scratch *s)
{
    const uint8_t *t = s->text;
    size_t len = s->len, i = 0;
    while (i < len) {
        uint8_t c = t[i];
        if (!phi_is_hs_word(c)) {
            if (c == '#') {
                int rc = phi_labels_hash(s, i);
                if (rc) return rc;
            }
            i++;
            continue;
        }
        if (phi_is_alpha(c)) { /* a word start (the byte before is not a word byte) */
            size_t e = i;
            while (e < len && phi_is_alpha(t[e]))
                e++;
            int rc = phi_labels_word(d, s, i, e);
            if (rc) return rc;
        }
        while (i < len && phi_is_hs_word(t[i]))
            i++;
    }
    return PHI_OK;
}
