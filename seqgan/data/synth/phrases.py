"""Short everyday sentences in ten languages besides English, for the multilingual talkers.

Written for this corpus (plain statements about farms, towns and the weather; no quotation from any
text). English sentences come from the grammar in :mod:`seqgan.data.synth.sentences`; the other
languages join sentences from these lists until the word budget is used, so the spoken length
follows the target duration as in English.

Languages are grouped by family; :data:`HELD_OUT_FAMILY` (Slavic) is spoken in the test set only.
"""

from __future__ import annotations

import numpy as np

from seqgan.data.synth.sentences import make_sentence


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.strip().splitlines() if line.strip())


PHRASES: dict[str, tuple[str, ...]] = {
    "de": _lines("""
        Der alte Bauer trägt einen Korb zum Bahnhof.
        Heute Morgen regnet es im ganzen Tal.
        Die Lehrerin liest den Kindern eine Geschichte vor.
        Wir treffen uns nach dem Essen am Marktplatz.
        Das kleine Boot liegt ruhig im Hafen.
        Mein Bruder repariert das Fahrrad in der Küche.
        Im Garten blühen rote und gelbe Blumen.
        Der Zug kommt heute zehn Minuten später.
        Sie kauft frisches Brot in der Bäckerei.
        Am Abend wird es draußen schnell kalt.
        Der Hund schläft unter dem großen Tisch.
        Kannst du mir bitte das Fenster öffnen?
    """),
    "nl": _lines("""
        De oude boer brengt een mand naar het station.
        Vanochtend regent het in de hele stad.
        De kinderen spelen buiten in het park.
        Wij fietsen morgen samen naar het strand.
        Het kleine huis staat naast de molen.
        Mijn zus leest een boek bij het raam.
        De bakker opent zijn winkel heel vroeg.
        Er staan veel bloemen in de tuin.
        De trein vertrekt over vijf minuten.
        Kun je mij de weg naar de markt wijzen?
        Het water in de rivier is erg koud.
        Na het eten drinken we koffie.
    """),
    "sv": _lines("""
        Den gamla bonden bär en korg till stationen.
        I morse regnade det över hela dalen.
        Barnen leker i parken efter skolan.
        Vi äter middag hemma i kväll.
        Båten ligger stilla i hamnen.
        Min bror lagar cykeln i köket.
        Det finns många blommor i trädgården.
        Tåget kommer tio minuter för sent.
        Hon köper färskt bröd på bageriet.
        Kan du öppna fönstret, tack?
        Hunden sover under bordet.
        På vintern blir det mörkt tidigt.
    """),
    "fr": _lines("""
        Le vieux fermier porte un panier à la gare.
        Ce matin, il pleut sur toute la vallée.
        Les enfants jouent dans le parc après l'école.
        Nous dînons chez nos amis ce soir.
        Le petit bateau reste tranquille dans le port.
        Mon frère répare le vélo dans la cuisine.
        Il y a des fleurs rouges dans le jardin.
        Le train arrive avec dix minutes de retard.
        Elle achète du pain frais à la boulangerie.
        Pouvez-vous ouvrir la fenêtre, s'il vous plaît?
        Le chien dort sous la grande table.
        En hiver, la nuit tombe très tôt.
    """),
    "es": _lines("""
        El viejo granjero lleva una cesta a la estación.
        Esta mañana llueve en todo el valle.
        Los niños juegan en el parque después de clase.
        Cenamos en casa de nuestros amigos esta noche.
        El pequeño barco descansa en el puerto.
        Mi hermano arregla la bicicleta en la cocina.
        Hay flores amarillas en el jardín.
        El tren llega con diez minutos de retraso.
        Ella compra pan fresco en la panadería.
        ¿Puedes abrir la ventana, por favor?
        El perro duerme debajo de la mesa.
        En invierno anochece muy temprano.
    """),
    "it": _lines("""
        Il vecchio contadino porta un cesto alla stazione.
        Stamattina piove su tutta la valle.
        I bambini giocano nel parco dopo la scuola.
        Stasera ceniamo a casa dei nostri amici.
        La piccola barca riposa nel porto.
        Mio fratello ripara la bicicletta in cucina.
        Nel giardino ci sono fiori rossi e gialli.
        Il treno arriva con dieci minuti di ritardo.
        Lei compra il pane fresco dal fornaio.
        Puoi aprire la finestra, per favore?
        Il cane dorme sotto il tavolo grande.
        In inverno la sera arriva presto.
    """),
    "pt": _lines("""
        O velho agricultor leva um cesto para a estação.
        Esta manhã chove em todo o vale.
        As crianças brincam no parque depois da escola.
        Hoje jantamos em casa dos nossos amigos.
        O pequeno barco descansa no porto.
        O meu irmão conserta a bicicleta na cozinha.
        Há muitas flores no jardim.
        O comboio chega com dez minutos de atraso.
        Ela compra pão fresco na padaria.
        Podes abrir a janela, por favor?
        O cão dorme debaixo da mesa.
        No inverno a noite chega cedo.
    """),
    "ca": _lines("""
        El vell pagès porta una cistella a l'estació.
        Aquest matí plou a tota la vall.
        Els nens juguen al parc després de l'escola.
        Aquesta nit sopem a casa dels nostres amics.
        La petita barca descansa al port.
        El meu germà arregla la bicicleta a la cuina.
        Hi ha flors vermelles al jardí.
        El tren arriba amb deu minuts de retard.
        Ella compra pa fresc al forn.
        Pots obrir la finestra, si us plau?
        El gos dorm sota la taula.
        A l'hivern es fa fosc molt aviat.
    """),
    "pl": _lines("""
        Stary rolnik niesie koszyk na dworzec.
        Dziś rano pada deszcz w całej dolinie.
        Dzieci bawią się w parku po szkole.
        Wieczorem jemy kolację u przyjaciół.
        Mała łódka stoi spokojnie w porcie.
        Mój brat naprawia rower w kuchni.
        W ogrodzie rosną czerwone kwiaty.
        Pociąg przyjedzie dziesięć minut później.
        Ona kupuje świeży chleb w piekarni.
        Czy możesz otworzyć okno?
        Pies śpi pod dużym stołem.
        Zimą szybko robi się ciemno.
    """),
    "cs": _lines("""
        Starý sedlák nese košík na nádraží.
        Dnes ráno prší v celém údolí.
        Děti si hrají v parku po škole.
        Večer večeříme u našich přátel.
        Malá loďka klidně stojí v přístavu.
        Můj bratr opravuje kolo v kuchyni.
        Na zahradě kvetou žluté květiny.
        Vlak přijede o deset minut později.
        Ona kupuje čerstvý chléb v pekárně.
        Můžeš prosím otevřít okno?
        Pes spí pod velkým stolem.
        V zimě se brzy stmívá.
    """),
}

FAMILIES: dict[str, tuple[str, ...]] = {
    "germanic": ("en", "de", "nl", "sv"),
    "romance": ("fr", "es", "it", "pt", "ca"),
    "slavic": ("pl", "cs"),
}
HELD_OUT_FAMILY = "slavic"
TRAIN_LANGUAGES: tuple[str, ...] = tuple(
    lang for fam, langs in FAMILIES.items() if fam != HELD_OUT_FAMILY for lang in langs
)
TEST_ONLY_LANGUAGES: tuple[str, ...] = FAMILIES[HELD_OUT_FAMILY]
LANGUAGES: tuple[str, ...] = TRAIN_LANGUAGES + TEST_ONLY_LANGUAGES


def family_of(language: str) -> str:
    """The family (``germanic``, ``romance``, ``slavic``) of a language code."""
    for family, langs in FAMILIES.items():
        if language in langs:
            return family
    raise ValueError(f"unknown language '{language}'; choose from: {', '.join(LANGUAGES)}")


def make_text(language: str, rng: np.random.Generator, budget: int) -> str:
    """A sentence (English grammar) or a few joined sentences of about ``budget`` words.

    Args:
        language: a code of :data:`LANGUAGES`.
        rng: the source of randomness.
        budget: the most words wanted (when every sentence is longer, the shortest is returned).

    Returns:
        The text to speak.
    """
    if language == "en":
        return make_sentence(rng, budget)
    try:
        pool = PHRASES[language]
    except KeyError:
        raise ValueError(
            f"no sentences for language '{language}'; choose from: {', '.join(LANGUAGES)}"
        ) from None
    order = [int(i) for i in rng.permutation(len(pool))]
    parts, words = [], 0
    for i in order:
        n = len(pool[i].split())
        if words + n > budget:
            continue
        parts.append(pool[i])
        words += n
        if words >= budget - 2:
            break
    if not parts:  # the budget is shorter than every sentence: the shortest, drawn at random among ties
        parts = [min((pool[i] for i in order), key=lambda p: len(p.split()))]
    return " ".join(parts)
