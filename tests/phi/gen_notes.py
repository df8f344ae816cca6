#!/usr/bin/python3
"""Generate the labelled clinical notes of tests/phi/clinical-notes.jsonl.

Every person, place, number and date here is invented. Notes are composed
from templates of ten kinds (nursing note, discharge summary, progress note,
ED note, telephone encounter, patient portal message, referral letter,
social work note, radiology report, medication reconciliation), each with
several phrasings per section, so that no two notes read alike. PHI is
inserted through Doc.phi(), which records the exact byte span and type, so
the gold spans are exact by construction.

Two splits:
  dev      templates A (the kinds above) and name/place pool A; used while
           developing the detector.
  heldout  templates B (other kinds and phrasings: consult note, operative
           note, home health visit, hospice note, insurance letter, SMS-style
           messages) and pool B, which includes surnames that are in no
           dictionary the detector ships. Written once, not tuned against.

Annotation conventions (docs/phi.md repeats them):
  NAME      person names, without titles (Dr., Mrs.) or credentials (MD, RN);
            middle initials included.
  DATE      any date more precise than a year; a time written right after
            a date is part of it; plain years are not PHI.
  AGE       the number of an age over 89 only.
  ADDRESS   street line including the unit; CITY and ZIP separate; states
            are not PHI.
  ids       the value only, never its label.

Usage: gen_notes.py OUTPUT [--seed N]
       gen_notes.py OUTPUT --dev2   (the second development set, pool C)
"""
import json
import random
import sys

# ---------------------------------------------------------------- pools

FIRST_A = ["Hope", "Grace", "Will", "Mark", "June", "Rose", "Faith", "Bill", "April", "Dawn",
           "Mary", "Amy", "Sandra", "Owen", "Glenn", "Margaret", "Robert", "Linda", "James",
           "Patricia", "Michael", "Barbara", "David", "Susan", "Joseph", "Karen", "Thomas",
           "Nancy", "Charles", "Betty", "Daniel", "Dorothy", "Matthew", "Helen", "Anthony",
           "Donna", "Kevin", "Carol", "Brian", "Ruth", "Edward", "Sharon", "Ronald", "Michelle",
           "Timothy", "Laura", "Jason", "Emily", "Gary", "Kimberly", "Luis", "Mei", "Priya",
           "Ahmed", "Fatima", "Oluwaseun", "Dmitri", "Ingrid", "Siobhan", "Tomasz", "Yuki",
           "Carmen", "Rafael", "Esperanza", "Kwame", "Anh", "Hyun", "Rosa", "Eleanor", "Walter"]
LAST_A = ["Kowalski", "Young", "Brown", "White", "King", "Hall", "Baker", "Bell", "Price",
          "Green", "Hill", "Wood", "Stone", "Nguyen", "Patel", "Garcia", "Okafor", "Hernandez",
          "Cohen", "Murphy", "O'Brien", "McDonald", "Nakamura", "Haddad", "Ivanova", "Rossi",
          "Schmidt", "Andersen", "Castillo", "Delacroix", "Smith", "Johnson", "Williams",
          "Jones", "Miller", "Davis", "Rodriguez", "Martinez", "Wilson", "Anderson", "Thomas",
          "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson", "Harris", "Clark",
          "Lewis", "Robinson", "Walker", "Allen", "Wright", "Scott", "Adams", "Nelson",
          "Carter", "Mitchell", "Perez", "Roberts", "Turner", "Phillips", "Campbell",
          "Parker", "Evans", "Edwards", "Collins", "Stewart", "Morris", "Rogers", "Reed",
          "Cook", "Morgan", "Bailey", "Rivera", "Cooper", "Richardson", "Cox", "Howard",
          "Ward", "Torres", "Peterson", "Gray", "Ramirez", "Watson", "Brooks", "Kelly",
          "Sanders", "Bennett", "Wood", "Barnes", "Ross", "Henderson", "Coleman", "Jenkins",
          "Perry", "Powell", "Long", "Patterson", "Hughes", "Flores", "Washington", "Butler",
          "Simmons", "Foster", "Gonzales", "Bryant", "Alexander", "Russell", "Griffin", "Diaz"]
FIRST_B = ["Marguerite", "Thaddeus", "Ottoline", "Ezekiel", "Bronwyn", "Leopold", "Wilhelmina",
           "Cornelius", "Philippa", "Augustin", "Temperance", "Lavinia", "Ignatius", "Clementine",
           "Obadiah", "Perpetua", "Ansel", "Isolde", "Florian", "Genevieve", "Hollis", "Junia",
           "Lorcan", "Maren", "Nneka", "Osvaldo", "Paloma", "Quentin", "Rosalind", "Soren",
           "Tamsin", "Ulrich", "Verity", "Wendeline", "Xiomara", "Yusuf", "Zofia", "Chance",
           "Joy", "Summer", "Hunter", "Chase", "Sterling", "Dean", "Rich", "Frank"]
LAST_B = ["Thistlewood", "Quarrington", "Vasquez-Ortega", "Okonkwo-Baptiste", "Vrbanek",
          "Haverkamp", "Brightwater", "Oduya", "Kaczmarczyk", "Zwierzchowski", "Abernathy",
          "Fitzwilliam", "Grzelak", "Holloway", "Iwasaki", "Jablonski", "Kettleborough",
          "Lindqvist", "Mbatha", "Nightingale", "Ostrowska", "Pemberton", "Quigley",
          "Rasmussen", "Szczepanski", "Trelawney", "Umberger", "Valderrama", "Whitcombe",
          "Xenakis", "Yarborough", "Zamboni", "Love", "Rich", "Short", "Little", "Winter",
          "Summers", "Hope", "Frost", "Marsh", "Street", "Banks"]

CLIN_LAST = ["Whitfield", "Okafor", "Chen", "Alvarez", "Brennan", "Sato", "Goldberg", "Mensah",
             "Lindgren", "Petrov", "Ferreira", "Ahmadi", "Kapoor", "Dubois", "Moreau", "Novak"]
CLIN_LAST_B = ["Achterberg", "Bellweather", "Cruickshank", "Dunleavy", "Eastwick", "Fairbrother",
               "Gallowglass", "Hazelrigg", "Inchcape", "Jessop"]

FAC_A = ["Mercy General Hospital", "St. Brigid's Medical Center", "Lakeside Rehabilitation Center",
         "Northfield Community Hospital", "Cedar Ridge Nursing Home", "Riverbend Medical Center",
         "Harborview Clinic", "Oakmont Skilled Nursing Facility", "Pinecrest Hospice",
         "Saint Anselm Hospital", "Bayside Urgent Care", "Greenfield Family Practice",
         "Valley Children's Hospital", "Hillcrest Cancer Center", "Meadowbrook Dialysis Center"]
FAC_B = ["Brookhaven Memorial Hospital", "Maplewood Surgery Center", "Holy Cross Hospital",
         "Westbrook Medical Group", "Sunrise Assisted Living", "Eastside Health Center",
         "Copperfield Infirmary", "Hospital of Saint Raphael", "Kingsbridge Rehab Center",
         "Ashford Psychiatric Center"]

PLACES_A = [("Springfield", "MA", "01103"), ("Worcester", "MA", "01608"), ("Lowell", "MA", "01852"),
            ("Quincy", "MA", "02169"), ("Framingham", "MA", "01702"), ("Dayton", "OH", "45402"),
            ("Fresno", "CA", "93721"), ("Bangor", "ME", "04401"), ("Salem", "OR", "97301"),
            ("Boise", "ID", "83702"), ("Providence", "RI", "02903"), ("Hartford", "CT", "06103"),
            ("Albany", "NY", "12207"), ("Tulsa", "OK", "74103"), ("Madison", "WI", "53703"),
            ("Durham", "NC", "27701"), ("Toledo", "OH", "43604"), ("Nashua", "NH", "03060")]
PLACES_B = [("Marlborough", "MA", "01752"), ("Keene", "NH", "03431"), ("Ithaca", "NY", "14850"),
            ("Bozeman", "MT", "59715"), ("Tupelo", "MS", "38804"), ("Flagstaff", "AZ", "86001"),
            ("Brattleboro", "VT", "05301"), ("Pittsfield", "MA", "01201"), ("Chico", "CA", "95928"),
            ("Ames", "IA", "50010")]
STREETS = ["Maple", "Elm", "Chestnut", "Oak", "Pleasant", "Highland", "Washington", "Prospect",
           "Summer", "Walnut", "Cedar", "Lincoln", "Franklin", "Orchard", "Birch", "Willow"]
SUFFIX = ["Street", "St.", "Avenue", "Ave", "Road", "Rd", "Lane", "Drive", "Court", "Way",
          "Terrace", "Place", "Boulevard", "Circle"]

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


class Doc:
    """A note under construction: text plus exact gold spans (byte offsets)."""

    def __init__(self):
        self.parts = []
        self.n = 0
        self.spans = []

    def t(self, s):
        self.parts.append(s)
        self.n += len(s.encode("utf-8"))
        return self

    def phi(self, s, typ):
        b = len(s.encode("utf-8"))
        self.spans.append({"start": self.n, "end": self.n + b, "type": typ})
        return self.t(s)

    def text(self):
        return "".join(self.parts)


class World:
    """Random invented people, places and numbers for one note."""

    def __init__(self, rng, pool):
        self.r = rng
        self.pool = pool
        fa, la = (FIRST_A, LAST_A) if pool == "A" else (FIRST_B, LAST_B)
        cl = CLIN_LAST if pool == "A" else CLIN_LAST_B
        self.first = rng.choice(fa)
        self.last = rng.choice(la)
        self.mi = rng.choice("ABCDEFGHJKLMNPRSTW")
        self.rel_first = rng.choice(fa)
        self.rel = rng.choice(["wife", "husband", "daughter", "son", "sister", "brother",
                               "niece", "friend", "partner", "granddaughter", "neighbor"])
        self.doc_first = rng.choice(FIRST_A)
        self.doc_last = rng.choice(cl)
        self.doc2_last = rng.choice(cl)
        self.nurse_first = rng.choice(fa)
        self.nurse_last = rng.choice(la)
        self.fac = rng.choice(FAC_A if pool == "A" else FAC_B)
        self.fac2 = rng.choice(FAC_A if pool == "A" else FAC_B)
        self.city, self.state, self.zip = rng.choice(PLACES_A if pool == "A" else PLACES_B)
        self.street = "%d %s %s" % (rng.randint(2, 9800), rng.choice(STREETS), rng.choice(SUFFIX))
        if rng.random() < 0.3:
            self.street += rng.choice([", Apt %d" % rng.randint(1, 40), ", Unit %d%s" % (rng.randint(1, 9), rng.choice("ABC")),
                                       " Apt. %d" % rng.randint(100, 999)])
        self.year = rng.randint(2016, 2024)
        self.month = rng.randint(1, 12)
        self.day = rng.randint(1, 28)
        self.age = rng.randint(90, 104) if rng.random() < 0.35 else rng.randint(24, 88)
        self.dob_year = self.year - self.age

    # numbers ---------------------------------------------------------
    def digits(self, n):
        return "".join(str(self.r.randint(0, 9)) for _ in range(n))

    def mrn(self):
        return self.r.choice([self.digits(7), self.digits(8), "00" + self.digits(6),
                              "%s%s" % (self.r.choice("ABEKM"), self.digits(7))])

    def phone(self):
        a, b, c = self.r.randint(201, 989), self.r.randint(200, 999), self.digits(4)
        return self.r.choice(["(%d) %d-%s" % (a, b, c), "%d-%d-%s" % (a, b, c),
                              "%d.%d.%s" % (a, b, c), "(%d)%d-%s" % (a, b, c),
                              "+1 %d %d %s" % (a, b, c), "%d-%d-%s ext. %d" % (a, b, c, self.r.randint(10, 9999))])

    def ssn(self):
        while True:
            a = self.r.randint(1, 899)
            if a != 666:
                break
        return "%03d-%02d-%04d" % (a, self.r.randint(1, 99), self.r.randint(1, 9999))

    def luhn_complete(self, body):
        digits = [int(x) for x in body]
        s = 0
        for i, dd in enumerate(reversed(digits)):
            if i % 2 == 0:
                dd *= 2
                if dd > 9:
                    dd -= 9
            s += dd
        return body + str((10 - s % 10) % 10)

    def npi(self):
        body = self.r.choice("12") + self.digits(8)
        full = self.luhn_complete("80840" + body)
        return full[5:]

    def card(self):
        n = self.luhn_complete(self.r.choice(["4", "5", "37"]) + self.digits(14 if True else 0))
        return self.r.choice([n, " ".join(n[i:i + 4] for i in range(0, len(n), 4))])

    def dea(self):
        d = [self.r.randint(0, 9) for _ in range(6)]
        check = (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10
        return self.r.choice("ABFM") + self.last[0].upper() + "".join(map(str, d)) + str(check)

    def vin(self):
        chars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
        vals = dict(zip("ABCDEFGHJKLMNPRSTUVWXYZ", [1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 7, 9, 2, 3, 4, 5, 6, 7, 8, 9]))
        w = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
        while True:
            v = [self.r.choice(chars) for _ in range(17)]
            v[0] = self.r.choice("12345JKLSTVWYZ")
            s = sum((int(c) if c.isdigit() else vals[c]) * w[i] for i, c in enumerate(v) if i != 8)
            r = s % 11
            v[8] = "X" if r == 10 else str(r)
            if sum(c.isdigit() for c in v) >= 4 and sum(c.isalpha() for c in v) >= 2:
                return "".join(v)

    def plate(self):
        return self.r.choice(["%s%s%s" % (self.digits(1), "".join(self.r.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3)), self.digits(2)),
                              "%s-%s" % ("".join(self.r.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3)), self.digits(4))])

    def plan_id(self):
        return self.r.choice(["%s%s" % ("".join(self.r.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3)), self.digits(9)),
                              "%s%s%s-%s%s%s-%s%s" % (self.digits(1), "E", "G", self.digits(1), "T", "E", self.digits(1), "K"),
                              "W" + self.digits(10), self.digits(3) + "-" + self.digits(6)])

    def email(self, first, last):
        dom = self.r.choice(["mailbox.example", "gmail.com", "yahoo.com", "outlook.com", "comcast.net"])
        return self.r.choice(["%s.%s@%s" % (first.lower(), last.lower().replace("'", ""), dom),
                              "%s%s%d@%s" % (first[0].lower(), last.lower().replace("'", ""), self.r.randint(1, 99), dom)])

    def ip(self):
        if self.r.random() < 0.25:
            return "2001:db8:%x:%x::%x" % (self.r.randint(1, 0xffff), self.r.randint(1, 0xffff), self.r.randint(1, 0xffff))
        return "%d.%d.%d.%d" % (self.r.choice([10, 172, 192, 73, 98]), self.r.randint(0, 255), self.r.randint(0, 255), self.r.randint(1, 254))

    # dates -----------------------------------------------------------
    def rdate(self, y0=None, y1=None):
        y = self.r.randint(y0 or self.year - 1, y1 or self.year)
        return y, self.r.randint(1, 12), self.r.randint(1, 28)

    def fmt_date(self, y, m, d, style=None):
        mon = MONTHS[m - 1]
        styles = ["%m/%d/%Y", "%-m/%-d/%Y", "%-m/%-d/%y", "%Y-%m-%d", "Mon %-d, %Y", "Month %-d, %Y",
                  "%-d Month %Y", "%d-Mon-%y", "Month %-dth", "%-m/%-d", "Mon %-d", "%m-%d-%Y"]
        st = style or self.r.choice(styles)
        out = (st.replace("%m", "%02d" % m).replace("%-m", str(m)).replace("%d", "%02d" % d)
               .replace("%-d", str(d)).replace("%Y", str(y)).replace("%y", "%02d" % (y % 100)))
        out = out.replace("Month", mon).replace("Mon", mon[:3])
        if "th" in st:
            suf = "th" if 11 <= d <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
            out = out.replace("%sth" % d, "%s%s" % (d, suf))
        return out

    def date(self, style=None, y0=None, y1=None):
        y, m, d = self.rdate(y0, y1)
        return self.fmt_date(y, m, d, style)


# ---------------------------------------------------------------- pieces

def name(d, w, first, last, style=None):
    r = w.r
    st = style or r.choice(["FL", "FL", "FML", "L,F", "F"])
    if st == "FL":
        d.phi("%s %s" % (first, last), "NAME")
    elif st == "FML":
        d.phi("%s %s. %s" % (first, w.mi, last), "NAME")
    elif st == "L,F":
        d.phi("%s, %s" % (last, first), "NAME")
    elif st == "UP":
        d.phi("%s, %s" % (last.upper(), first.upper()), "NAME")
    else:
        d.phi(first, "NAME")


def doctor(d, w, last=None, full=False):
    last = last or w.doc_last
    r = w.r
    if full or r.random() < 0.4:
        d.phi("%s %s" % (w.doc_first, last), "NAME")
        d.t(r.choice([", MD", " MD", ", M.D.", ", DO", ""]))
    else:
        d.t(r.choice(["Dr. ", "Dr ", "Dr. "]))
        d.phi(last, "NAME")


def vitals(d, w):
    r = w.r
    d.t("Vitals: T %.1f, HR %d, BP %d/%d, RR %d, SpO2 %d%% on %s. " % (
        r.uniform(36.1, 38.4), r.randint(58, 118), r.randint(98, 172), r.randint(52, 96),
        r.randint(12, 24), r.randint(88, 100), r.choice(["RA", "2L NC", "room air"])))


def labs(d, w):
    r = w.r
    d.t("Labs: Na %d, K %.1f, Cl %d, HCO3 %d, BUN %d, Cr %.1f, glucose %d, WBC %.1f, Hgb %.1f, plt %d. " % (
        r.randint(128, 146), r.uniform(3.1, 5.6), r.randint(95, 110), r.randint(18, 30), r.randint(8, 60),
        r.uniform(0.6, 3.2), r.randint(70, 320), r.uniform(3.2, 18.5), r.uniform(7.5, 15.9), r.randint(90, 450)))
    if r.random() < 0.5:
        d.t("HbA1c %.1f%%, INR %.1f, troponin <0.01. " % (r.uniform(5.2, 11.0), r.uniform(0.9, 3.4)))


MEDS = ["metoprolol succinate 25 mg PO daily", "lisinopril 10 mg daily", "atorvastatin 40 mg qhs",
        "furosemide 40 mg PO BID", "acetaminophen 500-1000 mg q6h PRN pain", "oxycodone 5 mg 1-2 tabs q4h PRN",
        "insulin glargine 22 units qhs", "apixaban 5 mg BID", "sertraline 50 mg daily",
        "levothyroxine 88 mcg daily", "tamsulosin 0.4 mg qhs", "docusate 100 mg BID",
        "prednisone 40 mg x5 days", "amoxicillin-clavulanate 875-125 mg BID x 7 days",
        "take 1/2 tab of hydrochlorothiazide 25 mg daily", "potassium chloride 20 mEq daily",
        "warfarin 2.5 mg daily, goal INR 2-3", "gabapentin 300 mg TID", "vitamin D 1000 units daily"]


def meds(d, w, n=4):
    d.t("Medications: " + "; ".join(w.r.sample(MEDS, n)) + ". ")


def filler_exam(d, w):
    r = w.r
    bits = ["Lungs clear to auscultation bilaterally. ", "Heart regular rate and rhythm, 2/6 systolic murmur at RUSB. ",
            "Abdomen soft, nontender; Murphy's sign negative. ", "Strength 5/5 in all extremities, reflexes 2+ and symmetric. ",
            "Babinski downgoing bilaterally. ", "Pain 4/10 at rest, 7/10 with ambulation. ",
            "Foley catheter in place draining clear yellow urine. ", "Mild 1+ pitting edema to mid-shin. ",
            "Skin warm and dry, no rashes. ", "Alert and oriented x3, GCS 15. ",
            "Gait steady with rolling walker. ", "Visual acuity 20/40 OU. "]
    d.t("".join(r.sample(bits, r.randint(2, 5))))


def ambiguous_words(d, w):
    r = w.r
    bits = ["We hope to transition to oral antibiotics tomorrow. ", "Patient will follow up in clinic. ",
            "She expressed faith in the plan of care. ", "The hospital bill was discussed with case management. ",
            "Skin shows a small rose-colored macule. ", "Grace period for the prior authorization ends soon. ",
            "Family would like to mark the date on the calendar. ", "May resume regular diet as tolerated. ",
            "Young adult sibling donor was considered. ", "White count trending down. ",
            "Chase the potassium with repeat labs. ", "Gleason score 3+4=7 on prior biopsy. ",
            "History of Parkinson's disease and Hodgkin lymphoma in 2009. ", "Glasgow Coma Scale 14. ",
            "Brown discharge noted on pad. ", "Apgar scores 8 and 9 at delivery. ",
            "Swan-Ganz catheter removed. ", "Continue Lasix and Coumadin per cardiology. "]
    d.t("".join(r.sample(bits, r.randint(1, 3))))


def age_phrase(d, w):
    r = w.r
    sex = r.choice(["woman", "man", "female", "male"])
    st = r.randint(0, 4)
    if w.age > 89:
        if st == 0:
            d.t("a "); d.phi(str(w.age), "AGE"); d.t("-year-old %s" % sex)
        elif st == 1:
            d.t("a "); d.phi(str(w.age), "AGE"); d.t(" y/o %s" % sex)
        elif st == 2:
            d.t("a "); d.phi(str(w.age), "AGE"); d.t(" yo %s" % sex)
        elif st == 3:
            d.t("a %s, age " % sex); d.phi(str(w.age), "AGE"); d.t(",")
        else:
            d.t("a "); d.phi(str(w.age), "AGE"); d.t(" year old %s" % sex)
    else:
        d.t("a %d-year-old %s" % (w.age, sex))


def address_block(d, w, one_line=None):
    r = w.r
    d.phi(w.street, "ADDRESS")
    d.t(r.choice([", ", "\n", ", "]))
    d.phi(w.city, "CITY")
    d.t(", %s " % w.state)
    d.phi(w.zip if r.random() < 0.8 else w.zip + "-" + w.digits(4), "ZIP")


def label_id(d, w, label, value, typ):
    d.t(label)
    d.phi(value, typ)


# ---------------------------------------------------------------- templates A

def header(d, w):
    r = w.r
    st = r.randint(0, 3)
    if st == 0:
        d.t("Patient: "); name(d, w, w.first, w.last, r.choice(["FL", "L,F", "UP", "FML"]))
        d.t("    MRN: "); d.phi(w.mrn(), "MRN")
        d.t("    DOB: "); d.phi(w.fmt_date(w.dob_year, w.month, w.day, r.choice(["%m/%d/%Y", "%-m/%-d/%Y", "%Y-%m-%d"])), "DATE")
        d.t("\n")
    elif st == 1:
        d.t("NAME: "); name(d, w, w.first, w.last, "UP")
        d.t("\nMR#: "); d.phi(w.mrn(), "MRN")
        d.t("  Acct #: "); d.phi(w.digits(9), "ACCOUNT")
        d.t("\nDate of service: "); d.phi(w.date("%m/%d/%Y"), "DATE"); d.t("\n")
    elif st == 2:
        d.t("Pt name: "); name(d, w, w.first, w.last, "FL")
        d.t(" | Medical record number "); d.phi(w.mrn(), "MRN")
        d.t(" | D.O.B. "); d.phi(w.fmt_date(w.dob_year, w.month, w.day, "%m/%d/%y"), "DATE"); d.t("\n")
    else:
        d.t("Re: "); name(d, w, w.first, w.last, "FML")
        d.t(" (MRN "); d.phi(w.mrn(), "MRN"); d.t(")\n")


def nursing_note(d, w):
    r = w.r
    d.t("NURSING NOTE\n")
    header(d, w)
    d.t("Shift: 0700-1900. ")
    d.t("Received pt from ED at "); d.t("%d:%02d" % (r.randint(1, 12), r.randint(0, 59)))
    d.t(". Pt is "); age_phrase(d, w); d.t(" admitted on ")
    d.phi(w.date(), "DATE"); d.t(" for CHF exacerbation. ")
    vitals(d, w); filler_exam(d, w)
    d.t("Pt's %s " % w.rel); d.phi(w.rel_first, "NAME")
    d.t(" at bedside, can be reached at "); d.phi(w.phone(), "PHONE"); d.t(". ")
    ambiguous_words(d, w)
    meds(d, w, 3)
    d.t("Will continue to monitor. ")
    name(d, w, w.nurse_first, w.nurse_last, "FL"); d.t(r.choice([", RN", " RN", ", LPN"])); d.t("\n")


def discharge_summary(d, w):
    r = w.r
    d.t("DISCHARGE SUMMARY\n")
    header(d, w)
    d.t("Admission date: "); d.phi(w.date("%m/%d/%Y"), "DATE")
    d.t("   Discharge date: "); d.phi(w.date("%m/%d/%Y"), "DATE"); d.t("\n")
    d.t("Attending: "); doctor(d, w, full=True); d.t("\n")
    d.t("HPI: "); name(d, w, w.first, w.last, r.choice(["FL", "F"]) if r.random() < 0.5 else "FL")
    d.t(" is "); age_phrase(d, w)
    d.t(" with a history of type 2 diabetes, CKD stage 3 and atrial fibrillation who presented to ")
    d.phi(w.fac, "FACILITY"); d.t(" on "); d.phi(w.date(r.choice(["Month %-d, %Y", "Mon %-d", "Month %-dth"])), "DATE")
    d.t(" after a fall at home. ")
    if r.random() < 0.5:
        d.t("She was previously seen at "); d.phi(w.fac2, "FACILITY"); d.t(" in "); d.t(str(w.year - 3)); d.t(". ")
    labs(d, w); filler_exam(d, w)
    d.t("Hospital course: Mr./Ms. "); d.phi(w.last, "NAME")
    d.t(" was diuresed with IV furosemide and improved. ")
    ambiguous_words(d, w)
    meds(d, w, 5)
    d.t("Follow-up: with "); doctor(d, w, last=w.doc2_last); d.t(" on ")
    d.phi(w.date(r.choice(["%-m/%-d", "Mon %-d", "Month %-d, %Y"])), "DATE"); d.t(" at 10:30 AM. ")
    d.t("Discharged to home at "); address_block(d, w); d.t(" with VNA services.\n")
    d.t("Electronically signed by "); doctor(d, w, full=True); d.t(" on ")
    d.phi(w.date("%m/%d/%Y %H:%M".replace("%H:%M", "%d:%02d" % (r.randint(0, 23), r.randint(0, 59)))), "DATE"); d.t("\n")


def progress_note(d, w):
    r = w.r
    d.t("PROGRESS NOTE - Internal Medicine\n")
    d.t("Date: "); d.phi(w.date(r.choice(["%m/%d/%Y", "%Y-%m-%d", "Month %-d, %Y"])), "DATE"); d.t("\n")
    d.t("S: "); d.phi(w.first, "NAME"); d.t(" reports less dyspnea overnight; her %s " % w.rel)
    d.phi(w.rel_first, "NAME"); d.t(" " + r.choice(["says", "notes", "confirms"]) + " she slept well. ")
    d.t("O: "); vitals(d, w); labs(d, w)
    d.t("A/P: "); age_phrase(d, w); d.t(" with pneumonia, improving. ")
    ambiguous_words(d, w)
    d.t("Discussed with "); doctor(d, w); d.t(". ")
    d.t("Insurance: member ID "); d.phi(w.plan_id(), "HEALTH_PLAN"); d.t(". ")
    d.t("\n-- "); d.phi("%s %s" % (w.doc_first, w.doc2_last), "NAME"); d.t(", MD, PGY-2, pager "); d.phi(w.digits(5), "PHONE")
    d.t("\n")


def ed_note(d, w):
    r = w.r
    d.t("EMERGENCY DEPARTMENT NOTE\n")
    header(d, w)
    d.t("Arrival: "); d.phi(w.date("%m/%d/%Y") + " %02d:%02d" % (r.randint(0, 23), r.randint(0, 59)), "DATE")
    d.t(" via ambulance from "); address_block(d, w); d.t(". ")
    d.t("CC: chest pain x 2 days. ")
    d.t("Patient is "); age_phrase(d, w); d.t(". Onset on the ")
    d.phi(r.choice(["3rd", "14th", "21st", "2nd", "9th"]), "DATE"); d.t(" while shoveling snow. ")
    vitals(d, w); filler_exam(d, w)
    d.t("EKG: NSR, no acute ST changes. Troponin x2 negative. ")
    d.t("Emergency contact: "); d.phi("%s %s" % (w.rel_first, w.last), "NAME"); d.t(" (%s) " % w.rel)
    d.phi(w.phone(), "PHONE"); d.t(". ")
    if r.random() < 0.5:
        d.t("Driver's license "); d.phi("S%s-%s-%s" % (w.digits(3), w.digits(4), w.digits(4)), "LICENSE")
        d.t(" scanned at registration. ")
    if r.random() < 0.4:
        d.t("Vehicle involved in MVC: VIN "); d.phi(w.vin(), "VEHICLE"); d.t(", license plate ")
        d.phi(w.plate(), "VEHICLE"); d.t(". ")
    d.t("Dispo: admit to telemetry under "); doctor(d, w); d.t(".\n")


def phone_encounter(d, w):
    r = w.r
    d.t("TELEPHONE ENCOUNTER\n")
    d.t("Caller: "); name(d, w, w.rel_first, w.last, "FL"); d.t(" (%s of patient)\n" % w.rel)
    d.t("Patient: "); name(d, w, w.first, w.last, r.choice(["FL", "L,F"])); d.t("  DOB ")
    d.phi(w.fmt_date(w.dob_year, w.month, w.day, "%m/%d/%Y"), "DATE"); d.t("\n")
    d.t("Call back number: "); d.phi(w.phone(), "PHONE"); d.t("\n")
    d.t("%s called on %s reporting that her mother has had a cough since " % (w.rel.capitalize(), "Monday"))
    d.phi(w.date(r.choice(["Month %-dth", "%-m/%-d", "Mon %-d"])), "DATE")
    d.t(". Denies fever. Took acetaminophen 650 mg at 2 pm. ")
    ambiguous_words(d, w)
    d.t("Advised to call 911 for worsening shortness of breath. Rx sent by fax to pharmacy at ")
    d.phi(w.phone(), "FAX"); d.t(". ")
    d.t("Per "); doctor(d, w); d.t(", appointment booked for "); d.phi(w.date("Month %-d, %Y"), "DATE"); d.t(".\n")
    d.t("-- "); name(d, w, w.nurse_first, w.nurse_last, "FL"); d.t(", RN\n")


def portal_message(d, w):
    r = w.r
    d.t("PATIENT PORTAL MESSAGE\nFrom: "); name(d, w, w.first, w.last, "FL"); d.t(" <")
    d.phi(w.email(w.first, w.last), "EMAIL"); d.t(">\nTo: "); doctor(d, w); d.t("\n")
    d.t("Sent: "); d.phi(w.date("%m/%d/%Y"), "DATE"); d.t("\n\n")
    d.t("Hi Dr. "); d.phi(w.doc_last, "NAME"); d.t(",\n")
    d.t("My blood pressure this morning was 148/92 and I've been taking the lisinopril 10 mg. ")
    d.t("I hope that is okay. My new address is "); address_block(d, w); d.t(" and my cell is ")
    d.phi(w.phone(), "PHONE"); d.t(". ")
    d.t("Could you also send the paperwork to my daughter "); d.phi(w.rel_first, "NAME")
    d.t(" at "); d.phi(w.email(w.rel_first, w.last), "EMAIL"); d.t("? ")
    d.t("I logged in from "); d.phi(w.ip(), "IP"); d.t(" and the link "); d.phi("https://portal.%s.example.org/msg/%s" % (w.doc_last.lower(), w.digits(6)), "URL")
    d.t(" did not open.\nThanks,\n"); d.phi(w.first, "NAME"); d.t("\n")


def referral_letter(d, w):
    r = w.r
    d.phi(w.fac.upper(), "FACILITY"); d.t("\n")  # letterhead
    d.t("Tel "); d.phi(w.phone(), "PHONE"); d.t("  Fax "); d.phi(w.phone(), "FAX"); d.t("\n")
    d.phi(w.date("Month %-d, %Y"), "DATE"); d.t("\n\nDear Dr. "); d.phi(w.doc2_last, "NAME"); d.t(",\n")
    d.t("Thank you for seeing my patient, "); name(d, w, w.first, w.last, "FML"); d.t(" (DOB ")
    d.phi(w.fmt_date(w.dob_year, w.month, w.day, "%-m/%-d/%Y"), "DATE"); d.t("), "); age_phrase(d, w)
    d.t(" with progressive memory loss since "); d.phi(w.fmt_date(w.year - 1, w.month, 1, "Month %Y").replace(" 1,", ""), "DATE")
    d.t(". MoCA 18/30. ")
    ambiguous_words(d, w)
    d.t("She lives with her %s, " % w.rel); d.phi("%s %s" % (w.rel_first, w.last), "NAME"); d.t(", in ")
    d.phi(w.city, "CITY"); d.t(". ")
    d.t("Her Medicare number is "); d.phi(w.plan_id(), "HEALTH_PLAN"); d.t(" and SSN "); d.phi(w.ssn(), "SSN"); d.t(". ")
    d.t("\nSincerely,\n"); doctor(d, w, full=True); d.t("\nNPI: "); d.phi(w.npi(), "ID")
    d.t("  DEA: "); d.phi(w.dea(), "ID"); d.t("\n")


def social_work(d, w):
    r = w.r
    d.t("SOCIAL WORK NOTE\n")
    header(d, w)
    d.t("Met with patient and %s " % w.rel); d.phi(w.rel_first, "NAME"); d.t(" to discuss discharge planning. ")
    d.t("Patient lives alone at "); address_block(d, w); d.t(". ")
    d.t("Patient worked as a machinist at the Bell plant until retirement in "); d.t(str(w.year - 20)); d.t(". ")
    d.t("Financial: billing account "); d.phi(w.digits(8), "ACCOUNT"); d.t(" has an outstanding balance; ")
    d.t("card on file "); d.phi(w.card(), "CARD"); d.t(" declined. ")
    d.t("Referral faxed to "); d.phi(w.fac2, "FACILITY"); d.t(" at "); d.phi(w.phone(), "FAX"); d.t(". ")
    d.t("Health care proxy: "); name(d, w, w.rel_first, w.last, "FL"); d.t(", phone "); d.phi(w.phone(), "PHONE"); d.t(". ")
    ambiguous_words(d, w)
    d.t("Plan to follow up on "); d.phi(w.date(r.choice(["Mon %-d", "%-m/%-d/%Y", "Month %-dth"])), "DATE"); d.t(".\n")
    name(d, w, w.nurse_first, w.nurse_last, "FL"); d.t(", LICSW\n")


def radiology(d, w):
    r = w.r
    d.t("RADIOLOGY REPORT\nExam: CT chest with contrast   Accession #: "); d.phi(w.digits(10), "ID")
    d.t("\nPatient: "); name(d, w, w.first, w.last, "UP"); d.t("   MRN "); d.phi(w.mrn(), "MRN")
    d.t("\nExam date: "); d.phi(w.date("%Y-%m-%d"), "DATE"); d.t("\n")
    d.t("Comparison: CT from "); d.phi(w.date("%m/%d/%Y"), "DATE"); d.t(". ")
    d.t("Findings: 8 mm nodule in the right upper lobe, previously 6 mm. Pacemaker leads in place; device serial ")
    d.phi("%s%s" % (r.choice(["PJN", "RXT", "MDT"]), w.digits(6)), "DEVICE")
    d.t(". No pleural effusion. Impression: enlarging nodule; Fleischner follow-up in 3 months.\n")
    d.t("Read by: "); doctor(d, w, full=True); d.t("\n")


def med_rec(d, w):
    r = w.r
    d.t("MEDICATION RECONCILIATION\n")
    header(d, w)
    meds(d, w, 6)
    d.t("\nPharmacy: CVS, phone "); d.phi(w.phone(), "PHONE"); d.t(", fax "); d.phi(w.phone(), "FAX"); d.t(". ")
    d.t("Last fill "); d.phi(w.date(r.choice(["%-m/%-d/%y", "%-m/%-d"])), "DATE"); d.t(". ")
    d.t("Insulin pump S/N "); d.phi("%s-%s-%s" % (w.digits(2), w.digits(4), w.digits(2)), "DEVICE"); d.t(" checked. ")
    ambiguous_words(d, w)
    d.t("Reconciled by "); name(d, w, w.nurse_first, w.nurse_last, "FL"); d.t(", PharmD on ")
    d.phi(w.date("%d-Mon-%y"), "DATE"); d.t(".\n")


TEMPLATES_A = [nursing_note, discharge_summary, progress_note, ed_note, phone_encounter,
               portal_message, referral_letter, social_work, radiology, med_rec]


# ---------------------------------------------------------------- templates B (held out)

def consult_note(d, w):
    r = w.r
    d.t("Cardiology Consultation\n")
    d.t("Requesting physician: "); doctor(d, w, full=True); d.t("\n")
    d.t("Consultant: "); d.t("Dr. "); d.phi(w.doc2_last, "NAME"); d.t("\n")
    d.t("Reason: new murmur. The patient, "); name(d, w, w.first, w.last, "FML"); d.t(", is ")
    age_phrase(d, w); d.t(" referred from "); d.phi(w.fac, "FACILITY"); d.t(". ")
    d.t("She was last admitted "); d.phi(w.date("Month %-d, %Y"), "DATE"); d.t(" for syncope. ")
    d.t("Echo on "); d.phi(w.date("%-m/%-d/%y"), "DATE"); d.t(" showed EF 35%, grade 2/6 murmur unchanged. ")
    d.t("Her son "); d.phi(w.rel_first, "NAME"); d.t(" lives nearby in "); d.phi(w.city, "CITY"); d.t(". ")
    vitals(d, w)
    d.t("Recommend TEE; will call the family at "); d.phi(w.phone(), "PHONE"); d.t(".\n")


def operative_note(d, w):
    r = w.r
    d.t("OPERATIVE REPORT\n")
    d.t("Patient: "); name(d, w, w.first, w.last, "L,F"); d.t("; Unit no. "); d.phi(w.mrn(), "MRN"); d.t("\n")
    d.t("Date of surgery: "); d.phi(w.date("%d %B %Y".replace("%B", "Month").replace("%d", "%-d")), "DATE"); d.t("\n")
    d.t("Surgeon: "); doctor(d, w, full=True); d.t("   Assistant: "); name(d, w, w.nurse_first, w.nurse_last, "FL"); d.t(", PA-C\n")
    d.t("Procedure: laparoscopic cholecystectomy. A Jackson-Pratt drain was left. EBL 50 mL. ")
    d.t("Implant: mesh lot "); d.phi("LOT-%s%s" % (w.digits(5), r.choice("ABCD")), "DEVICE"); d.t(". ")
    d.t("Findings consistent with Mirizzi syndrome. Counts correct x2.\n")


def home_health(d, w):
    r = w.r
    d.t("Home health visit - "); d.phi(w.date("%A".replace("%A", "Mon %-d")), "DATE"); d.t("\n")
    d.t("Visited "); name(d, w, w.first, w.last, "FL"); d.t(" at home ("); address_block(d, w); d.t("). ")
    d.t("Client is "); age_phrase(d, w); d.t(", lives with grandson "); d.phi(w.rel_first, "NAME"); d.t(". ")
    d.t("Wound on L heel 2 x 3 cm, Braden 14. Reviewed meds: metformin 500 mg BID. ")
    d.t("Supervisor "); name(d, w, w.nurse_first, w.nurse_last, "FL"); d.t(" notified by text at ")
    d.phi(w.phone(), "PHONE"); d.t(". Next visit "); d.phi(w.date("%-m/%-d"), "DATE"); d.t(".\n")


def hospice_note(d, w):
    r = w.r
    d.t("Hospice admission - "); d.phi(w.fac, "FACILITY"); d.t("\n")
    d.t("Pt "); name(d, w, w.first, w.last, "FL"); d.t(", age "); d.phi(str(max(w.age, 90)), "AGE")
    d.t(", end-stage COPD. Spouse "); d.phi("%s %s" % (w.rel_first, w.last), "NAME"); d.t(" is the HCP. ")
    d.t("Funeral home contacted. DNR/DNI confirmed on "); d.phi(w.date("Mon %-d, %Y"), "DATE"); d.t(". ")
    d.t("Family hopes for comfort at home; pain 3/10 on morphine 5 mg q2h PRN.\n")


def insurance_letter(d, w):
    r = w.r
    d.phi(w.date("Month %-d, %Y"), "DATE"); d.t("\n")
    name(d, w, w.first, w.last, "FL"); d.t("\n"); address_block(d, w); d.t("\n\n")
    d.t("Subscriber ID: "); d.phi(w.plan_id(), "HEALTH_PLAN"); d.t("   Group #: "); d.phi(w.digits(6), "HEALTH_PLAN")
    d.t("\nClaim #: "); d.phi(w.digits(11), "ID"); d.t("\n")
    d.t("Dear "); d.phi(w.first, "NAME"); d.t(",\nYour claim for services on "); d.phi(w.date("%m/%d/%Y"), "DATE")
    d.t(" at "); d.phi(w.fac2, "FACILITY"); d.t(" was approved. Questions: call ")
    d.phi(w.phone(), "PHONE"); d.t(" or visit "); d.phi("www.%shealthplan.example.com/members" % r.choice(["bluecrest", "unity", "keystone"]), "URL")
    d.t(".\n")


def sms_thread(d, w):
    r = w.r
    d.t("[care team chat]\n")
    d.phi(w.nurse_first, "NAME"); d.t(": bed 12 pt "); d.phi(w.last, "NAME"); d.t(" asking for his daughter\n")
    d.phi(w.doc_first, "NAME"); d.t(": ok, her number is "); d.phi(w.phone(), "PHONE"); d.t("\n")
    d.phi(w.nurse_first, "NAME"); d.t(": thx. also ssn on the form is "); d.phi(w.ssn(), "SSN"); d.t(" pls verify\n")
    d.phi(w.doc_first, "NAME"); d.t(": verified. f/u "); d.phi(w.date("%-m/%-d"), "DATE"); d.t(" w/ ortho\n")


TEMPLATES_B = [consult_note, operative_note, home_health, hospice_note, insurance_letter, sms_thread]


# ---------------------------------------------------------------- templates C (second development set)
# Written for the name rules after the held-out figure was first measured:
# other note kinds again (therapy, pharmacy, ICU handoff, nutrition, letters,
# triage, case management, team huddle) and pool C, whose surnames are
# invented or rare (most in no shipped dictionary) and include English words.
# Its errors may be studied; the held-out split stays unstudied.

FIRST_C = ["Aurelio", "Bettina", "Casimir", "Delphine", "Evander", "Fenella", "Gideon", "Hester",
           "Ivo", "Jolanta", "Kasimir", "Lucasta", "Mordecai", "Niamh", "Oriel", "Prosper",
           "Radomir", "Saoirse", "Tobiah", "Ursula", "Valentin", "Winifred", "Zebulon", "Amara",
           "Destiny", "Sunny", "Autumn", "Forrest", "Cliff", "Ray", "Pearl", "Sky", "Ngozi", "Chidi"]
LAST_C = ["Pryzbylewski", "Ekwueme", "Featherstonhaugh", "Oyelaran", "Penhaligon", "Grimsdottir",
          "Tsvetkova", "Oyelowo", "Adebayo-Cole", "Nakashima-Wells", "Castellanos-Reyes",
          "Quillfeather", "Ravensworth", "Dunmorrow", "Ashgrove", "Kellerby", "Vostrikova",
          "Anyanwu", "Thorncroft", "Wychwood", "Marchetti-Lowe", "Brackwater", "Osterhaut",
          "Fairweather", "Holloway-Nunn", "Cartwright", "Wexford", "Fox", "Bird", "Swift", "Lamb",
          "Moss", "Wren", "Sparrow", "Gladstone", "Tolliver", "Quennell", "Penrose", "Hardcastle"]
CLIN_LAST_C = ["Ogundipe", "Vandermolen", "Szabados", "Rowntree", "Thackeray", "Imhoff",
               "Kirkegaard", "Lusardi"]
FAC_C = ["Wrenfield General Hospital", "Larkspur Medical Center", "Stonebridge Rehabilitation Center",
         "Glenmoor Nursing Home", "Saint Osric Hospital"]
PLACES_C = [("Leominster", "MA", "01453"), ("Saco", "ME", "04072"), ("Rutland", "VT", "05701"),
            ("Elmira", "NY", "14901"), ("Moab", "UT", "84532"), ("Laramie", "WY", "82070")]


class WorldC(World):
    """A World drawing people and places from pool C."""

    def __init__(self, rng):
        World.__init__(self, rng, "A")
        r = rng
        self.first, self.last = r.choice(FIRST_C), r.choice(LAST_C)
        self.rel_first = r.choice(FIRST_C)
        self.doc_first = r.choice(FIRST_C)
        self.doc_last, self.doc2_last = r.choice(CLIN_LAST_C), r.choice(CLIN_LAST_C)
        self.nurse_first, self.nurse_last = r.choice(FIRST_C), r.choice(LAST_C)
        self.fac, self.fac2 = r.choice(FAC_C), r.choice(FAC_C)
        self.city, self.state, self.zip = r.choice(PLACES_C)


def pt_note(d, w):
    r = w.r
    d.t("PHYSICAL THERAPY EVALUATION\n")
    d.t("Patient name: "); name(d, w, w.first, w.last, r.choice(["L,F", "UP", "FML", "FL"]))
    d.t("\nReferring provider: "); doctor(d, w, full=True); d.t("\n")
    d.t("Date of evaluation: "); d.phi(w.date("%m/%d/%Y"), "DATE"); d.t("\n")
    d.phi(w.last, "NAME"); d.t(" is "); age_phrase(d, w); d.t(" seen for gait training after a fall. ")
    d.t("Strength 4/5 hip flexors, Berg 38/56. ")
    d.phi(w.first, "NAME"); d.t(" was accompanied by " + r.choice(["her", "his"]) + " %s, " % w.rel)
    d.phi("%s %s" % (w.rel_first, w.last), "NAME"); d.t(", who will assist with the home program. ")
    d.t("Plan: 2x/week for 6 weeks. ")
    d.phi(w.last, "NAME"); d.t(" agreed with the plan.\n")
    name(d, w, w.nurse_first, w.nurse_last, "FL"); d.t(r.choice([", PT, DPT", ", PT", " PT"])); d.t("\n")


def pharmacy_consult(d, w):
    r = w.r
    d.t("PHARMACY CONSULT - vancomycin dosing\n")
    d.t("Pt: "); name(d, w, w.first, w.last, r.choice(["L,F", "FL"])); d.t("  MRN "); d.phi(w.mrn(), "MRN"); d.t("\n")
    d.t("Consult requested by "); d.phi("%s %s" % (w.doc_first, w.doc_last), "NAME"); d.t(" for AKI on vancomycin. ")
    d.t("Trough 22.4 on "); d.phi(w.date("%-m/%-d"), "DATE"); d.t(". Cr 1.9 from 1.1. ")
    d.t("Spoke with "); d.phi("%s %s" % (w.nurse_first, w.nurse_last), "NAME"); d.t(" on 5 West about the timing. ")
    d.t("Recommend 1250 mg q24h, next level before the 4th dose.\n")
    d.t(r.choice(["-- ", "Signed: ", ""])); d.phi("%s. %s" % (w.rel_first[0], w.last), "NAME"); d.t(", PharmD\n")


def icu_handoff(d, w):
    r = w.r
    d.t("ICU HANDOFF (I-PASS)\n")
    d.t("Bed 7: "); name(d, w, w.first, w.last, r.choice(["UP", "L,F", "FL"])); d.t(", "); age_phrase(d, w)
    d.t(", septic shock. On norepinephrine 0.08. ")
    d.t("Family: %s " % w.rel); d.phi(w.rel_first, "NAME"); d.t(" is the surrogate; call ")
    d.phi(w.phone(), "PHONE"); d.t(". ")
    d.t("Overnight team: "); d.phi("%s %s" % (w.doc_first, w.doc2_last), "NAME"); d.t(" and ")
    d.phi("%s %s" % (w.nurse_first, w.nurse_last), "NAME"); d.t(". ")
    d.t("If MAP < 65, page "); d.phi(w.doc2_last, "NAME"); d.t(". ")
    d.phi(w.last, "NAME"); d.t(" may need a second pressor.\n")


def nutrition_note(d, w):
    r = w.r
    d.t("NUTRITION NOTE\n")
    d.t("Name: "); name(d, w, w.first, w.last, r.choice(["FML", "L,F", "FL"])); d.t("   DOB: ")
    d.phi(w.fmt_date(w.dob_year, w.month, w.day, "%m/%d/%Y"), "DATE"); d.t("\n")
    d.t("Weight 58.2 kg, BMI 19.1. Intake 40% of meals. ")
    d.t("Discussed oral supplements with the patient and "); d.phi("%s %s" % (w.rel_first, w.last), "NAME")
    d.t(" (%s). " % w.rel)
    d.t(r.choice(["Mrs. ", "Ms. ", "Mr. "])); d.phi(w.last, "NAME"); d.t(" prefers vanilla Ensure. ")
    d.t("Will follow up on "); d.phi(w.date("Mon %-d"), "DATE"); d.t(".\n")
    name(d, w, w.nurse_first, w.nurse_last, "FL"); d.t(", RD, LDN\n")


def patient_letter(d, w):
    r = w.r
    d.phi(w.fac, "FACILITY"); d.t("\n"); d.phi(w.date("Month %-d, %Y"), "DATE"); d.t("\n\n")
    name(d, w, w.first, w.last, "FL"); d.t("\n"); address_block(d, w); d.t("\n\n")
    d.t("Dear " + r.choice(["Mr. ", "Ms. ", ""])); d.phi(w.last if r.random() < 0.5 else w.first, "NAME"); d.t(",\n")
    d.t("Your recent test results are normal. ")
    d.t("Please bring this letter to your visit with "); d.phi("%s %s" % (w.doc_first, w.doc_last), "NAME")
    d.t(" on "); d.phi(w.date("%m/%d/%Y"), "DATE"); d.t(". ")
    d.t("If you have questions, ask for "); d.phi(w.nurse_first, "NAME"); d.t(" at "); d.phi(w.phone(), "PHONE"); d.t(".\n")
    d.t("Sincerely,\n"); d.phi("%s %s" % (w.doc_first, w.doc_last), "NAME"); d.t(", MD\n")


def triage_note(d, w):
    r = w.r
    d.t("ED TRIAGE\n")
    d.phi(w.last.upper() + ", " + w.first.upper(), "NAME"); d.t("  "); d.phi(w.mrn(), "MRN"); d.t("\n")
    d.t("Arrived "); d.phi(w.date("%m/%d/%Y"), "DATE"); d.t(" by private car with "); d.phi(w.rel_first, "NAME")
    d.t(" (%s). " % w.rel)
    d.t("CC: abdominal pain 6/10. ESI 3. ")
    d.t("Triage RN "); d.phi("%s %s" % (w.nurse_first, w.nurse_last), "NAME"); d.t(". ")
    d.t("Seen by "); d.phi("%s %s" % (w.doc_first, w.doc_last), "NAME"); d.t(" at 14:10.\n")


def case_management(d, w):
    r = w.r
    d.t("CASE MANAGEMENT\n")
    d.t("Patient "); name(d, w, w.first, w.last, "FL"); d.t(" ("); d.phi(w.mrn(), "MRN"); d.t(") ")
    d.t("discharging to "); d.phi(w.fac2, "FACILITY"); d.t(". ")
    d.t("Spoke to intake coordinator "); d.phi("%s %s" % (w.rel_first, w.nurse_last), "NAME")
    d.t(" who accepted. Transport by wheelchair van. ")
    d.t("Attendees: "); d.phi(w.first, "NAME"); d.t(", "); d.phi("%s %s" % (w.doc_first, w.doc_last), "NAME")
    d.t(" and "); d.phi("%s %s" % (w.nurse_first, w.nurse_last), "NAME"); d.t(". ")
    d.phi(w.nurse_last, "NAME"); d.t(" will fax the packet.\n")


def huddle_chat(d, w):
    r = w.r
    d.t("[unit huddle]\n")
    d.phi(w.doc_first, "NAME"); d.t(": rm 4 "); d.phi(w.last, "NAME"); d.t(" refusing meds again\n")
    d.phi(w.nurse_first, "NAME"); d.t(": I'll call "); d.phi(w.rel_first, "NAME"); d.t(", the %s\n" % w.rel)
    d.phi(w.doc_first, "NAME"); d.t(": ok. "); d.phi(w.last, "NAME"); d.t(" also needs labs at 0600\n")


TEMPLATES_C = [pt_note, pharmacy_consult, icu_handoff, nutrition_note, patient_letter, triage_note,
               case_management, huddle_chat]


def dev2(out, seed=7301):
    """Write the second development set (pool C, templates C) to out."""
    rng = random.Random(seed)
    with open(out, "w", encoding="utf-8") as f:
        for i in range(120):
            w = WorldC(rng)
            d = Doc()
            TEMPLATES_C[i % len(TEMPLATES_C)](d, w)
            f.write(json.dumps({"id": "dev2-%03d" % i, "split": "dev2", "text": d.text(),
                                "spans": d.spans}, ensure_ascii=False) + "\n")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "clinical-notes.jsonl"
    if len(sys.argv) > 2 and sys.argv[2] == "--dev2":
        dev2(out)
        return
    seed = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--seed" else 20261122
    rng = random.Random(seed)
    notes = []
    for i in range(220):
        w = World(rng, "A")
        d = Doc()
        TEMPLATES_A[i % len(TEMPLATES_A)](d, w)
        notes.append({"id": "dev-%03d" % i, "split": "dev", "text": d.text(), "spans": d.spans})
    for i in range(90):
        w = World(rng, "B")
        d = Doc()
        TEMPLATES_B[i % len(TEMPLATES_B)](d, w)
        notes.append({"id": "heldout-%03d" % i, "split": "heldout", "text": d.text(), "spans": d.spans})
    with open(out, "w", encoding="utf-8") as f:
        for n in notes:
            f.write(json.dumps(n, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
