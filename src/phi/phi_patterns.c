/*
 * phi_patterns: the Hyperscan expressions of the single regex pass.
 *
 * Two kinds of patterns: VALUE patterns (a date, a phone number ...), compiled
 * into one Hyperscan database, and CONTEXT patterns (labels such as "MRN",
 * "fax", "DOB", "pain"), which are the definition of what phi_labels.c
 * matches in C (cheaper: short words that occur everywhere were a third of
 * the database's cost) and are compiled only by its test. Validators
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
#define V(re, fl, type, val, score)                                                                \
    {                                                                                              \
        re, fl, PHI_PK_VALUE, type, val, score, 0, 0                                               \
    }
#define VL(re, fl, type, val, score, maxlen)                                                       \
    {                                                                                              \
        re, fl, PHI_PK_VALUE, type, val, score, maxlen, 0                                          \
    }
/* A value matched by C code (phi_shapes.c): the expression is its definition. */
#define CS(re, fl, type, val, score, st)                                                           \
    {                                                                                              \
        re, fl, PHI_PK_CSCAN, type, val, score, 0, st                                              \
    }
/* A value whose start phi_start_fast can find without a window scan. */
#define VS(re, fl, type, val, score, st)                                                           \
    {                                                                                              \
        re, fl, PHI_PK_VALUE, type, val, score, 0, st                                              \
    }
/* A value whose ends C code finds (phi_shapes_zero_groups, phi_shapes_ordinal): out of the
 * main database; its start from phi_start_fast (st) or the window scan. */
#define VC(re, fl, type, val, score, st)                                                           \
    {                                                                                              \
        re, fl, PHI_PK_VALUE_C, type, val, score, 0, st                                            \
    }
#define E(re, fl, type, val, score)                                                                \
    {                                                                                              \
        re, fl, PHI_PK_VALUE_END, type, val, score, 0, 0                                           \
    }
#define C(re, cls)                                                                                 \
    {                                                                                              \
        re, CL, PHI_PK_CONTEXT, cls, PHI_V_NONE, 0, 0, 0                                           \
    }

#define MON                                                                                        \
    "(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"             \
    "sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
#define MONFULL                                                                                    \
    "(?:January|February|March|April|June|July|August|September|October|November|December)"
#define DAY "(?:0?[1-9]|[12][0-9]|3[01])"
#define MM  "(?:0?[1-9]|1[0-2])"
#define ORD "(?:st|nd|rd|th)"
#define STATE_ABBR                                                                                 \
    "(?:A[LKZR]|C[AOT]|D[EC]|FL|GA|HI|I[DLNA]|K[SY]|LA|M[EDAINSOT]|N[EVHJMYCD]|O[HKR]|PA|RI|S[CD]" \
    "|"                                                                                            \
    "T[NX]|UT|V[TA]|W[AVIY])"
#define STREET                                                                                     \
    "(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Drive|Dr|Lane|Ln|Court|Ct|Place|Pl|Terrace|"   \
    "Ter|Way|Circle|Cir|Parkway|Pkwy|Highway|Hwy|Square|Sq|Trail|Trl|Pike|Row|Alley|Path|Plaza|"   \
    "Crescent|Loop|Turnpike|Tpke|Expressway|Broadway|Walk|Close|Gardens|Heights|Run|Ridge)"
#define UNIT                                                                                       \
    "(?:,?[ "                                                                                      \
    "\t]*(?:Apt|Apartment|Suite|Ste|Unit|Fl|Floor|Rm|Room|Bldg|Building|#)\\.?\\s*#?\\s*[A-Za-z0-" \
    "9-]{1,6})?"
#define FACWORD_UP                                                                                 \
    "(?:HOSPITAL|MEDICAL CENTER|HEALTH CENTER|CLINIC|HEALTH SYSTEM|HEALTHCARE|NURSING HOME|"       \
    "REHABILITATION CENTER|REHAB CENTER|HOSPICE|INFIRMARY|MEDICAL GROUP|SURGICAL CENTER|"          \
    "SURGERY CENTER|URGENT CARE|CARE CENTER|CANCER CENTER|CHILDREN'S HOSPITAL|DIALYSIS CENTER|"    \
    "FAMILY PRACTICE|SKILLED NURSING FACILITY|ASSISTED LIVING|PSYCHIATRIC CENTER)"
#define FACWORD                                                                                    \
    "(?:Hospital|Medical Center|Medical Centre|Health Center|Health Centre|Clinic|Health System|"  \
    "Healthcare|Health Care|Nursing Home|Nursing Facility|Rehabilitation Center|Rehab Center|"     \
    "Rehabilitation Hospital|Hospice|Infirmary|Medical Group|Surgical Center|Surgery Center|"      \
    "Urgent Care|Care Center|Cancer Center|Children's Hospital|Memorial Hospital|Medical "         \
    "Associates|"                                                                                  \
    "Family Practice|Health Clinic|Dialysis Center|Skilled Nursing Facility|Assisted Living|"      \
    "Manor|Pavilion|Sanatorium|Psychiatric Center)"

const phi_pattern phi_patterns[] = {
    /* ---- dates ---- */
    VS("\\b" MM "([/.-])" DAY "[/"
       ".-](?:19|20)?[0-9]{2}\\b(?:\\s{1,3}[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?:\\s?[AaPp][Mm])?)?",
       0, PHI_DATE, PHI_V_DATE_NUM, 0.9f, PHI_S_MDY),
    VS("\\b" DAY "[/.-]" MM "[/.-](?:19|20)[0-9]{2}\\b", 0, PHI_DATE, PHI_V_DATE_NUM, 0.85f,
       PHI_S_DMY),
    VS("\\b(?:1[89]|20)[0-9]{2}[/.-]" MM "[/.-]" DAY
       "\\b(?:[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?:\\.[0-9]{1,9})?Z?)?",
       0, PHI_DATE, PHI_V_DATE_NUM, 0.9f, PHI_S_YMD),
    VS("\\b" MM "/" DAY "\\b", 0, PHI_DATE, PHI_V_DATE_MD, 0.6f, PHI_S_MD),
    VS("\\b" MM "[/-](?:19|20)[0-9]{2}\\b", 0, PHI_DATE, PHI_V_DATE_MY, 0.8f, PHI_S_MY),
    VS("\\b" MON "\\.?\\s{0,2}" DAY ORD "?\\b(?:,?\\s{0,2}(?:(?:19|20)[0-9]{2}|'[0-9]{2})\\b)?", CL,
       PHI_DATE, PHI_V_DATE_TEXT, 0.9f, PHI_S_MONTH_DAY),
    VS("\\b" DAY ORD "?(?:\\s{1,3}of)?[\\s-]{1,2}" MON
       "\\b\\.?(?:[\\s,-]{1,3}(?:(?:19|20)?[0-9]{2})\\b)?",
       CL, PHI_DATE, PHI_V_DATE_TEXT, 0.85f, PHI_S_DAY_MONTH),
    VS("\\b" MON "\\.?,?\\s{1,2}(?:of\\s)?(?:(?:19|20)[0-9]{2}|'[0-9]{2})\\b", CL, PHI_DATE,
       PHI_V_DATE_TEXT, 0.85f, PHI_S_MONTH_YEAR),
    VS("\\b(?:in|since|during|until|till|by|of|early|late|mid|last|next|this|before|after)[\\s-]"
       "{1,3}" MONFULL "\\b",
       0, PHI_DATE, PHI_V_MONTH_ONLY, 0.7f, PHI_S_IN_MONTH),
    /* its words ("on", "the", "of") start a match everywhere: 2,500 of the main database's
     * 30,600 instructions a note; matched in C, phi_shapes_ordinal */
    VC("\\b(?:on|the|of|by|since|until)\\s{1,3}(?:the\\s{1,3})?(?:[1-9]|[12][0-9]|3[01])" ORD "\\b",
       CL, PHI_DATE, PHI_V_ORDINAL, 0.7f, PHI_S_ON_THE),
    V("\\b(?:Christmas(?: Eve| Day)?|Thanksgiving(?: Day)?|Easter(?: Sunday)?|New Year'?s(?: Day| "
      "Eve)?|"
      "Independence Day|July 4th|Fourth of July|Labor Day|Memorial Day|Halloween|Valentine'?s Day|"
      "Veterans Day|Mother'?s Day|Father'?s Day|Martin Luther King Day|MLK Day|Presidents'? Day|"
      "Columbus Day|Hanukkah|Passover|Ramadan|Yom Kippur|Rosh Hashanah|Diwali|Eid)"
      ",?\\s{1,3}(?:of\\s{1,3})?(?:19|20)[0-9]{2}\\b",
      0, PHI_DATE, PHI_V_PLAIN, 0.9f),
    /* ---- ages over 89 ---- */
    VS("\\b(?:9[0-9]|1[01][0-9])(?:\\s{0,3}-\\s{0,3}|\\s{1,3})?(?:y/"
       "?o\\b|y\\.o\\.|yo\\b|yrs?\\b|years?\\b|year-old|yr-old|-year)",
       CL, PHI_AGE, PHI_V_AGE, 0.9f, PHI_S_AGE),
    VS("\\b(?:age[ds]?|aged|age:)\\s{0,3}:?\\s{0,3}(?:9[0-9]|1[01][0-9])\\b", CL, PHI_AGE,
       PHI_V_AGE, 0.9f, PHI_S_AGE_LABEL),
    V("\\b(?:9[0-9]|1[01][0-9])\\s{0,3}(?:M|F|yM|yF)\\b", 0, PHI_AGE, PHI_V_AGE, 0.6f),
    V("\\bin\\s{1,3}(?:his|her|their)\\s{1,3}(?:early\\s{1,3}|mid[\\s-]|late\\s{1,3})?(?:90|100)'?"
      "s\\b",
      CL, PHI_AGE, PHI_V_AGE, 0.85f),
    /* ---- phones ---- */
    {"(?:\\+?1[\\s.-]?)?(?:\\([2-9][0-9]{2}\\)\\s?|\\b[2-9][0-9]{2}[\\s.-]?)[2-9][0-9]{2}[\\s.-]?["
     "0-9]{4}"
     "(?:\\s{0,3}(?:x|ext\\.?|extension)\\s{0,3}[0-9]{1,5})?\\b",
     CL, PHI_PK_VALUE, PHI_PHONE, PHI_V_PHONE, 0.85f, 0, PHI_S_NANP},
    CS("\\b[2-9][0-9]{2}-[0-9]{4}\\b", 0, PHI_PHONE, PHI_V_PHONE_LOOSE, 0.5f,
       PHI_S_SCAN_PHONE_DASH),
    VS("\\+[1-9][0-9]{0,2}[\\s.-]?(?:\\(0\\)\\s?)?(?:\\([0-9]{1,4}\\)\\s?)?[0-9]{1,4}(?:[\\s.-]?[0-"
       "9]{2,4}){1,4}\\b",
       0, PHI_PHONE, PHI_V_PHONE_LOOSE, 0.8f, PHI_S_INTL),
    CS("\\b00?1-[0-9]{3}-[0-9]{3}-[0-9]{4}\\b", 0, PHI_PHONE, PHI_V_PHONE_LOOSE, 0.8f,
       PHI_S_SCAN_PHONE_001),
    /* alone, it made every scan of the main database about 12 % dearer (4,000 of 34,600
     * instructions a note): matched in C, phi_shapes_zero_groups */
    VC("\\b0[0-9]{2,4}[\\s.-][0-9]{2,4}(?:[\\s.-][0-9]{2,4}){1,3}\\b", 0, PHI_PHONE,
       PHI_V_PHONE_LOOSE, 0.6f, 0),
    VS("\\([0-9]{2,4}\\)\\s?[0-9]{3,4}[\\s-][0-9]{3,4}\\b", 0, PHI_PHONE, PHI_V_PHONE_LOOSE, 0.7f,
       PHI_S_PAREN),
    V("\\b[0-9]{2}([.-])[0-9]{2}[.-][0-9]{2}[.-][0-9]{2}(?:[.-][0-9]{2})?\\b", 0, PHI_PHONE,
      PHI_V_PHONE_LOOSE, 0.5f),
    VS("\\b[0-9]{2,4}(?:\\s[0-9]{2,4}){1,3}\\b", 0, PHI_PHONE, PHI_V_PHONE_LOOSE, 0.3f,
       PHI_S_GROUPS),
    CS("\\b[0-9]{3}\\.[0-9]{3}\\.[0-9]{4}(?:x[0-9]{1,5})?\\b", 0, PHI_PHONE, PHI_V_PHONE_LOOSE,
       0.8f, PHI_S_SCAN_PHONE_DOTS),
    /* 3-3-4 with dashes that NANP's rules refuse (an exchange starting 0 or 1, as in
     * "555-123-4567"): only with a phone label. */
    V("\\b[0-9]{3}-[01][0-9]{2}-[0-9]{4}(?:\\s{0,3}(?:x|ext\\.?|extension)\\s{0,3}[0-9]{1,5})?\\b",
      CL, PHI_PHONE, PHI_V_PHONE_LOOSE, 0.3f),
    /* ---- internet ---- */
    CS("\\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}\\b", 0, PHI_EMAIL,
       PHI_V_EMAIL, 0.95f, PHI_S_SCAN_EMAIL),
    /* every byte of a URL ends a match (4.4 callbacks a note), and it cost 1,950 of the
     * main database's 28,100 instructions a note: matched in C, phi_shapes_url_at */
    {"\\b(?:https?://|ftp://|www\\.)[^\\s<>\"'()\\[\\]{}]+", CL, PHI_PK_VALUE_C, PHI_URL, PHI_V_URL,
     0.9f, 512, PHI_S_URL},
    {"\\b[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.(?:com|org|net|edu|gov|io|info|biz|us|health|"
     "care|co\\.uk|ca|de|fr)\\b(?:/[^\\s<>\"']*)?",
     0, PHI_PK_VALUE, PHI_URL, PHI_V_URL, 0.6f, 160, PHI_S_DOMAIN},
    CS("\\b(?:25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})(?:\\.(?:25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})){3}\\b",
       0, PHI_IP, PHI_V_IPV4, 0.85f, PHI_S_SCAN_IPV4),
    VS("(?:\\b[0-9A-Fa-f]{1,4}|::)(?::{1,2}[0-9A-Fa-f]{0,4}){2,7}(?:\\b|::)", 0, PHI_IP, PHI_V_IPV6,
       0.85f, PHI_S_IPV6),
    /* ---- numbers with checks ---- */
    CS("\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b", 0, PHI_SSN, PHI_V_SSN, 0.85f, PHI_S_SCAN_SSN),
    CS("\\b[0-9]{3}\\s[0-9]{2}\\s[0-9]{4}\\b", 0, PHI_SSN, PHI_V_SSN, 0.6f, PHI_S_SCAN_SSN_SPACED),
    V("\\b[0-9]{4}(?:[\\s-]?[0-9]{4}){2}[\\s-]?[0-9]{1,7}\\b", 0, PHI_CARD, PHI_V_DIGITS, 0.8f),
    V("\\b[0-9]{4}[\\s-]?[0-9]{6}[\\s-]?[0-9]{5}\\b", 0, PHI_CARD, PHI_V_DIGITS, 0.8f),
    CS("\\b[A-Za-z][A-Za-z9][0-9]{7}\\b", 0, PHI_ID, PHI_V_DEA, 0.85f, PHI_S_SCAN_DEA),
    V("\\b[A-Za-z]{2}[0-9]{2}(?:\\s?[A-Za-z0-9]{4}){2,7}(?:\\s?[A-Za-z0-9]{1,4})?\\b", 0,
      PHI_ACCOUNT, PHI_V_IBAN, 0.9f),
    CS("\\b[A-HJ-NPR-Za-hj-npr-z0-9]{17}\\b", 0, PHI_VEHICLE, PHI_V_VIN, 0.9f, PHI_S_SCAN_VIN),
    /* any id-shaped token: digits, or letters and digits, maybe with dashes */
    {NULL, 0, PHI_PK_TOKEN, PHI_ID, PHI_V_IDVAL, 0.5f, 0, 0}, /* made by phi_ids_run */
    /* ---- places ---- */
    /* street suffix: the validator walks back to the house number and forward over the unit */
    CS("\\b" STREET "\\b\\.?", 0, PHI_ADDRESS, PHI_V_ADDRESS, 0.9f, PHI_S_SCAN_STREET),
    V("\\b(?:P\\.?\\s?O\\.?\\s?Box|Post Office Box|PO Box)\\s{1,3}[0-9]{1,6}\\b", CL, PHI_ADDRESS,
      PHI_V_PLAIN, 0.9f),
    V("\\b(?:PSC|Unit|CMR)\\s{1,3}[0-9]{3,5},?\\s{1,3}Box\\s{1,3}[0-9]{3,5}\\b", 0, PHI_ADDRESS,
      PHI_V_PLAIN, 0.9f),
    V("\\b(?:APO|FPO|DPO)\\s{1,3}A[AEP]\\s{1,3}[0-9]{5}\\b", 0, PHI_ADDRESS, PHI_V_PLAIN, 0.9f),
    /* ", MA" / ", Ohio": the validator walks back over the city's words */
    CS(",[ \t]+(?:" STATE_ABBR "|Alabama|Alaska|Arizona|Arkansas|California|Colorado|"
       "Connecticut|Delaware|Florida|Georgia|Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|"
       "Louisiana|Maine|Maryland|Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|"
       "Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|"
       "Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|"
       "Utah|Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming)\\b",
       0, PHI_CITY, PHI_V_CITY_STATE, 0.85f, PHI_S_SCAN_COMMA_STATE),
    CS("\\b" STATE_ABBR ",?\\s{1,3}[0-9]{5}(?:-[0-9]{4})?\\b", 0, PHI_ZIP, PHI_V_ZIP_STATE, 0.9f,
       PHI_S_SCAN_STATE_ZIP),
    V("\\b(?:zip|zip\\s?code|postal\\s?code|postcode)\\s{0,3}:?\\s{0,3}(?:is\\s{1,3})?"
      "(?:[0-9]{3,5}(?:[ -][0-9A-Za-z]{2,4})?|[A-Za-z][0-9][A-Za-z] ?[0-9][A-Za-z][0-9])\\b",
      CL, PHI_ZIP, PHI_V_ZIP_CTX, 0.9f),
    V("\\b(?:lives|living|lived|resides|residing|resident|moved|moving|relocated|born|raised|"
      "grew up|travel(?:l?ed)?|transferred|visiting|returned|home|flew|flying|I'm|I am|am|we're|"
      "originally|currently|year|years)\\s{1,3}(?:(?:nearby|alone|now|still|together|here|there|"
      "mostly|up|down|out|over)\\s{1,3})?(?:in|to|from|at|near|back to|here from)\\s{1,3}"
      "(?:[A-Z\\xc0-\\xff][a-z\\x80-\\xff]{1,30}|[A-Z\\x80-\\xff]{3,30})"
      "(?:[ -](?:[A-Z\\xc0-\\xff][a-z\\x80-\\xff]{1,30}|[A-Z\\x80-\\xff]{3,30})){0,2}",
      0, PHI_CITY, PHI_V_CITY_CTX, 0.7f),
    /* "in X": matched by phi_city_prep_scan (C), not compiled; the expression says what it does */
    {"\\b(?:in|at|from|to)\\s{1,3}(?:[A-Z\\xc0-\\xff][a-z\\x80-\\xff]{1,30}|[A-Z\\x80-\\xff]{3,30})"
     "(?:[ -](?:[A-Z\\xc0-\\xff][a-z\\x80-\\xff]{1,30}|[A-Z\\x80-\\xff]{3,30})){0,2}",
     0, PHI_PK_CSCAN, PHI_CITY, PHI_V_CITY_CTX, 0.5f, 0, PHI_S_SCAN_PREP},
    /* facility words: the validator walks back over the name's capitalized words */
    E("\\b" FACWORD "\\b", 0, PHI_FACILITY, PHI_V_FACILITY, 0.85f),
    E("\\b" FACWORD_UP "\\b", 0, PHI_FACILITY, PHI_V_FACILITY, 0.85f),
    V("\\b(?:St\\.?|Saint)\\s{1,3}[A-Z][a-z]+'s\\b(?:\\s{1,3}(?:Regional|Medical|General|Community|"
      "Memorial|"
      "Hospital|Health|Clinic|Center|Centre)){0,3}",
      0, PHI_FACILITY, PHI_V_FACILITY, 0.75f),
    V("\\b(?:Hospital|Clinic|Hospice|Infirmary)\\s{1,3}(?:of|de|del)\\s{1,3}(?:the\\s{1,3})?[A-Z]["
      "a-z]{1,20}(?: ["
      "A-Z][a-z]{1,20}){0,2}\\b",
      0, PHI_FACILITY, PHI_V_FACILITY, 0.8f),

    /* ---- context labels ---- */
    C("\\b(?:mrn|mr\\s?#|medical\\s+record(?:\\s+(?:number|no|#))?|med\\s+rec(?:ord)?|record\\s+(?:"
      "no|number|#)|"
      "chart\\s+(?:no|number|#)|unit\\s+(?:no|number)|hospital\\s+(?:no|number|id)|patient\\s+id|"
      "pt\\s+id|"
      "mr\\s+number|mr\\s+no|encounter\\s+(?:no|number|id|#)|visit\\s+(?:no|number|id|#)|csn|fin|"
      "har)\\b\\.?",
      PHI_C_MRN),
    C("\\b(?:acct|account|acc|a/"
      "c|billing\\s+(?:no|number|#|id)|invoice|claim\\s+(?:no|number|#|id)|"
      "bank\\s+account|checking|savings|iban)\\b\\.?",
      PHI_C_ACCOUNT),
    C("\\b(?:member|subscriber|policy|group|plan|insurance|insured|medicare|medicaid|beneficiary|"
      "hicn|mbi|"
      "health\\s+plan|coverage|payer|payor|bcbs|aetna|cigna|humana|united\\s?health(?:care)?|"
      "kaiser|"
      "tricare)\\b\\.?",
      PHI_C_PLAN),
    C("\\b(?:license|licence|lic|dl|driver'?s?\\s+lic(?:ense|ence)?|certificate|cert|passport|"
      "state\\s+id|"
      "permit|registration)\\b\\.?",
      PHI_C_LICENSE),
    C("\\b(?:serial|s/"
      "n|sn|device|udi|lot|model|imei|mac\\s+address|pacemaker|icd|defibrillator|pump|"
      "implant|stimulator|hearing\\s+aid|cgm|monitor|meid|esn)\\b\\.?",
      PHI_C_DEVICE),
    C("\\b(?:vin|plate|license\\s+plate|licence\\s+plate|tag|vehicle|car|truck)\\b\\.?",
      PHI_C_VEHICLE),
    C("\\b(?:ssn|social\\s+security(?:\\s+(?:number|no|#))?|ss#|ss\\s+no|soc\\s+sec)\\b\\.?",
      PHI_C_SSN),
    C("\\b(?:phone|ph|tel|telephone|cell|cellphone|mobile|call|called|calling|pager|pgr|beeper|"
      "page|paged|"
      "contact|reach|reached|text|texted|messages|voicemail|home|work|office|landline|"
      "number|dial|registered|answering|extension)\\b\\.?",
      PHI_C_PHONE),
    C("\\b(?:fax|facsimile|faxed|fx)\\b\\.?", PHI_C_FAX),
    C("\\b(?:card|credit|debit|visa|mastercard|amex|american\\s+express|discover|cc|diners|jcb)\\b",
      PHI_C_CARD),
    C("\\bnpi\\b", PHI_C_NPI),
    C("\\bdea\\b", PHI_C_DEA),
    C("\\b(?:routing|aba|rtn|transit)\\b", PHI_C_ROUTING),
    C("\\b(?:id|identifier|ident|reference|ref|case|file|confirmation|tracking|order|specimen|"
      "accession|"
      "requisition|barcode|ticket|employee|badge|student|member)\\b\\.?|#",
      PHI_C_ID),
    C("\\b(?:dob|d\\.o\\.b|birth|born|birthday|bday|admitted|admission|admit|discharged|discharge|"
      "seen|"
      "visit|visited|date|dated|surgery|procedure|since|until|through|"
      "appointment|appt|follow[\\s-]?up|f/u|scheduled|expired|died|death|deceased|delivered|"
      "started|stopped|returned|presented|onset|injury|accident)\\b",
      PHI_C_DATE),
    C("\\b(?:pain|score|scale|strength|blood\\s+pressure|murmur|grade|ratio|tablet|tablets|"
      "dose|doses|vision|acuity|apgar|motor|power|reflexes|pressure|gravida|"
      "nihss|mmse|moca|ejection|breaths|beats|spo2|fio2|peep|inches|cups|drinks|packs|"
      "sensation|pulses|reflex|glasgow|edema|systolic|diastolic|orthostatic|vitals)\\b",
      PHI_C_NODATE),
    C("\\b(?:zip|zip\\s?code|postal|postcode)\\b", PHI_C_ZIP),
    C("\\b(?:pager|pgr|beeper|bleep|pg)\\b\\.?", PHI_C_PAGER),
    C("\\b(?:address(?:es)?(?:\\s+is)?|lives\\s+at|live\\s+at|living\\s+at|located\\s+at|"
      "resides\\s+at|"
      "is\\s+at|are\\s+at|meet\\s+you\\s+at|off\\s+at|sent\\s+to|send\\s+(?:it|them|this|that|a\\s+"
      "new\\s+one)\\s+to|"
      "return\\s+to|moved\\s+to|deliver(?:ed)?\\s+to|mail(?:ed)?\\s+to|ship(?:ped)?\\s+to|with|"
      "here\\s+they\\s+are|"
      "refers\\s+to|corner\\s+of|meet\\s+(?:me|you|us)\\s+at|arrived\\s+at|based\\s+in|drops\\s+"
      "you\\s+off\\s+at)\\b:?",
      PHI_C_ADDR),
    C("\\b(?:at|on|in|to|from|is|of|are)\\s+[0-9]", PHI_C_ADDR_WEAK),
};

const size_t phi_patterns_count = sizeof phi_patterns / sizeof phi_patterns[0];

/* Fingerprint of the table, so a database built from another table is refused. */
static uint64_t table_hash(void)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < phi_patterns_count; i++) {
        const char *r = phi_patterns[i].re ? phi_patterns[i].re : "";
        for (; *r; r++)
            h = (h ^ (uint8_t)*r) * 0x100000001b3ull;
        h = (h ^ phi_patterns[i].flags ^ ((uint64_t)phi_patterns[i].kind << 40)) * 0x100000001b3ull;
    }
    return h;
}

void phi_dbset_free(phi_dbset *set)
{
    if (set->main) hs_free_database(set->main);
    for (size_t i = 0; set->som && i < set->n; i++)
        if (set->som[i]) hs_free_database(set->som[i]);
    free(set->som);
    free(set->width);
    free(set->minw);
    memset(set, 0, sizeof *set);
}

static int compile_error(hs_compile_error_t *err)
{
    /* Only pattern text (never input) goes to stderr: this is a build bug. */
    if (err) {
        fprintf(stderr, "phi: a pattern does not compile: %s\n", err->message);
        hs_free_compile_error(err);
    }
    return PHI_EENGINE;
}

int phi_patterns_compile(phi_dbset *set)
{
    size_t n = phi_patterns_count;
    const char **exprs = calloc(n, sizeof *exprs);
    unsigned *flags = calloc(n, sizeof *flags);
    unsigned *ids = calloc(n, sizeof *ids);
    int rc = PHI_ENOMEM;
    hs_compile_error_t *err = NULL;
    memset(set, 0, sizeof *set);
    set->som = calloc(n, sizeof *set->som);
    set->width = calloc(n, sizeof *set->width);
    set->minw = calloc(n, sizeof *set->minw);
    set->n = n;
    if (!exprs || !flags || !ids || !set->som || !set->width || !set->minw) goto out_free;
    unsigned k = 0;
    for (size_t i = 0; i < n; i++) {
        if (phi_patterns[i].kind == PHI_PK_TOKEN || phi_patterns[i].kind == PHI_PK_CSCAN ||
            phi_patterns[i].kind == PHI_PK_CONTEXT || phi_patterns[i].kind == PHI_PK_VALUE_C)
            continue; /* not in the main database: matched in C (labels: phi_labels.c) */
        exprs[k] = phi_patterns[i].re;
        flags[k] = phi_patterns[i].flags;
        ids[k] = (unsigned)i;
        k++;
    }
    if (hs_compile_multi(exprs, flags, ids, k, HS_MODE_BLOCK, NULL, &set->main, &err) !=
        HS_SUCCESS) {
        rc = compile_error(err);
        goto out_free;
    }
    for (size_t i = 0; i < n; i++) {
        if (phi_patterns[i].kind != PHI_PK_VALUE && phi_patterns[i].kind != PHI_PK_VALUE_C)
            continue; /* only these need a start */
        if (hs_compile(phi_patterns[i].re, phi_patterns[i].flags | HS_FLAG_SOM_LEFTMOST,
                       HS_MODE_BLOCK, NULL, &set->som[i], &err) != HS_SUCCESS) {
            rc = compile_error(err);
            goto out_free;
        }
        /* The window scanned for a start is the pattern's longest match. */
        hs_expr_info_t *info = NULL;
        if (hs_expression_info(phi_patterns[i].re, phi_patterns[i].flags, &info, &err) !=
            HS_SUCCESS) {
            rc = compile_error(err);
            goto out_free;
        }
        unsigned cap = phi_patterns[i].maxlen ? phi_patterns[i].maxlen : 256;
        set->width[i] = info->max_width < cap ? info->max_width : cap;
        set->minw[i] = info->min_width;
        free(info);
    }
    rc = PHI_OK;
out_free:
    free(exprs);
    free(flags);
    free(ids);
    if (rc) phi_dbset_free(set);
    return rc;
}

/* Serialized form: "PHIDBv3\0", table hash (8), count (4), the longest and
 * shortest widths (4 each per pattern), then for the main
 * database and each pattern: length (4) and the serialized bytes (length 0
 * for none). Integers little-endian. */
static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int phi_patterns_serialize(const phi_dbset *set, uint8_t **out, size_t *len)
{
    size_t cap = 20, used = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) return PHI_ENOMEM;
    memcpy(buf, "PHIDBv3", 8);
    uint64_t h = table_hash();
    for (int i = 0; i < 8; i++)
        buf[8 + i] = (uint8_t)(h >> (8 * i));
    put32(buf + 16, (uint32_t)set->n);
    used = 20;
    {
        uint8_t *nb = realloc(buf, used + 4 * set->n);
        if (!nb) {
            free(buf);
            return PHI_ENOMEM;
        }
        buf = nb;
        for (size_t i = 0; i < set->n; i++)
            put32(buf + used + 4 * i, set->width[i]);
        used += 4 * set->n;
        nb = realloc(buf, used + 4 * set->n);
        if (!nb) {
            free(buf);
            return PHI_ENOMEM;
        }
        buf = nb;
        for (size_t i = 0; i < set->n; i++)
            put32(buf + used + 4 * i, set->minw[i]);
        used += 4 * set->n;
    }
    for (size_t i = 0; i <= set->n; i++) {
        hs_database_t *db = i == 0 ? set->main : set->som[i - 1];
        char *bytes = NULL;
        size_t bl = 0;
        if (db && hs_serialize_database(db, &bytes, &bl) != HS_SUCCESS) {
            free(buf);
            return PHI_EENGINE;
        }
        uint8_t *nb = realloc(buf, used + 4 + bl);
        if (!nb) {
            free(bytes);
            free(buf);
            return PHI_ENOMEM;
        }
        buf = nb;
        put32(buf + used, (uint32_t)bl);
        if (bl) memcpy(buf + used + 4, bytes, bl);
        used += 4 + bl;
        free(bytes);
    }
    *out = buf;
    *len = used;
    return PHI_OK;
}

int phi_patterns_deserialize(const uint8_t *p, size_t len, phi_dbset *set)
{
    memset(set, 0, sizeof *set);
    if (len < 20 || memcmp(p, "PHIDBv3", 8) != 0) return PHI_EENGINE;
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h |= (uint64_t)p[8 + i] << (8 * i);
    if (h != table_hash() || get32(p + 16) != phi_patterns_count) return PHI_EENGINE;
    set->n = phi_patterns_count;
    set->som = calloc(set->n, sizeof *set->som);
    set->width = calloc(set->n, sizeof *set->width);
    set->minw = calloc(set->n, sizeof *set->minw);
    if (!set->som || !set->width || !set->minw) {
        phi_dbset_free(set);
        return PHI_ENOMEM;
    }
    size_t off = 20;
    if (len < off + 8 * set->n) goto bad;
    for (size_t i = 0; i < set->n; i++)
        set->width[i] = get32(p + off + 4 * i);
    off += 4 * set->n;
    for (size_t i = 0; i < set->n; i++)
        set->minw[i] = get32(p + off + 4 * i);
    off += 4 * set->n;
    for (size_t i = 0; i <= set->n; i++) {
        if (off + 4 > len) goto bad;
        size_t bl = get32(p + off);
        off += 4;
        if (bl > len - off) goto bad;
        if (bl) {
            hs_database_t **dst = i == 0 ? &set->main : &set->som[i - 1];
            if (hs_deserialize_database((const char *)p + off, bl, dst) != HS_SUCCESS) goto bad;
        }
        off += bl;
    }
    if (!set->main) goto bad;
    return PHI_OK;
bad:
    phi_dbset_free(set);
    return PHI_EENGINE;
}
