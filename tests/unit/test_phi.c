/*
 * test_phi: the PHI detector through its public API: every type found in
 * context, near misses left alone (doses that look like phones, lab values
 * and scores that look like dates, names that are common words), UTF-8 and
 * invalid bytes, a 10 MB document, truncation and buffer-size errors,
 * redaction modes, Safe Harbor field de-identification, and threads sharing
 * one detector.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "phi/phi.h"
#include "unit.h"

static phi_detector *det;
static phi_scratch *scr;

static void setup(void)
{
    if (det) return;
    if (phi_detector_new(NULL, &det) != 0 || phi_scratch_new(det, &scr) != 0) {
        fprintf(stderr, "cannot create detector\n");
        exit(1);
    }
}

/* Is there an entity of `type` exactly over the first occurrence of `what` in `text`? */
static int found_as(const char *text, const char *what, phi_type type)
{
    const phi_entity *e;
    size_t n;
    setup();
    if (phi_scan_view(det, scr, (const uint8_t *)text, strlen(text), &e, &n) != 0) return 0;
    const char *at = strstr(text, what);
    if (!at) return 0;
    size_t a = (size_t)(at - text), b = a + strlen(what);
    for (size_t i = 0; i < n; i++)
        if (e[i].start == a && e[i].end == b && e[i].type == type) return 1;
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  have %u-%u %s '%.*s'\n", e[i].start, e[i].end, phi_type_name(e[i].type),
                (int)(e[i].end - e[i].start), text + e[i].start);
    return 0;
}

/* Is there an entity of `type` exactly over the nth (1-based) occurrence of `what`? */
static int found_nth(const char *text, const char *what, int nth, phi_type type)
{
    const phi_entity *e;
    size_t n;
    setup();
    if (phi_scan_view(det, scr, (const uint8_t *)text, strlen(text), &e, &n) != 0) return 0;
    const char *at = text - 1;
    for (int i = 0; i < nth && at; i++)
        at = strstr(at + 1, what);
    if (!at) return 0;
    size_t a = (size_t)(at - text), b = a + strlen(what);
    for (size_t i = 0; i < n; i++)
        if (e[i].start == a && e[i].end == b && e[i].type == type) return 1;
    return 0;
}

/* Does no entity touch the first occurrence of `what`? */
static int untouched(const char *text, const char *what)
{
    const phi_entity *e;
    size_t n;
    setup();
    if (phi_scan_view(det, scr, (const uint8_t *)text, strlen(text), &e, &n) != 0) return 0;
    const char *at = strstr(text, what);
    if (!at) return 0;
    size_t a = (size_t)(at - text), b = a + strlen(what);
    for (size_t i = 0; i < n; i++)
        if (e[i].start < b && e[i].end > a) {
            fprintf(stderr, "  unexpected %s '%.*s'\n", phi_type_name(e[i].type),
                    (int)(e[i].end - e[i].start), text + e[i].start);
            return 0;
        }
    return 1;
}

TEST(names)
{
    CHECK(found_as("Seen by Dr. Alan Whitfield today.", "Alan Whitfield", PHI_NAME));
    CHECK(found_as("Patient: Hope Kowalski", "Hope Kowalski", PHI_NAME));
    CHECK(found_as("Her daughter Bill called the unit.", "Bill", PHI_NAME));
    CHECK(found_as("Wife is June, reachable at home.", "June", PHI_NAME));
    CHECK(found_as("Note by Maria Gonzalez, RN", "Maria Gonzalez", PHI_NAME));
    CHECK(found_as("PATIENT NAME: KOWALSKI, HOPE", "KOWALSKI", PHI_NAME));
    CHECK(found_as("Discussed with Mrs. Oyelaran-Baptiste.", "Oyelaran-Baptiste", PHI_NAME));
    CHECK(found_as("Mr. John A. Smith was admitted.", "John A. Smith", PHI_NAME));
    /* a name found once is found again */
    CHECK(found_as("Mrs. Kowalski is stable. Later Kowalski ate lunch.", "Kowalski", PHI_NAME));
    CHECK(untouched("Mrs. Kowalski is stable. Later Kowalski ate lunch.", "Later"));
    {
        const char *t = "Mrs. Thistlewood is stable. Thistlewood ate lunch.";
        const phi_entity *e;
        size_t n;
        phi_scan_view(det, scr, (const uint8_t *)t, strlen(t), &e, &n);
        CHECK_INT(n, 2);
    }
}

/* The rules added for surnames outside every dictionary (invented names here). */
TEST(names_context_rules)
{
    /* Last, First opening a line or after a label */
    CHECK(found_as("DUNMORROW, CLIFF  13073047\nArrived by car.", "DUNMORROW", PHI_NAME));
    CHECK(found_as("DUNMORROW, CLIFF  13073047\nArrived by car.", "CLIFF", PHI_NAME));
    CHECK(found_as("Bed 7: Kellerby, Chidi, a 59-year-old man.", "Kellerby", PHI_NAME));
    CHECK(found_as("Bed 7: Kellerby, Chidi, a 59-year-old man.", "Chidi", PHI_NAME));
    CHECK(!found_as("Went to Boston, Mary said, for a visit.", "Boston", PHI_NAME));
    /* contact verbs, letters, rooms, apposition */
    CHECK(found_as("If MAP < 65, page Ogundipe.", "Ogundipe", PHI_NAME));
    CHECK(found_as("Spoke with Mordecai Oyelaran on 5 West.", "Mordecai Oyelaran", PHI_NAME));
    CHECK(found_as("Questions: ask for Radomir at the desk.", "Radomir", PHI_NAME));
    CHECK(found_as("Dear Oyelaran,\nYour results are normal.", "Oyelaran", PHI_NAME));
    CHECK(found_as("rm 4 Osterhaut refusing meds again", "Osterhaut", PHI_NAME));
    CHECK(found_as("I'll call Lucasta, the neighbor", "Lucasta", PHI_NAME));
    CHECK(untouched("Please call Radiology for the slot.", "Radiology"));
    CHECK(untouched("Bed 4 Foley catheter removed.", "Foley"));
    /* the surname of a full name recurs alone even when it is a word */
    CHECK(!found_as("Intake: Winifred Fox accepted. Fox will fax it.", "Fox will", PHI_NAME));
    CHECK(found_as("Intake: Winifred Fox accepted. Fox will fax it.", "Winifred Fox", PHI_NAME));
    CHECK(found_nth("Intake: Winifred Fox accepted. Fox will fax it.", "Fox", 2, PHI_NAME));
    /* a known surname pulls in the unknown first name beside it */
    CHECK(found_as("Saoirse Brackwater\n3 Elm St\n\nDear Mr. Brackwater,", "Saoirse Brackwater",
                   PHI_NAME));
    /* a letter glued to digits is a code, not an initial; scale eponyms are not names */
    CHECK(found_as("KELLERBY, RAY  M3535549", "RAY", PHI_NAME));
    CHECK(found_as("KELLERBY, RAY  M3535549", "M3535549", PHI_ID));
    CHECK(untouched("Strength 4/5 hip flexors, Berg 38/56.", "Berg"));
    CHECK(untouched("ICU HANDOFF (I-PASS)", "I-PASS"));
}

/* Notes typed in lower case: names only after strong context. */
TEST(names_lower_case)
{
    CHECK(found_as("wife mary jones at bedside.", "mary jones", PHI_NAME));
    CHECK(found_as("spoke with pts son, robert miller, who agrees.", "robert miller", PHI_NAME));
    CHECK(found_as("pt name: alice smith", "alice smith", PHI_NAME));
    CHECK(found_as("re: kwame n. smith (mrn 49373964)", "kwame n. smith", PHI_NAME));
    CHECK(found_as("patient: collins, michelle  dob 09/08/1987", "collins", PHI_NAME));
    CHECK(found_as("patient: collins, michelle  dob 09/08/1987", "michelle", PHI_NAME));
    CHECK(found_as("electronically signed by karen white, rn", "karen white", PHI_NAME));
    CHECK(found_as("will continue to monitor. oluwaseun campbell rn", "oluwaseun campbell",
                   PHI_NAME));
    CHECK(found_as("Signed: john doe MD", "john doe", PHI_NAME));
    CHECK(found_as("thanks,\nrobert", "robert", PHI_NAME));
    CHECK(found_as("Contact Person: mary smith", "mary smith", PHI_NAME));
    CHECK(untouched("Contact Person: mary smith", "Person"));
    CHECK(found_as("I spoke with mary about it.", "mary", PHI_NAME));
    CHECK(found_as("Dear jane,\nyour results are normal.", "jane", PHI_NAME));
    CHECK(found_as("please call mary at home.", "mary", PHI_NAME));
    CHECK(untouched("please call pharmacy at home.", "pharmacy"));
    CHECK(found_as("dr jones saw her today", "jones", PHI_NAME));
    CHECK(found_as("dr brown and mr white agree", "white", PHI_NAME));
    CHECK(found_as("my name is john", "john", PHI_NAME));
    CHECK(found_as("pt named harold", "harold", PHI_NAME));
    CHECK(found_as("hi sarah, your labs are fine", "sarah", PHI_NAME));
    CHECK(untouched("this is mild, it is called lasix", "mild"));
    CHECK(found_as("-- oluwaseun petrov, rn", "oluwaseun petrov", PHI_NAME));
    /* a word in no list after a label, a title or a first name */
    CHECK(found_as("pt: ravensworth, lucasta  mrn 4502292", "ravensworth", PHI_NAME));
    CHECK(found_as("triage done. seen by forrest quillfeather at 14:10", "forrest quillfeather",
                   PHI_NAME));
    /* found once, found again in the same text */
    CHECK(found_nth("name: daniel mcdonald\nhpi: daniel mcdonald is 45.", "daniel mcdonald", 2,
                    PHI_NAME));
    /* but not ordinary words, nor a surname that is a word before a verb */
    CHECK(untouched("wife mary will see him tomorrow.", "will"));
    CHECK(untouched("dr smith will call back.", "will"));
    CHECK(untouched("pt ambulating in hall with walker.", "ambulating"));
    CHECK(untouched("pt ted hose on, amber urine", "ted"));
    CHECK(untouched("pt amber urine noted", "amber"));
    CHECK(untouched("pt ruby colored stool", "ruby"));
    CHECK(found_as("pt john smith admitted", "john smith", PHI_NAME));
    CHECK(found_as("new murmur. the patient, ottoline", "ottoline", PHI_NAME));
    CHECK(untouched("patient: afebrile overnight.", "afebrile"));
    CHECK(untouched("seen by nephrology today.", "nephrology"));
    CHECK(untouched("talked to the team about it.", "team"));
}

TEST(names_near_misses)
{
    CHECK(untouched("We hope to discharge tomorrow.", "hope"));
    CHECK(untouched("The hospital bill was reviewed.", "bill"));
    CHECK(untouched("Will follow up in clinic.", "Will"));
    CHECK(untouched("Foley catheter removed.", "Foley"));
    CHECK(untouched("History of Parkinson's disease.", "Parkinson"));
    CHECK(untouched("Gleason score 3+4 on biopsy.", "Gleason"));
    CHECK(untouched("Continue Lasix and Coumadin.", "Lasix"));
    CHECK(untouched("Brown discharge noted.", "Brown"));
    CHECK(untouched("I've been taking it daily.", "I've"));
    CHECK(untouched("Glasgow Coma Scale 14.", "Glasgow"));
}

TEST(dates)
{
    CHECK(found_as("Seen on 7/22 for follow-up.", "7/22", PHI_DATE));
    CHECK(found_as("DOB: 07/22/2021", "07/22/2021", PHI_DATE));
    CHECK(found_as("Surgery 2021-07-22 uneventful.", "2021-07-22", PHI_DATE));
    CHECK(found_as("Fell on July 22nd at home.", "July 22nd", PHI_DATE));
    CHECK(found_as("Admitted 22-Jul-21 overnight.", "22-Jul-21", PHI_DATE));
    CHECK(found_as("Symptoms began on the 3rd of this month.", "3rd", PHI_DATE));
    CHECK(found_as("Last seen Christmas 2019 by family.", "Christmas 2019", PHI_DATE));
    CHECK(found_as("Symptoms since March 2020.", "March 2020", PHI_DATE));
    CHECK(found_as("Discharged 3 March 2021.", "3 March 2021", PHI_DATE));
    /* in lower case */
    CHECK(found_as("presented on aug 16 after a fall.", "aug 16", PHI_DATE));
    CHECK(found_as("cough since feb 2, 2020.", "feb 2, 2020", PHI_DATE));
    CHECK(found_as("born may 20 1950.", "may 20 1950", PHI_DATE));
    CHECK(found_as("follow up june 3rd.", "june 3rd", PHI_DATE));
}

/* A year of birth alone is a date when it tells an age over 89 (Safe Harbor). */
TEST(birth_years)
{
    CHECK(found_as("Pt born in 1931, lives alone.", "1931", PHI_DATE));
    CHECK(found_as("Year of birth: 1929.", "1929", PHI_DATE));
    CHECK(found_as("DOB 1935, widowed.", "1935", PHI_DATE));
    CHECK(untouched("Pt born in 1960, lives alone.", "1960"));
    CHECK(untouched("birth weight 3400 g at term", "3400"));
    CHECK(untouched("Diagnosed in 1931 per old chart.", "1931"));
}

TEST(dates_near_misses)
{
    CHECK(untouched("Diagnosed with diabetes in 2019.", "2019"));
    CHECK(untouched("Pain 7/10 with ambulation.", "7/10"));
    CHECK(untouched("Strength 5/5 bilaterally.", "5/5"));
    CHECK(untouched("Take 1/2 tab at night.", "1/2"));
    CHECK(untouched("BP 120/80, HR 72.", "120/80"));
    CHECK(untouched("Grade 3/6 systolic murmur.", "3/6"));
    CHECK(untouched("Na 140, K 4.1, Cr 1.2, INR 2.3.", "4.1"));
    CHECK(untouched("This is the 3rd time she fell.", "3rd"));
    CHECK(untouched("Hb dec 2 points overnight.", "dec 2"));
    CHECK(untouched("you may 3 times a day.", "may 3"));
    CHECK(untouched("mar 5 mg given.", "mar 5"));
}

TEST(ages)
{
    CHECK(found_as("A 92-year-old woman with CHF.", "92", PHI_AGE));
    CHECK(found_as("Patient is 101 y/o.", "101", PHI_AGE));
    CHECK(found_as("Pleasant man, age 95, walks daily.", "95", PHI_AGE));
    CHECK(untouched("A 45-year-old woman with CHF.", "45"));
    CHECK(untouched("Temp 99 F overnight.", "99"));
}

TEST(phones)
{
    CHECK(found_as("Call (617) 555-0142 with results.", "(617) 555-0142", PHI_PHONE));
    CHECK(found_as("Cell 617.555.0142.", "617.555.0142", PHI_PHONE));
    CHECK(found_as("Reach her at +1 617 555 0142 today.", "+1 617 555 0142", PHI_PHONE));
    CHECK(found_as("Fax: 617-555-0199", "617-555-0199", PHI_FAX));
    CHECK(found_as("Phone 617-555-0142, fax 617-555-0199.", "617-555-0142", PHI_PHONE));
    CHECK(found_as("Phone 617-555-0142, fax 617-555-0199.", "617-555-0199", PHI_FAX));
    CHECK(found_as("PGY-2, pager 41233", "41233", PHI_PHONE));
    /* An exchange starting 0 or 1 is no NANP number, but with a label it is a phone. */
    CHECK(found_as("Phone: 555-123-4567", "555-123-4567", PHI_PHONE));
    CHECK(found_as("call 415-012-4567 after 5", "415-012-4567", PHI_PHONE));
}

TEST(phones_near_misses)
{
    CHECK(untouched("Acetaminophen 500-1000 mg q6h.", "500-1000"));
    CHECK(untouched("Oxycodone 5 mg 1-2 tabs q4h.", "1-2"));
    CHECK(untouched("Ibuprofen 400-800 mg TID.", "400-800"));
    CHECK(untouched("Vitals 98 72 18 120 80.", "72 18"));
    CHECK(untouched("Platelets 150-450 normal range.", "150-450"));
    CHECK(untouched("Order 123-123-4567 units.", "123-123-4567")); /* no label */
}

TEST(internet)
{
    CHECK(found_as("Email hope.k@example.net today.", "hope.k@example.net", PHI_EMAIL));
    CHECK(found_as("Portal https://portal.example.org/x?id=3.", "https://portal.example.org/x?id=3",
                   PHI_URL));
    CHECK(
        found_as("See www.riverbend.example.com for hours.", "www.riverbend.example.com", PHI_URL));
    CHECK(found_as("Logged in from 10.0.0.12 yesterday.", "10.0.0.12", PHI_IP));
    CHECK(found_as("From 2001:db8::8a2e:370:7334 too.", "2001:db8::8a2e:370:7334", PHI_IP));
    CHECK(untouched("Version 1.2.3 installed at 10:30:15.", "10:30:15"));
}

TEST(ids)
{
    CHECK(found_as("SSN 123-45-6789 on file.", "123-45-6789", PHI_SSN));
    CHECK(found_as("Social security number: 123456789.", "123456789", PHI_SSN));
    CHECK(untouched("SSN 666-12-3456 on file.", "666-12-3456"));
    CHECK(untouched("SSN 912-12-3456 on file.", "912-12-3456"));
    CHECK(found_as("MRN: 4471823", "4471823", PHI_MRN));
    CHECK(found_as("Medical record number 00912345.", "00912345", PHI_MRN));
    CHECK(found_as("Acct #: 99120034", "99120034", PHI_ACCOUNT));
    CHECK(found_as("Routing 011000015 for refunds.", "011000015", PHI_ACCOUNT));
    CHECK(found_as("Member ID: XJH449210", "XJH449210", PHI_HEALTH_PLAN));
    CHECK(found_as("Driver's license: S530-4412-8891", "S530-4412-8891", PHI_LICENSE));
    CHECK(found_as("VIN 1HGCM82633A004352 recorded.", "1HGCM82633A004352", PHI_VEHICLE));
    CHECK(found_as("License plate 4TXK22 noted.", "4TXK22", PHI_VEHICLE));
    CHECK(found_as("Pacemaker serial PM448812A checked.", "PM448812A", PHI_DEVICE));
    CHECK(found_as("Card 4111 1111 1111 1111 declined.", "4111 1111 1111 1111", PHI_CARD));
    CHECK(found_as("NPI: 1234567893", "1234567893", PHI_ID));
    CHECK(found_as("DEA: AB1234563", "AB1234563", PHI_ID));
    CHECK(found_as("IBAN GB82WEST12345698765432 on file.", "GB82WEST12345698765432", PHI_ACCOUNT));
    /* fails Luhn: not a card, but a labelled number is still an identifier */
    CHECK(found_as("Card 4111 1111 1111 1112 declined.", "4111 1111 1111 1112", PHI_ID));
    CHECK(untouched("HbA1c 7.2%, COVID-19 negative, B12 normal.", "COVID-19"));
    CHECK(untouched("Shift: 0700-1900.", "0700-1900"));
    CHECK(untouched("Penicillin G 24000000 units daily.", "24000000"));
}

TEST(places)
{
    CHECK(found_as("Lives at 45 Maple Street, Apt 3, Springfield, MA 01103.",
                   "45 Maple Street, Apt 3", PHI_ADDRESS));
    CHECK(found_as("Lives at 45 Maple Street, Apt 3, Springfield, MA 01103.", "Springfield",
                   PHI_CITY));
    CHECK(found_as("Lives at 45 Maple Street, Apt 3, Springfield, MA 01103.", "01103", PHI_ZIP));
    CHECK(found_as("Send to PO Box 3321 please.", "PO Box 3321", PHI_ADDRESS));
    CHECK(found_as("Transferred to Mercy General Hospital overnight.", "Mercy General Hospital",
                   PHI_FACILITY));
    CHECK(found_as("She lives in Durham with her son.", "Durham", PHI_CITY));
    CHECK(found_as("The address of Persint is 6750 Koskikatu 25 Apt. 864\nArtilleros",
                   "6750 Koskikatu 25 Apt. 864\nArtilleros", PHI_ADDRESS));
    CHECK(found_as("28030 Edeby 55\n Apt. 297\n TYSTBERGA", "28030 Edeby 55\n Apt. 297\n TYSTBERGA",
                   PHI_ADDRESS));
    CHECK(untouched("2 Tylenol 325 mg every 6 hours as needed.", "Tylenol"));
    CHECK(untouched("Signed, Jane Roe, MD", "MD"));
    CHECK(untouched("Moved back to Texas last year.", "Texas"));
    /* in lower case: after an address cue, and ", st 12345" */
    const char *low = "my new address is 1134 birch terrace, worcester, ma 01608-9811 and my cell";
    CHECK(found_as(low, "1134 birch terrace", PHI_ADDRESS));
    CHECK(found_as(low, "worcester", PHI_CITY));
    CHECK(found_as(low, "01608-9811", PHI_ZIP));
    CHECK(untouched(low, "and my cell"));
    CHECK(found_as("she lives at 12 oak street, boston, ma 02118 with her son.", "12 oak street",
                   PHI_ADDRESS));
    CHECK(found_as("1200 n. main st., houston, tx 77002", "houston", PHI_CITY));
    CHECK(found_as("moved to new york, ny 10001 last year", "new york", PHI_CITY));
    CHECK(found_as("moved to new york, ny 10001 last year", "10001", PHI_ZIP));
    CHECK(untouched("gave 2 tabs, or 10000 units, in the am", "10000"));
    CHECK(untouched("walked 12 laps down the hall today", "12 laps"));
    CHECK(untouched("wbc improving, in 11000 range now", "11000"));
    CHECK(untouched("wbc improving, in 11000 range now", "improving"));
    CHECK(untouched("bill as established visit, or 99215 if prolonged", "99215"));
    CHECK(untouched("plt low, ok 40000 threshold for procedure", "40000"));
    /* ... and ", city st 12345" after a street (no comma before the state) */
    const char *st = "lives at 77 massachusetts ave, cambridge ma 02139 with her son";
    CHECK(found_as(st, "cambridge", PHI_CITY));
    CHECK(found_as(st, "02139", PHI_ZIP));
    CHECK(found_as("moved to 12 elm st, new york ny 10001 last year", "new york", PHI_CITY));
    CHECK(found_as("lives in st. louis, mo 63101 now", "st. louis", PHI_CITY));
    CHECK(found_as("lives near the arch, st. louis mo 63101", "st. louis", PHI_CITY));
    CHECK(untouched("pain better, take meds 12345 twice", "12345"));
    CHECK(untouched("no change, improving in 11000 range", "11000"));
    CHECK(untouched("labs ok, hr ok 12345 bpm", "12345"));
}

TEST(utf8_and_invalid_bytes)
{
    setup();
    const char *t = "Patient: José Núñez, née Łukasiewicz, DOB 07/22/1950, tel (617) 555-0142 — ok";
    const phi_entity *e;
    size_t n;
    CHECK_INT(phi_scan_view(det, scr, (const uint8_t *)t, strlen(t), &e, &n), 0);
    CHECK(n >= 3);
    CHECK(found_as(t, "07/22/1950", PHI_DATE));
    CHECK(found_as(t, "(617) 555-0142", PHI_PHONE));
    /* invalid UTF-8, NULs, lone continuation bytes, truncated sequences */
    uint8_t junk[4096];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (uint8_t)(x >> 16);
    }
    memcpy(junk + 100, "MRN: 1234567 Dr. Smith 7/22/2021 \xff\xfe\xc3", 37);
    CHECK_INT(phi_scan_view(det, scr, junk, sizeof junk, &e, &n), 0);
    for (size_t i = 0; i < n; i++)
        CHECK(e[i].start < e[i].end && e[i].end <= sizeof junk);
    for (size_t i = 1; i < n; i++)
        CHECK(e[i - 1].end <= e[i].start);
    uint8_t *out;
    size_t ol;
    phi_redact_opts o = {PHI_REDACT_SURROGATE, 9};
    CHECK_INT(phi_redact(det, scr, junk, sizeof junk, &o, &out, &ol), 0);
    free(out);
    CHECK_INT(phi_scan_view(det, scr, NULL, 0, &e, &n), 0);
    CHECK_INT(n, 0);
}

TEST(ten_megabytes)
{
    setup();
    const char *note = "Pt Hope Kowalski (MRN 4471823) seen 07/22/2021 by Dr. Alan Whitfield. "
                       "BP 132/84, pain 4/10. Call (617) 555-0142. Lives at 45 Maple Street, "
                       "Springfield, MA 01103. Metoprolol 25 mg daily.\n";
    size_t nl = strlen(note), len = 10u << 20;
    uint8_t *big = malloc(len);
    CHECK(big != NULL);
    if (!big) return;
    for (size_t i = 0; i < len; i++)
        big[i] = (uint8_t)note[i % nl];
    const phi_entity *e;
    size_t n;
    CHECK_INT(phi_scan_view(det, scr, big, len, &e, &n), 0);
    size_t per = 9; /* name, mrn, date, name, phone, address, city, zip (+ partial ends) */
    CHECK(n >= (len / nl) * (per - 1));
    for (size_t i = 0; i < n; i++)
        CHECK(e[i].end <= len);
    free(big);
}

TEST(truncation_and_errors)
{
    setup();
    const char *t = "MRN 4471823, DOB 07/22/2021, call (617) 555-0142.";
    phi_entity out[2];
    size_t n = 0;
    CHECK_INT(phi_scan(det, scr, (const uint8_t *)t, strlen(t), out, 2, &n), PHI_ETRUNC);
    CHECK_INT(n, 3);
    CHECK_INT(out[0].type, PHI_MRN);
    CHECK_INT(phi_scan(det, scr, (const uint8_t *)t, strlen(t), NULL, 0, &n), PHI_ETRUNC);
    CHECK_INT(n, 3);
    CHECK_INT(phi_scan(NULL, scr, (const uint8_t *)t, 3, out, 2, &n), PHI_EINVAL);
    uint8_t small[8];
    size_t need = 0;
    CHECK_INT(
        phi_redact_into(det, scr, (const uint8_t *)t, strlen(t), NULL, small, sizeof small, &need),
        PHI_ENOSPACE);
    CHECK(need > sizeof small);
    uint8_t *buf = malloc(need + 1);
    size_t got = 0;
    CHECK_INT(phi_redact_into(det, scr, (const uint8_t *)t, strlen(t), NULL, buf, need + 1, &got),
              0);
    CHECK_MEM(buf, got, "MRN [MRN], DOB [DATE], call [PHONE].");
    free(buf);
    int found = -1;
    CHECK_INT(phi_contains(det, scr, (const uint8_t *)t, strlen(t), 0.5f, 0, &found), 0);
    CHECK_INT(found, 1);
    CHECK_INT(phi_contains(det, scr, (const uint8_t *)"user:settings:theme", 19, 0.5f, 0, &found),
              0);
    CHECK_INT(found, 0);
    CHECK_INT(phi_contains(det, scr, (const uint8_t *)t, strlen(t), 0.5f, PHI_TYPE_BIT(PHI_EMAIL),
                           &found),
              0);
    CHECK_INT(found, 0);
    CHECK_STR(phi_type_name(PHI_HEALTH_PLAN), "HEALTH_PLAN");
    CHECK_INT(phi_type_from_name("mrn", 3), PHI_MRN);
    CHECK_INT(phi_type_from_name("nope", 4), PHI_EINVAL);
    CHECK_STR(phi_strerror(PHI_ETRUNC), "more entities than the output array holds");
}

TEST(redaction_modes)
{
    setup();
    const char *t =
        "Mrs. Hope Kowalski seen 07/22/2021; Kowalski returns 07/25/2021. SSN 123-45-6789.";
    uint8_t *out;
    size_t ol;
    phi_redact_opts mask = {PHI_REDACT_MASK, 0};
    CHECK_INT(phi_redact(det, scr, (const uint8_t *)t, strlen(t), &mask, &out, &ol), 0);
    CHECK_INT(ol, strlen(t));
    CHECK(memcmp(out, "Mrs. ************* seen **********;", 35) == 0);
    free(out);
    phi_redact_opts sur = {PHI_REDACT_SURROGATE, 42};
    CHECK_INT(phi_redact(det, scr, (const uint8_t *)t, strlen(t), &sur, &out, &ol), 0);
    /* The surname appears twice and maps to one stand-in; it is not the original. */
    const char *mrs = strstr((char *)out, "Mrs. ");
    CHECK(mrs != NULL);
    CHECK(strstr((char *)out, "Kowalski") == NULL);
    CHECK(strstr((char *)out, "123-45-6789") == NULL);
    CHECK(strstr((char *)out, "SSN 9") != NULL); /* stand-in SSNs are never issued (9xx) */
    if (mrs) {
        const char *first = mrs + 5;
        const char *sp = strchr(first, ' ');
        const char *sur2 = sp ? sp + 1 : NULL; /* stand-in surname */
        const char *end = sur2 ? strchr(sur2, ' ') : NULL;
        if (sur2 && end) {
            char name[64];
            size_t nlen = (size_t)(end - sur2);
            if (nlen < sizeof name) {
                memcpy(name, sur2, nlen);
                name[nlen] = 0;
                const char *semi = strchr((char *)out, ';');
                CHECK(semi && strncmp(semi + 2, name, nlen) == 0);
            }
        }
    }
    /* Dates move together: the 3-day interval is kept. */
    int m1, d1, y1, m2, d2, y2;
    const char *p1 = strstr((char *)out, "seen ");
    const char *p2 = strstr((char *)out, "returns ");
    CHECK(p1 && p2);
    if (p1 && p2 && sscanf(p1 + 5, "%d/%d/%d", &m1, &d1, &y1) == 3 &&
        sscanf(p2 + 8, "%d/%d/%d", &m2, &d2, &y2) == 3) {
        struct tm a = {.tm_year = y1 - 1900, .tm_mon = m1 - 1, .tm_mday = d1, .tm_hour = 12};
        struct tm b = {.tm_year = y2 - 1900, .tm_mon = m2 - 1, .tm_mday = d2, .tm_hour = 12};
        CHECK_INT((long)((timegm(&b) - timegm(&a)) / 86400), 3);
        CHECK(!(m1 == 7 && d1 == 22 && y1 == 2021));
    } else {
        CHECK(!"surrogate dates not in m/d/y form");
    }
    /* Same seed, same output. */
    uint8_t *again;
    size_t al;
    CHECK_INT(phi_redact(det, scr, (const uint8_t *)t, strlen(t), &sur, &again, &al), 0);
    CHECK(al == ol && memcmp(again, out, ol) == 0);
    free(again);
    free(out);
    /* One number in two layouts gets one stand-in, each in its layout. */
    const char *ph = "Call 617-432-1234 or (617) 432-1234 today.";
    CHECK_INT(phi_redact(det, scr, (const uint8_t *)ph, strlen(ph), &sur, &out, &ol), 0);
    {
        char a[16] = "", b[16] = "";
        if (ol > 40 && sscanf((char *)out, "Call %3[0-9]-%3[0-9]", a, a + 3) == 2 &&
            sscanf(strstr((char *)out, " or (") ? strstr((char *)out, " or (") : "",
                   " or (%3[0-9]) %3[0-9]", b, b + 3) == 2)
            CHECK_STR(a, b);
        else
            CHECK(!"surrogate phones not in their layouts");
        CHECK(strstr((char *)out, "432-1234") == NULL);
    }
    free(out);
    phi_redact_opts bad = {(phi_redact_mode)7, 0};
    CHECK_INT(phi_redact(det, scr, (const uint8_t *)t, strlen(t), &bad, &out, &ol), PHI_EINVAL);
}

TEST(deid_fields)
{
    char b[16];
    size_t n;
    CHECK_INT(phi_deid_date((const uint8_t *)"07/22/2021", 10, b, sizeof b, &n), 0);
    CHECK_STR(b, "2021");
    CHECK_INT(phi_deid_date((const uint8_t *)"2021-07-22T10:00:00Z", 20, b, sizeof b, &n), 0);
    CHECK_STR(b, "2021");
    CHECK_INT(phi_deid_date((const uint8_t *)"July 22, 1931", 13, b, sizeof b, &n), 0);
    CHECK_STR(b, "1931");
    CHECK_INT(phi_deid_date((const uint8_t *)"1999", 4, b, sizeof b, &n), 0);
    CHECK_STR(b, "1999");
    /* two-digit years: the latest year not in the future */
    CHECK_INT(phi_deid_date((const uint8_t *)"03/14/99", 8, b, sizeof b, &n), 0);
    CHECK_STR(b, "1999");
    CHECK_INT(phi_deid_date((const uint8_t *)"3/14/20", 7, b, sizeof b, &n), 0);
    CHECK_STR(b, "2020");
    {
        time_t t = time(NULL);
        struct tm tmv;
        gmtime_r(&t, &tmv);
        const char *want = tmv.tm_year + 1900 < 2035 ? "1935" : "2035";
        CHECK_INT(phi_deid_date((const uint8_t *)"14-Mar-35", 9, b, sizeof b, &n), 0);
        CHECK_STR(b, want);
        CHECK_INT(phi_deid_date((const uint8_t *)"Mar '35", 7, b, sizeof b, &n), 0);
        CHECK_STR(b, want);
    }
    CHECK_INT(phi_deid_date((const uint8_t *)"yesterday", 9, b, sizeof b, &n), PHI_EPARSE);
    CHECK_INT(phi_deid_date((const uint8_t *)"7/22", 4, b, sizeof b, &n), PHI_EPARSE);
    CHECK_INT(phi_deid_age((const uint8_t *)"92", 2, b, sizeof b, &n), 0);
    CHECK_STR(b, "90+");
    CHECK_INT(phi_deid_age((const uint8_t *)" 45 years ", 10, b, sizeof b, &n), 0);
    CHECK_STR(b, "45");
    CHECK_INT(phi_deid_age((const uint8_t *)"89", 2, b, sizeof b, &n), 0);
    CHECK_STR(b, "89");
    CHECK_INT(phi_deid_age((const uint8_t *)"ninety", 6, b, sizeof b, &n), PHI_EPARSE);
    CHECK_INT(phi_deid_zip(NULL, (const uint8_t *)"02115", 5, b, sizeof b, &n), 0);
    CHECK_STR(b, "021");
    CHECK_INT(phi_deid_zip(NULL, (const uint8_t *)"03601-1234", 10, b, sizeof b, &n), 0);
    CHECK_STR(b, "000");
    CHECK_INT(phi_deid_zip(NULL, (const uint8_t *)"89301", 5, b, sizeof b, &n), 0);
    CHECK_STR(b, "000");
    uint16_t mine[] = {21};
    phi_zip_policy pol = {mine, 1};
    CHECK_INT(phi_deid_zip(&pol, (const uint8_t *)"02115", 5, b, sizeof b, &n), 0);
    CHECK_STR(b, "000");
    CHECK_INT(phi_deid_zip(&pol, (const uint8_t *)"03601", 5, b, sizeof b, &n), 0);
    CHECK_STR(b, "036");
    CHECK_INT(phi_deid_zip(NULL, (const uint8_t *)"2115", 4, b, sizeof b, &n), PHI_EPARSE);
    CHECK_INT(phi_deid_zip(NULL, (const uint8_t *)"02115", 5, b, 2, &n), PHI_ENOSPACE);
    setup();
    uint8_t *out;
    size_t ol;
    CHECK_INT(phi_deid_field(det, scr, "date", (const uint8_t *)"03/14/1931", 10, NULL, &out, &ol),
              0);
    CHECK_MEM(out, ol, "1931");
    free(out);
    CHECK_INT(phi_deid_field(det, scr, "date", (const uint8_t *)"soon", 4, NULL, &out, &ol), 0);
    CHECK_MEM(out, ol, "[DATE]");
    free(out);
    CHECK_INT(phi_deid_field(det, scr, "ssn", (const uint8_t *)"123-45-6789", 11, NULL, &out, &ol),
              0);
    CHECK_MEM(out, ol, "[SSN]");
    free(out);
    const char *note = "Dr. Alan Whitfield called 617-555-0142.";
    CHECK_INT(
        phi_deid_field(det, scr, "text", (const uint8_t *)note, strlen(note), NULL, &out, &ol), 0);
    CHECK_MEM(out, ol, "Dr. [NAME] called [PHONE].");
    free(out);
    CHECK_INT(phi_deid_field(det, scr, "colour", (const uint8_t *)"x", 1, NULL, &out, &ol),
              PHI_EINVAL);
}

static const char *thread_text =
    "Pt Hope Kowalski MRN 4471823 seen 07/22/2021 by Dr. Alan Whitfield, call (617) 555-0142.";

static void *worker(void *arg)
{
    size_t *count = arg;
    phi_scratch *s;
    if (phi_scratch_new(det, &s) != 0) return NULL;
    for (int i = 0; i < 200; i++) {
        const phi_entity *e;
        size_t n;
        if (phi_scan_view(det, s, (const uint8_t *)thread_text, strlen(thread_text), &e, &n) == 0)
            *count += n;
    }
    phi_scratch_free(s);
    return NULL;
}

TEST(threads_share_a_detector)
{
    setup();
    pthread_t th[4];
    size_t counts[4] = {0, 0, 0, 0};
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, worker, &counts[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    const phi_entity *e;
    size_t n;
    phi_scan_view(det, scr, (const uint8_t *)thread_text, strlen(thread_text), &e, &n);
    for (int i = 0; i < 4; i++)
        CHECK_INT(counts[i], 200 * n);
}

/* phi_scan_batch gives each document what phi_scan_view gives it alone: the
 * clinical notes (raw JSON lines), copies with bytes changed, empty texts and
 * bad documents, more than one chunk of them, twice. */
TEST(batch_equals_one_by_one)
{
    setup();
    enum { MAXDOCS = 1200 };
    static char *texts[MAXDOCS];
    static phi_batch_doc docs[MAXDOCS];
    size_t n = 0;
    const char *src = getenv("PHIDB_SOURCE");
    const char *files[] = {"clinical-notes.jsonl", "clinical-notes-dev2.jsonl"};
    char line[16384], path[1024];
    for (size_t f = 0; f < 2; f++) {
        snprintf(path, sizeof path, "%s/tests/phi/%s", src ? src : ".", files[f]);
        FILE *fp = fopen(path, "rb");
        CHECK(fp != NULL);
        while (fp && n + 2 < MAXDOCS && fgets(line, sizeof line, fp)) {
            texts[n++] = strdup(line);
            /* a copy with a few bytes changed (stray high bytes, digits, letters) */
            char *m = strdup(line);
            size_t len = strlen(m);
            for (size_t k = 0; k < 6 && len; k++)
                m[(n * 7919 + k * 104729) % len] = "\xc3\x80"
                                                   "9Az,-"[(n + k) % 7];
            texts[n++] = m;
        }
        if (fp) fclose(fp);
    }
    CHECK(n > 600); /* more than two chunks of the batch */
    texts[n++] = strdup("");
    for (size_t i = 0; i < n; i++)
        docs[i].text = (const uint8_t *)texts[i], docs[i].len = strlen(texts[i]);
    /* a NULL text with a length, and one too long (neither is read) */
    docs[n].text = NULL, docs[n].len = 5;
    docs[n + 1].text = (const uint8_t *)texts[0], docs[n + 1].len = PHI_MAX_INPUT + 1;
    size_t total = n + 2;
    long bad = 0, ents = 0;
    for (int round = 0; round < 2; round++) {
        CHECK_INT(phi_scan_batch(det, scr, docs + round, total - round), PHI_OK);
        for (size_t i = round; i < total; i++) {
            const phi_batch_doc *b = &docs[i];
            const phi_entity *e = NULL;
            size_t ne = 0;
            int rc = phi_scan_view(det, scr, b->text, b->len, &e, &ne);
            /* (phi_scan_view leaves the batch's results alone) */
            if (rc != b->status ||
                (rc == PHI_OK && (ne != b->n || (ne && memcmp(e, b->ents, ne * sizeof *e)))))
                bad++;
            ents += (long)ne;
        }
    }
    CHECK_INT(bad, 0);
    CHECK(ents > 10000);
    CHECK_INT(docs[n].status, PHI_EINVAL);
    CHECK_INT(docs[n + 1].status, PHI_ETOOBIG);
    CHECK(docs[n - 1].status == PHI_OK && docs[n - 1].n == 0);
    CHECK_INT(phi_scan_batch(det, scr, NULL, 0), PHI_OK);
    CHECK_INT(phi_scan_batch(det, scr, NULL, 1), PHI_EINVAL);
    for (size_t i = 0; i < n; i++)
        free(texts[i]);
}

TEST(teardown)
{
    phi_scratch_free(scr);
    phi_detector_free(det);
    scr = NULL;
    det = NULL;
}

/* A cancel flag stops scans with its scratch: set before a scan, every call returns
 * PHI_ECANCELED (scan, redaction, each document of a batch); set by another thread while
 * a crafted 2 MB text is being scanned (about 2 s), the scan stops early; cleared, the
 * same scratch scans normally again. */
typedef struct {
    phi_scratch *s;
    const uint8_t *t;
    size_t n;
    int rc;
} cancel_job;

static void *cancel_worker(void *p)
{
    cancel_job *j = p;
    const phi_entity *e;
    size_t n;
    j->rc = phi_scan_view(det, j->s, j->t, j->n, &e, &n);
    return NULL;
}

TEST(cancel)
{
    setup();
    phi_scratch *s;
    CHECK_INT(phi_scratch_new(det, &s), 0);
    atomic_int flag = 1;
    phi_scratch_set_cancel(s, &flag);
    const char *note = "Pt John Smith, DOB 03/04/1950, phone 555-123-4567.";
    const phi_entity *e;
    size_t want, n = 99;
    CHECK_INT(phi_scan_view(det, scr, (const uint8_t *)note, strlen(note), &e, &want), PHI_OK);
    CHECK(want >= 2);
    CHECK_INT(phi_scan_view(det, s, (const uint8_t *)note, strlen(note), &e, &n), PHI_ECANCELED);
    uint8_t *out = NULL;
    size_t outlen = 0;
    phi_redact_opts o = {PHI_REDACT_TAG, 0};
    CHECK_INT(phi_redact(det, s, (const uint8_t *)note, strlen(note), &o, &out, &outlen),
              PHI_ECANCELED);
    CHECK(out == NULL);
    phi_batch_doc docs[3] = {{(const uint8_t *)note, strlen(note), NULL, 0, 0},
                             {(const uint8_t *)"", 0, NULL, 0, 0},
                             {(const uint8_t *)note, 10, NULL, 0, 0}};
    CHECK_INT(phi_scan_batch(det, s, docs, 3), PHI_OK);
    for (int i = 0; i < 3; i++)
        CHECK_INT(docs[i].status, PHI_ECANCELED);
    atomic_store(&flag, 0);
    CHECK_INT(phi_scan_view(det, s, (const uint8_t *)note, strlen(note), &e, &n), PHI_OK);
    CHECK_INT(n, want);
    /* While a long scan runs. */
    size_t big = 2u << 20;
    uint8_t *t = malloc(big);
    for (size_t i = 0; i < big; i++)
        t[i] = "1::"[i % 3];
    cancel_job j = {s, t, big, 1};
    pthread_t th;
    pthread_create(&th, NULL, cancel_worker, &j);
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    atomic_store(&flag, 1);
    pthread_join(th, NULL);
    CHECK_INT(j.rc, PHI_ECANCELED);
    atomic_store(&flag, 0);
    CHECK_INT(phi_scan_view(det, s, (const uint8_t *)note, strlen(note), &e, &n), PHI_OK);
    CHECK_INT(n, want);
    free(t);
    phi_scratch_free(s);
}

/* Identifiers written with Unicode spellings of ASCII characters (full-width forms,
 * non-breaking and other hyphens and dashes, no-break spaces) are found as their ASCII
 * spelling is, with offsets in the original text (phi_fold.c); a batch finds the same as
 * single scans. */
#define NBH   "\xe2\x80\x91" /* U+2011 non-breaking hyphen */
#define ENDSH "\xe2\x80\x93" /* U+2013 en dash */
#define NBSP  "\xc2\xa0"     /* U+00A0 no-break space */
#define FW(c) "\xef\xbc" c   /* full-width digit or sign U+FF10.. (second byte 0x90..) */

TEST(unicode_spellings_are_found)
{
    CHECK(found_as("SSN 123" NBH "45" NBH "6789 on file", "123" NBH "45" NBH "6789", PHI_SSN));
    CHECK(found_as("ssn " FW("\x91") FW("\x92") FW("\x93") FW("\x8d") FW("\x94") FW("\x95")
                       FW("\x8d") FW("\x96") FW("\x97") FW("\x98") FW("\x99") " noted",
                   FW("\x91") FW("\x92") FW("\x93") FW("\x8d") FW("\x94") FW("\x95") FW("\x8d")
                       FW("\x96") FW("\x97") FW("\x98") FW("\x99"),
                   PHI_SSN));
    CHECK(found_as("call 617" ENDSH "555" ENDSH "0199 today", "617" ENDSH "555" ENDSH "0199",
                   PHI_PHONE));
    CHECK(found_as("phone" NBSP "617" NBSP "555" NBSP "0199.", "617" NBSP "555" NBSP "0199",
                   PHI_PHONE));
    /* Entities after a folded one keep their offsets in the original text. */
    CHECK(found_as("SSN 123" NBH "45" NBH "6789, seen 03/02/2024", "03/02/2024", PHI_DATE));
    /* The SSA rules still apply to the folded digits: a 9xx area is no SSN. */
    CHECK(!found_as("ssn 987" NBH "65" NBH "4321", "987" NBH "65" NBH "4321", PHI_SSN));
}

TEST(invalid_and_partial_sequences)
{
    const phi_entity *e;
    size_t n;
    setup();
    /* A cut sequence at the end, a lone lead byte, continuation bytes alone: copied, and the
     * SSN before them is found with valid offsets. */
    const char *texts[] = {"ssn 123" NBH "45" NBH "6789 \xe2\x80",
                           "ssn 123" NBH "45" NBH "6789 \xef",
                           "\x80\x80 ssn 123" NBH "45" NBH "6789 \xc2", NBH NBH NBH};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        size_t len = strlen(texts[i]);
        CHECK_INT(phi_scan_view(det, scr, (const uint8_t *)texts[i], len, &e, &n), PHI_OK);
        for (size_t k = 0; k < n; k++)
            CHECK(e[k].start < e[k].end && e[k].end <= len);
        if (i < 3) CHECK_INT(n, 1);
    }
}

TEST(batch_finds_what_single_scans_find)
{
    setup();
    const char *texts[] = {"SSN 123" NBH "45" NBH "6789 and 617" ENDSH "555" ENDSH "0199",
                           "plain ascii: SSN 123-45-6789, Dr. John Carter",
                           "ssn " FW("\x91") FW("\x92") FW("\x93") "-45-6789", "nothing here", ""};
    enum { N = sizeof texts / sizeof texts[0] };
    phi_entity single[N][16];
    size_t ns[N];
    for (size_t i = 0; i < N; i++) {
        const phi_entity *e;
        CHECK_INT(phi_scan_view(det, scr, (const uint8_t *)texts[i], strlen(texts[i]), &e, &ns[i]),
                  PHI_OK);
        CHECK(ns[i] <= 16);
        memcpy(single[i], e, (ns[i] < 16 ? ns[i] : 16) * sizeof *e);
    }
    phi_batch_doc docs[N];
    for (size_t i = 0; i < N; i++)
        docs[i] = (phi_batch_doc){(const uint8_t *)texts[i], strlen(texts[i]), NULL, 0, 0};
    CHECK_INT(phi_scan_batch(det, scr, docs, N), PHI_OK);
    for (size_t i = 0; i < N; i++) {
        CHECK(docs[i].text == (const uint8_t *)texts[i]); /* the caller's text given back */
        CHECK_INT(docs[i].len, strlen(texts[i]));
        CHECK_INT(docs[i].status, PHI_OK);
        CHECK_INT(docs[i].n, ns[i]);
        for (size_t k = 0; k < docs[i].n && k < ns[i]; k++)
            CHECK(docs[i].ents[k].start == single[i][k].start &&
                  docs[i].ents[k].end == single[i][k].end &&
                  docs[i].ents[k].type == single[i][k].type);
    }
    CHECK(ns[0] == 2 && ns[2] == 1);
}

TEST(redaction_replaces_the_original_bytes)
{
    setup();
    const char *text = "SSN 123" NBH "45" NBH "6789 on file";
    uint8_t *out = NULL;
    size_t olen = 0;
    CHECK_INT(phi_redact(det, scr, (const uint8_t *)text, strlen(text), NULL, &out, &olen), PHI_OK);
    CHECK(out && olen == strlen("SSN [SSN] on file") &&
          memcmp(out, "SSN [SSN] on file", olen) == 0);
    free(out);
}

UNIT_MAIN(T(names), T(cancel), T(names_context_rules), T(names_lower_case), T(names_near_misses),
          T(birth_years), T(dates), T(dates_near_misses), T(ages), T(phones), T(phones_near_misses),
          T(internet), T(ids), T(places), T(utf8_and_invalid_bytes), T(ten_megabytes),
          T(truncation_and_errors), T(redaction_modes), T(deid_fields), T(threads_share_a_detector),
          T(batch_equals_one_by_one), T(unicode_spellings_are_found),
          T(invalid_and_partial_sequences), T(batch_finds_what_single_scans_find),
          T(redaction_replaces_the_original_bytes), T(teardown))
