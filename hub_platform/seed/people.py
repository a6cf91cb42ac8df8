"""True people, and the records several systems keep about them, each with its own noise.

What makes identity resolution hard is reproduced on purpose: typos, nicknames, dropped accents,
case and whitespace noise, different phone formats, missing fields, people who moved (old address
in one system, new in another), and households: different people sharing an address and a phone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FIRST = {
    "GB": ["Oliver", "George", "Harry", "Jack", "Charlotte", "Amelia", "Olivia", "Emily", "Sophie", "Thomas", "James",
           "William", "Robert", "Margaret", "Elizabeth", "Katherine", "Daniel", "Samuel", "Lucy", "Grace", "Joseph", "Ellie"],
    "DE": ["Lukas", "Jonas", "Leon", "Maximilian", "Felix", "Anna", "Lena", "Laura", "Sophie", "Jürgen", "Günter", "Katharina",
           "Matthias", "Andreas", "Stefan", "Sabine", "Ursula", "Jörg", "Björn", "Michael", "Johannes", "Marie"],
    "FR": ["Léa", "Chloé", "Manon", "Camille", "Inès", "Hugo", "Théo", "Lucas", "Louis", "Gabriel", "François", "Hélène",
           "Amélie", "Benoît", "Jérôme", "Céline", "Sébastien", "Stéphane", "Nicolas", "Élodie", "Julien", "Margaux"],
    "NL": ["Daan", "Sem", "Lucas", "Levi", "Finn", "Emma", "Julia", "Tess", "Sophie", "Anouk", "Pieter", "Joost",
           "Willem", "Maarten", "Femke", "Sanne", "Bram", "Ruben", "Lotte", "Mila", "Jeroen", "Eva"],
    "US": ["Michael", "Christopher", "Matthew", "Joshua", "Jennifer", "Jessica", "Ashley", "Sarah", "Elizabeth", "Robert",
           "William", "Richard", "Patricia", "Barbara", "Susan", "Katherine", "Anthony", "Andrew", "Nicole", "Megan", "José", "María"],
}
LAST = {
    "GB": ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright", "Thompson",
           "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke", "O'Brien", "McDonald"],
    "DE": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Schäfer",
           "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger"],
    "FR": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon",
           "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard"],
    "NL": ["de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit", "Meijer",
           "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra"],
    "US": ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez",
           "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson"],
}
NICKNAMES = {"Robert": "Bob", "William": "Bill", "Katherine": "Kate", "Elizabeth": "Liz", "Margaret": "Maggie",
             "Thomas": "Tom", "James": "Jim", "Michael": "Mike", "Christopher": "Chris", "Matthew": "Matt",
             "Jennifer": "Jenny", "Daniel": "Dan", "Samuel": "Sam", "Joseph": "Joe", "Andrew": "Andy",
             "Richard": "Rick", "Patricia": "Pat", "Susan": "Sue", "Nicholas": "Nick", "Johannes": "Hannes",
             "Katharina": "Kathi", "Maximilian": "Max", "Matthias": "Matze", "Stefan": "Steff", "Willem": "Wim"}
STREETS = {"GB": ["High Street", "Station Road", "Church Lane", "Victoria Road", "Park Avenue", "Mill Lane"],
           "DE": ["Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schulstraße", "Lindenallee", "Bergstraße"],
           "FR": ["Rue de la Paix", "Avenue Victor Hugo", "Rue du Moulin", "Boulevard Voltaire", "Rue des Écoles"],
           "NL": ["Dorpsstraat", "Kerkstraat", "Molenweg", "Stationsweg", "Schoolstraat", "Julianalaan"],
           "US": ["Main Street", "Oak Avenue", "Maple Drive", "Cedar Lane", "Elm Street", "Washington Blvd"]}
CITIES = {"GB": [("London", "SW1A 1AA"), ("Leeds", "LS1 4DY"), ("Bristol", "BS1 5TR"), ("York", "YO1 7HH")],
          "DE": [("Dresden", "01067"), ("Berlin", "10115"), ("Hamburg", "20095"), ("Köln", "50667")],
          "FR": [("Paris", "75001"), ("Lyon", "69002"), ("Lille", "59000"), ("Nantes", "44000")],
          "NL": [("Amsterdam", "1012 AB"), ("Utrecht", "3511 AX"), ("Leiden", "2311 EZ"), ("Delft", "2611 BC")],
          "US": [("Boston", "02139"), ("Newark", "07102"), ("Portland", "04101"), ("Hartford", "06103")]}
PHONE = {"GB": ("+44", "7{:09d}", "07{:09d}"), "DE": ("+49", "151{:08d}", "0151{:08d}"), "FR": ("+33", "6{:08d}", "06{:08d}"),
         "NL": ("+31", "6{:08d}", "06{:08d}"), "US": ("+1", "617{:07d}", "(617) {:07d}")}
COUNTRY_SHARE = {"GB": 0.35, "DE": 0.25, "FR": 0.15, "NL": 0.1, "US": 0.15}
COUNTRY_SPELLINGS = {"GB": ["GB", "UK", "United Kingdom"], "DE": ["DE", "Germany", "Deutschland"], "FR": ["FR", "France"],
                     "NL": ["NL", "Netherlands", "Holland"], "US": ["US", "USA", "United States"]}
DOMAINS = ["example.com", "mail.example.org", "post.example.net", "inbox.example.de"]


def _ascii(text: str) -> str:
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).replace("ß", "ss")


def true_people(rng: np.random.Generator, count: int) -> pd.DataFrame:
    """People as they really are. About one in six shares a household (address, phone) with another."""
    countries = rng.choice(list(COUNTRY_SHARE), size=count, p=list(COUNTRY_SHARE.values()))
    first = np.array([rng.choice(FIRST[c]) for c in countries], dtype=object)
    last = np.array([rng.choice(LAST[c]) for c in countries], dtype=object)
    city_index = rng.integers(0, 4, count)
    house = rng.integers(1, 240, count)
    street = np.array([STREETS[c][i % len(STREETS[c])] for c, i in zip(countries, rng.integers(0, 6, count), strict=True)], dtype=object)
    phone_digits = rng.integers(10_000_000, 99_999_999, count)
    people = pd.DataFrame({
        "person_id": [f"P{i:07d}" for i in range(count)],
        "country": countries,
        "first_name": first,
        "last_name": last,
        "dob": pd.to_datetime("1950-01-01") + pd.to_timedelta(rng.integers(0, 365 * 55, count), unit="D"),
        "city": [CITIES[c][i][0] for c, i in zip(countries, city_index, strict=True)],
        "postcode": [CITIES[c][i][1] for c, i in zip(countries, city_index, strict=True)],
        "street": [f"{h} {s}" if c in ("GB", "US", "FR") else f"{s} {h}" for h, s, c in zip(house, street, countries, strict=True)],
        "phone_digits": phone_digits,
    })
    # households: the next person takes this one's address and landline and often their last name
    household = rng.random(count) < 0.16
    household[0] = False
    shared = np.flatnonzero(household)
    for column in ("country", "city", "postcode", "street", "phone_digits"):
        people.loc[shared, column] = people.loc[shared - 1, column].to_numpy()
    people.loc[shared, "last_name"] = np.where(rng.random(len(shared)) < 0.8, people.loc[shared - 1, "last_name"], people.loc[shared, "last_name"])
    # the person's number keeps every mailbox personal, as real ones are: namesakes do not share one
    people["email"] = [
        f"{_ascii(first).lower()}.{_ascii(last).lower().replace(' ', '').replace(chr(39), '')}{n}@{DOMAINS[n % 4]}"
        for first, last, n in zip(people.first_name, people.last_name, range(count), strict=True)
    ]
    # some people moved: systems that last saw them earlier keep the old address
    moved = rng.random(count) < 0.12
    people["old_street"] = np.where(moved, [f"{rng.integers(1, 99)} {STREETS[c][0]}" for c in people.country], None)
    return people


def _typo(rng: np.random.Generator, word: str) -> str:
    if len(word) < 4:
        return word
    i = int(rng.integers(1, len(word) - 2))
    kind = rng.integers(0, 3)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # transposition
    if kind == 1:
        return word[:i] + word[i + 1 :]  # dropped letter
    return word[:i] + word[i] + word[i:]  # doubled letter


def _phone(rng: np.random.Generator, country: str, digits: int) -> str:
    prefix, international, national = PHONE[country]
    digits = digits % 10**7 if country == "US" else digits  # US subscriber numbers have seven digits
    style = rng.integers(0, 3)
    if style == 0:
        return f"{prefix} {international.format(digits)}"
    if style == 1:
        return national.format(digits)
    return f"00{prefix[1:]} {international.format(digits)}"


def noisy_records(rng: np.random.Generator, people: pd.DataFrame, source: str, share: float, *, stale: bool = False) -> pd.DataFrame:
    """How one system holds a share of the people: each field copied with that system's noise.

    ``stale``: this system still has the old address of people who moved.
    """
    chosen = people[rng.random(len(people)) < share].reset_index(drop=True)
    n = len(chosen)
    first, last = chosen.first_name.to_numpy().copy(), chosen.last_name.to_numpy().copy()
    draw = rng.random((6, n))
    for i in range(n):
        if draw[0, i] < 0.08 and first[i] in NICKNAMES:
            first[i] = NICKNAMES[first[i]]
        if draw[1, i] < 0.05:
            last[i] = _typo(rng, last[i])
        elif draw[1, i] < 0.08:
            first[i] = _typo(rng, first[i])
        if draw[2, i] < 0.10:
            first[i], last[i] = _ascii(first[i]), _ascii(last[i])
        if draw[3, i] < 0.06:
            first[i], last[i] = first[i].upper(), last[i].upper()
        elif draw[3, i] < 0.09:
            first[i], last[i] = f" {first[i].lower()}", f"{last[i].lower()}  "
    street = chosen.street.to_numpy().copy()
    if stale:
        moved = chosen.old_street.notna().to_numpy()
        street[moved] = chosen.old_street.to_numpy()[moved]
    email = chosen.email.to_numpy().copy()
    email_noise = draw[4]
    email = np.where(email_noise < 0.08, [e.upper() for e in email], email)
    email = np.where((email_noise >= 0.08) & (email_noise < 0.14), None, email)
    email = np.where((email_noise >= 0.14) & (email_noise < 0.18), [e.replace("@", f"{source[:2]}@") for e in chosen.email], email)
    phone = np.array([_phone(rng, c, d) for c, d in zip(chosen.country, chosen.phone_digits, strict=True)], dtype=object)
    phone[draw[5] < 0.1] = None
    return pd.DataFrame({
        "person_id": chosen.person_id,
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone": phone,
        "dob": np.where(rng.random(n) < 0.15, None, chosen.dob.dt.strftime("%Y-%m-%d")),
        "street": street,
        "postcode": np.where(rng.random(n) < 0.05, None, chosen.postcode),
        "city": chosen.city,
        "country": [rng.choice(COUNTRY_SPELLINGS[c]) for c in chosen.country],
        "country_iso": chosen.country,
    })
