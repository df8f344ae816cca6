/*
 * phi_patterns: the Hyperscan expressions of the single regex pass.
 *
 * Two kinds of patterns share one database, so one pass over the text finds
 * both: VALUE patterns (a date, a phone number, an id-shaped token ...) and
 * CONTEXT patterns (labels such as "MRN", "fax", "DOB", "pain"). Validators
 * and context scoring in phi_detect.c combine them afterwards. Keeping the
 * labels out of the value patterns keeps each expression small (Hyperscan
 * compiles faster and scans faster) and lets any label serve any value form.
 *
 * Every pattern uses HS_FLAG_SOM_LEFTMOST (the start offset is needed) and
 * none uses HS_FLAG_UTF8: the input may be invalid UTF-8, and byte semantics
 * are all the patterns need (identifiers and labels are ASCII).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "phi_internal.h"

#define CL HS_FLAG_CASELESS
#define V(re, fl, type, val, score) {re, fl, PHI_PK_VALUE, type, val, score}
#define C(re, cls) {re, CL, PHI_PK_CONTEXT, cls, PHI_V_NONE, 0}

#define MON                                                                                        \
    "(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"            \
    "sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
#define MONFULL "(?:January|February|March|April|June|July|August|September|October|November|December)"
#define DAY "(?:0?[1-9]|[12][0-9]|3[01])"
#define MM "(?:0?[1-9]|1[0-2])"
#define ORD "(?:st|nd|rd|th)"
#define STATE_ABBR                                                                                 \
    "(?:A[LKZR]|C[AOT]|D[EC]|FL|GA|HI|I[DLNA]|K[SY]|LA|M[EDAINSOT]|N[EVHJMYCD]|O[HKR]|PA|RI|S[CD]|" \
    "T[NX]|UT|V[TA]|W[AVIY])"
#define STREET                                                                                     \
    "(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Drive|Dr|Lane|Ln|Court|Ct|Place|Pl|Terrace|"  \
    "Ter|Way|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl|Pike|Row|Alley|Path|Plaza|"  \
    "Crescent|Loop|Turnpike|Tpke|Expressway|Broadway|Walk|Close|Gardens|Heights|Run|Ridge)"
#define UNIT "(?:,?\\s*(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|Rm|Room|Bldg|Building|#)\\.?\\s*#?\\s*[A-Za-z0-9-]{1,6})?"
#define FACWORD                                                                                    \
    "(?:Hospital|Medical Center|Medical Centre|Health Center|Health Centre|Clinic|Health System|"  \
    "Healthcare|Health Care|Nursing Home|Nursing Facility|Rehabilitation Center|Rehab Center|"    \
    "Rehabilitation Hospital|Hospice|Infirmary|Medical Group|Surgical Center|Surgery Center|"     \
    "Urgent Care|Care Center|Cancer Center|Children's Hospital|Memorial Hospital|Medical Associates|" \
    "Family Practice|Health Clinic|Dialysis Center|Skilled Nursing Facility|Assisted Living|"      \
    "Manor|Pavilion|Sanatorium|Psychiatric Center)"

const phi_pattern phi_patterns[] = {
    /* ---- dates ---- */
    V("\\b" MM "([/.-])" DAY "[/.-](?:19|20)?[0-9]{2}\\b(?:\\s+[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?:\\s?[AaPp][Mm])?)?",
      0, PHI_DATE, PHI_V_DATE_NUM, 0.9f),
    V("\\b" DAY "[/.-]" MM "[/.-](?:19|20)[0-9]{2}\\b", 0, PHI_DATE, PHI_V_DATE_NUM, 0.85f),
    V("\\b(?:1[89]|20)[0-9]{2}[/.-]" MM "[/.-]" DAY
      "\\b(?:[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?:\\.[0-9]+)?Z?)?",
      0, PHI_DATE, PHI_V_DATE_NUM, 0.9f),
    V("\\b" MM "/" DAY "\\b", 0, PHI_DATE, PHI_V_DATE_MD, 0.6f),
    V("\\b" MM "[/-](?:19|20)[0-9]{2}\\b", 0, PHI_DATE, PHI_V_DATE_MY, 0.8f),
    V("\\b" MON "\\.?\\s{0,2}" DAY ORD "?\\b(?:,?\\s{0,2}(?:(?:19|20)[0-9]{2}|'[0-9]{2})\\b)?", CL,
      PHI_DATE, PHI_V_DATE_TEXT, 0.9f),
    V("\\b" DAY ORD "?(?:\\s+of)?[\\s-]{1,2}" MON "\\b\\.?(?:[\\s,-]{1,3}(?:(?:19|20)?[0-9]{2})\\b)?",
      CL, PHI_DATE, PHI_V_DATE_TEXT, 0.85f),
    V("\\b" MON "\\.?,?\\s{1,2}(?:of\\s)?(?:(?:19|20)[0-9]{2}|'[0-9]{2})\\b", CL, PHI_DATE,
      PHI_V_DATE_TEXT, 0.85f),
    V("\\b(?:in|since|during|until|till|by|of|early|late|mid|last|next|this|before|after)[\\s-]+" MONFULL
      "\\b",
      0, PHI_DATE, PHI_V_MONTH_ONLY, 0.7f),
    V("\\b(?:on|the|of|by|since|until)\\s+(?:the\\s+)?(?:[1-9]|[12][0-9]|3[01])" ORD "\\b", CL,
      PHI_DATE, PHI_V_ORDINAL, 0.7f),
    V("\\b(?:Christmas(?: Eve| Day)?|Thanksgiving(?: Day)?|Easter(?: Sunday)?|New Year'?s(?: Day| Eve)?|"
      "Independence Day|July 4th|Fourth of July|Labor Day|Memorial Day|Halloween|Valentine'?s Day|"
      "Veterans Day|Mother'?s Day|Father'?s Day|Martin Luther King Day|MLK Day|Presidents'? Day|"
      "Columbus Day|Hanukkah|Passover|Ramadan|Yom Kippur|Rosh Hashanah|Diwali|Eid)"
      ",?\\s+(?:of\\s+)?(?:19|20)[0-9]{2}\\b",
      0, PHI_DATE, PHI_V_PLAIN, 0.9f),
    /* ---- ages over 89 ---- */
    V("\\b(?:9[0-9]|1[01][0-9])(?:\\s*-\\s*|\\s+)?(?:y/?o\\b|y\\.o\\.|yo\\b|yrs?\\b|years?\\b|year-old|yr-old|-year)",
      CL, PHI_AGE, PHI_V_AGE, 0.9f),
    V("\\b(?:age[ds]?|aged|age:)\\s*:?\\s*(?:9[0-9]|1[01][0-9])\\b", CL, PHI_AGE, PHI_V_AGE, 0.9f),
    V("\\b(?:9[0-9]|1[01][0-9])\\s*(?:M|F|yM|yF)\\b", 0, PHI_AGE, PHI_V_AGE, 0.6f),
    V("\\bin\\s+(?:his|her|their)\\s+(?:early\\s+|mid[\\s-]|late\\s+)?(?:90|100)'?s\\b", CL, PHI_AGE,
      PHI_V_AGE, 0.85f),
    /* ---- phones ---- */
    V("(?:\\+?1[\\s.-]?)?(?:\\([2-9][0-9]{2}\\)\\s?|\\b[2-9][0-9]{2}[\\s.-]?)[2-9][0-9]{2}[\\s.-]?[0-9]{4}\\b"
      "(?:\\s*(?:x|ext\\.?|extension)\\s*[0-9]{1,5}\\b)?",
      CL, PHI_PHONE, PHI_V_PHONE, 0.85f),
    V("\\b[2-9][0-9]{2}-[0-9]{4}\\b", 0, PHI_PHONE, PHI_V_PHONE_LOOSE, 0.5f),
    V("\\+[1-9][0-9]{0,2}[\\s.-]?(?:\\(0\\)\\s?)?(?:\\([0-9]{1,4}\\)\\s?)?[0-9]{1,4}(?:[\\s.-]?[0-9]{2,4}){1,4}\\b",
      0, PHI_PHONE, PHI_V_PHONE_LOOSE, 0.8f),
    V("\\b00?1-[0-9]{3}-[0-9]{3}-[0-9]{4}\\b", 0, PHI_PHONE, PHI_V_PHONE_LOOSE, 0.8f),
    V("\\b0[0-9]{2,4}[\\s.-][0-9]{2,4}(?:[\\s.-][0-9]{2,4}){1,3}\\b", 0, PHI_PHONE,
      PHI_V_PHONE_LOOSE, 0.6f),
    V("\\([0-9]{2,4}\\)\\s?[0-9]{3,4}[\\s-][0-9]{3,4}\\b", 0, PHI_PHONE, PHI_V_PHONE_LOOSE, 0.7f),
    V("\\b[0-9]{2}([.-])[0-9]{2}[.-][0-9]{2}[.-][0-9]{2}(?:[.-][0-9]{2})?\\b", 0, PHI_PHONE,
      PHI_V_PHONE_LOOSE, 0.5f),
    V("\\b[0-9]{2,4}(?:\\s[0-9]{2,4}){1,3}\\b", 0, PHI_PHONE, PHI_V_PHONE_LOOSE, 0.3f),
    V("\\b[0-9]{3}\\.[0-9]{3}\\.[0-9]{4}(?:x[0-9]{1,5})?\\b", 0, PHI_PHONE, PHI_V_PHONE_LOOSE, 0.8f),
    /* ---- internet ---- */
    V("\\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}\\b", 0,
      PHI_EMAIL, PHI_V_EMAIL, 0.95f),
    V("\\b(?:https?://|ftp://|www\\.)[^\\s<>\"'()\\[\\]{}]+", CL, PHI_URL, PHI_V_URL, 0.9f),
    V("\\b[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.(?:com|org|net|edu|gov|io|info|biz|us|health|"
      "care|co\\.uk|ca|de|fr)\\b(?:/[^\\s<>\"']*)?",
      0, PHI_URL, PHI_V_URL, 0.6f),
    V("\\b(?:25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})(?:\\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})){3}\\b", 0,
      PHI_IP, PHI_V_IPV4, 0.85f),
    V("(?:\\b[0-9A-Fa-f]{1,4}|::)(?::{1,2}[0-9A-Fa-f]{0,4}){2,7}(?:\\b|::)", 0, PHI_IP, PHI_V_IPV6,
      0.85f),
    /* ---- numbers with checks ---- */
    V("\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b", 0, PHI_SSN, PHI_V_SSN, 0.85f),
    V("\\b[0-9]{3}\\s[0-9]{2}\\s[0-9]{4}\\b", 0, PHI_SSN, PHI_V_SSN, 0.6f),
    V("\\b[0-9]{4}(?:[\\s-]?[0-9]{4}){2}[\\s-]?[0-9]{1,7}\\b", 0, PHI_CARD, PHI_V_DIGITS, 0.8f),
    V("\\b[0-9]{4}[\\s-]?[0-9]{6}[\\s-]?[0-9]{5}\\b", 0, PHI_CARD, PHI_V_DIGITS, 0.8f),
    V("\\b[A-Za-z][A-Za-z9][0-9]{7}\\b", 0, PHI_ID, PHI_V_DEA, 0.85f),
    V("\\b[A-Za-z]{2}[0-9]{2}(?:\\s?[A-Za-z0-9]{4}){2,7}(?:\\s?[A-Za-z0-9]{1,4})?\\b", 0, PHI_ACCOUNT,
      PHI_V_IBAN, 0.9f),
    V("\\b[A-HJ-NPR-Za-hj-npr-z0-9]{17}\\b", 0, PHI_VEHICLE, PHI_V_VIN, 0.9f),
    /* any id-shaped token: digits, or letters and digits, maybe with dashes */
    V("\\b[A-Za-z]{0,5}[-]?[0-9][A-Za-z0-9]*(?:[-/.][A-Za-z0-9]+){0,4}\\b", 0, PHI_ID, PHI_V_IDVAL,
      0.5f),
    /* ---- places ---- */
    V("\\b[0-9]{1,6}[A-Za-z]?(?:-[0-9]{1,4})?\\s+(?:(?:N|S|E|W|NE|NW|SE|SW|North|South|East|West)\\.?\\s+)?"
      "(?:(?:[0-9]{1,3}(?:st|nd|rd|th)|[A-Z][A-Za-z'-]*\\.?)\\s+){0,3}(?:[0-9]{1,3}(?:st|nd|rd|th)|[A-Z][A-Za-z'-]*)\\s+" STREET
      "\\b\\.?(?:\\s+(?:N|S|E|W|NE|NW|SE|SW)\\b\\.?)?" UNIT,
      0, PHI_ADDRESS, PHI_V_ADDRESS, 0.9f),
    V("\\b(?:P\\.?\\s?O\\.?\\s?Box|Post Office Box|PO Box)\\s+[0-9]{1,6}\\b", CL, PHI_ADDRESS,
      PHI_V_PLAIN, 0.9f),
    V("\\b(?:PSC|Unit|CMR)\\s+[0-9]{3,5},?\\s+Box\\s+[0-9]{3,5}\\b", 0, PHI_ADDRESS, PHI_V_PLAIN,
      0.9f),
    V("\\b(?:APO|FPO|DPO)\\s+A[AEP]\\s+[0-9]{5}\\b", 0, PHI_ADDRESS, PHI_V_PLAIN, 0.9f),
    V("\\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2},\\s+" STATE_ABBR "\\b", 0, PHI_CITY,
      PHI_V_CITY_STATE, 0.85f),
    V("\\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2},\\s+(?:Alabama|Alaska|Arizona|Arkansas|California|Colorado|"
      "Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|"
      "Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|"
      "Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|"
      "Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|"
      "Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming)\\b",
      0, PHI_CITY, PHI_V_CITY_STATE, 0.85f),
    V("\\b" STATE_ABBR ",?\\s+[0-9]{5}(?:-[0-9]{4})?\\b", 0, PHI_ZIP, PHI_V_ZIP_STATE, 0.9f),
    V("\\b(?:zip|zip\\s?code|postal\\s?code|postcode)\\s*:?\\s*(?:is\\s+)?[0-9]{5}(?:-[0-9]{4})?\\b", CL,
      PHI_ZIP, PHI_V_ZIP_CTX, 0.9f),
    V("\\b(?:lives|living|lived|resides|residing|resident|moved|moving|relocated|born|raised|grew up|"
      "travel(?:l?ed)?|transferred|visiting|returned|home)\\s+(?:in|to|from|at|near|back to)\\s+"
      "(?:[A-Z][a-z]+|[A-Z]{3,})(?:[ -](?:[A-Z][a-z]+|[A-Z]{3,})){0,2}\\b",
      0, PHI_CITY, PHI_V_CITY_CTX, 0.7f),
    V("\\b(?:[A-Z][A-Za-z'.-]+\\s+){1,4}" FACWORD "\\b", 0, PHI_FACILITY, PHI_V_FACILITY, 0.85f),
    V("\\b(?:St\\.?|Saint)\\s+[A-Z][a-z]+'s\\b(?:\\s+(?:Regional|Medical|General|Community|Memorial|"
      "Hospital|Health|Clinic|Center|Centre))*",
      0, PHI_FACILITY, PHI_V_FACILITY, 0.75f),
    V("\\b(?:Hospital|Clinic|Hospice|Infirmary)\\s+(?:of|de|del)\\s+(?:the\\s+)?[A-Z][a-z]+(?:\\s+[A-Z][a-z]+){0,3}\\b",
      0, PHI_FACILITY, PHI_V_FACILITY, 0.8f),

    /* ---- context labels ---- */
    C("\\b(?:mrn|mr\\s?#|medical\\s+record(?:\\s+(?:number|no|#))?|med\\s+rec(?:ord)?|record\\s+(?:no|number|#)|"
      "chart\\s+(?:no|number|#)|unit\\s+(?:no|number)|hospital\\s+(?:no|number|id)|patient\\s+id|pt\\s+id|"
      "mr\\s+number|mr\\s+no|encounter\\s+(?:no|number|id|#)|visit\\s+(?:no|number|id|#)|csn|fin|har)\\b\\.?",
      PHI_C_MRN),
    C("\\b(?:acct|account|acc|a/c|billing\\s+(?:no|number|#|id)|invoice|claim\\s+(?:no|number|#|id)|"
      "bank\\s+account|checking|savings|iban)\\b\\.?",
      PHI_C_ACCOUNT),
    C("\\b(?:member|subscriber|policy|group|plan|insurance|insured|medicare|medicaid|beneficiary|hicn|mbi|"
      "health\\s+plan|coverage|payer|payor|bcbs|aetna|cigna|humana|united\\s?health(?:care)?|kaiser|"
      "tricare)\\b\\.?",
      PHI_C_PLAN),
    C("\\b(?:license|licence|lic|dl|driver'?s?\\s+lic(?:ense|ence)?|certificate|cert|passport|state\\s+id|"
      "permit|registration)\\b\\.?",
      PHI_C_LICENSE),
    C("\\b(?:serial|s/n|sn|device|udi|lot|model|imei|mac\\s+address|pacemaker|icd|defibrillator|pump|"
      "implant|stimulator|hearing\\s+aid|cgm|monitor|meid|esn)\\b\\.?",
      PHI_C_DEVICE),
    C("\\b(?:vin|plate|license\\s+plate|licence\\s+plate|tag|vehicle|car|truck)\\b\\.?", PHI_C_VEHICLE),
    C("\\b(?:ssn|social\\s+security(?:\\s+(?:number|no|#))?|ss#|ss\\s+no|soc\\s+sec)\\b\\.?",
      PHI_C_SSN),
    C("\\b(?:phone|ph|tel|telephone|cell|cellphone|mobile|call|called|calling|pager|pgr|beeper|page|paged|"
      "contact|reach|reached|text|texted|messages|voicemail|vm|home|work|office|landline|cel|"
      "number|dial|registered|answering|ext|extension)\\b\\.?",
      PHI_C_PHONE),
    C("\\b(?:fax|facsimile|faxed|fx)\\b\\.?", PHI_C_FAX),
    C("\\b(?:card|credit|debit|visa|mastercard|amex|american\\s+express|discover|cc|diners|jcb)\\b",
      PHI_C_CARD),
    C("\\bnpi\\b", PHI_C_NPI),
    C("\\bdea\\b", PHI_C_DEA),
    C("\\b(?:routing|aba|rtn|transit)\\b", PHI_C_ROUTING),
    C("\\b(?:id|identifier|ident|reference|ref|case|file|confirmation|tracking|order|specimen|accession|"
      "requisition|barcode|ticket|employee|badge|student|member)\\b\\.?|#",
      PHI_C_ID),
    C("\\b(?:dob|d\\.o\\.b|birth|born|birthday|bday|admitted|admission|admit|discharged|discharge|seen|"
      "visit|visited|date|dated|dos|surgery|procedure|since|until|from|through|on|last|next|"
      "appointment|appt|follow[\\s-]?up|f/u|scheduled|expired|died|death|deceased|delivered|"
      "edd|lmp|started|stopped|returned|presented|onset|injury|accident|fell|fall)\\b",
      PHI_C_DATE),
    C("\\b(?:pain|score|scale|strength|bp|blood\\s+pressure|murmur|grade|ratio|tab|tabs|tablet|tablets|"
      "cap|caps|dose|doses|vision|acuity|gcs|apgar|motor|power|reflexes|sbp|dbp|pressure|gravida|para|"
      "g[0-9]p[0-9]|units|mg|ml|mcg|out\\s+of|times|nihss|phq|gad|mmse|moca|ejection|ef|rr|hr|"
      "breaths|beats|sat|sats|spo2|fio2|peep|vt|cm|mm|inch|inches|cups|drinks|packs|pack|"
      "ppd|strength|sensation|pulses|reflex|glasgow|edema|equal|hypertension|hypotension|htn|"
      "systolic|diastolic|lying|standing|sitting|orthostatic|vitals)\\b",
      PHI_C_NODATE),
    C("\\b(?:zip|zip\\s?code|postal|postcode)\\b", PHI_C_ZIP),
};

const size_t phi_patterns_count = sizeof phi_patterns / sizeof phi_patterns[0];

int phi_patterns_compile(hs_database_t **db)
{
    size_t n = phi_patterns_count;
    const char **exprs = calloc(n, sizeof *exprs);
    unsigned *flags = calloc(n, sizeof *flags);
    unsigned *ids = calloc(n, sizeof *ids);
    int rc = PHI_ENOMEM;
    if (!exprs || !flags || !ids) goto out_free;
    for (size_t i = 0; i < n; i++) {
        exprs[i] = phi_patterns[i].re;
        flags[i] = phi_patterns[i].flags | HS_FLAG_SOM_LEFTMOST;
        ids[i] = (unsigned)i;
    }
    hs_compile_error_t *err = NULL;
    if (hs_compile_multi(exprs, flags, ids, (unsigned)n, HS_MODE_BLOCK, NULL, db, &err) !=
        HS_SUCCESS) {
        /* Only pattern text (never input) goes to stderr: this is a build bug. */
        if (err) {
            fprintf(stderr, "phi: pattern %d does not compile: %s\n", err->expression,
                    err->message);
            hs_free_compile_error(err);
        }
        rc = PHI_EENGINE;
        goto out_free;
    }
    rc = PHI_OK;
out_free:
    free(exprs);
    free(flags);
    free(ids);
    return rc;
}
