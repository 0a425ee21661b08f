import pytest

from shared.identity.names import NameKey, fold_diacritics, name_key


@pytest.mark.parametrize("a, b", [
    ("Luka Dončić", "Luka Doncic"),
    ("Kristaps Porziņģis", "Kristaps Porzingis"),
    ("Dennis Schröder", "Dennis Schroder"),
    ("Nikola Jokić", "NIKOLA JOKIC"),
    ("Jabari Smith Jr.", "Jabari Smith Jr"),
    ("Jabari Smith Jr.", "Jabari Smith, Jr."),
    ("P.J. Washington", "PJ Washington"),
    ("P. J. Tucker", "PJ Tucker"),
    ("De'Aaron Fox", "De’Aaron Fox"),
    ("De'Aaron Fox", "DeAaron Fox"),
    ("Shai Gilgeous-Alexander", "Shai Gilgeous Alexander"),
    ("  Alex   Sarr ", "Alex Sarr"),
    ("Gary Payton II", "Gary Payton ii"),
])
def test_spellings_of_one_name_share_a_key(a, b):
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize("a, b", [
    ("Kenyon Martin Jr.", "Kenyon Martin"),   # son and father
    ("Gary Payton II", "Gary Payton"),
    ("Jimmy Butler III", "Jimmy Butler"),
    ("Nikola Jovic", "Nikola Jokic"),
    ("Tristan Vukcevic", "Nikola Vucevic"),
])
def test_different_names_or_generations_do_not_share_a_key(a, b):
    assert name_key(a) != name_key(b)


def test_suffix_is_split_from_the_base():
    assert name_key("Terrence Shannon Jr.") == NameKey("terrence shannon", "jr")
    assert name_key("Jimmy Butler III").base == name_key("Jimmy Butler").base == "jimmy butler"
    assert name_key("Lonnie Walker IV").suffix == "iv"


def test_a_suffix_word_alone_with_a_single_name_stays_the_name():
    assert name_key("Nene") == NameKey("nene")
    assert name_key("Jr Smith") == NameKey("jr smith")  # a leading "Jr" is a first name
    assert name_key("Smith Jr").suffix == ""             # two tokens: no name would remain beside it


def test_letters_without_a_decomposition_are_transliterated():
    assert fold_diacritics("Bjørn Łukasz Đorđević") == "Bjorn Lukasz Dordevic"


def test_a_middle_initial_stays_a_token():
    assert name_key("Michael J. Smith").base == "michael j smith"
